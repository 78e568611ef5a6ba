/**
 * When the MQTT sink reconnects, and when it gives up. The budgets — backoff reset after a stable
 * connection, `maxAuthFailures` refused CONNECTs in a row, `maxTakeovers` connections taken over right
 * after connecting, renewal before the credentials expire — are a pure state machine ({@link decide}),
 * tested without a clock or a broker; {@link run} drives it with `Effect.retry` over the reconnect
 * schedule, knowing nothing of MQTT: each try is a function the sink passes in.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { AuthError, ConnectionError } from "../StellaNowError.js"

/** The budgets of the policy. */
export interface Budgets {
  /** A connection that stays up this long resets the backoff and the takeover count. */
  readonly stableAfter: Duration.Duration
  /** Refused CONNECTs in a row before giving up. */
  readonly maxAuthFailures: number
  /** Connections in a row dropped right after connecting before giving up on a duplicate client id. */
  readonly maxTakeovers: number
}

/** What the policy counts between tries. */
export interface State {
  /** The current try, counting from 1 since the last good connection. */
  readonly attempt: number
  /** Refused CONNECTs since the last connection. */
  readonly authFailures: number
  /** Connections dropped soon after connecting, in a row. */
  readonly takeovers: number
}

/** The state of a fresh sink, or after a good connection. */
export const initialState: State = { attempt: 0, authFailures: 0, takeovers: 0 }

/** How one try ended: the event the policy decides on. */
export type Ending = Data.TaggedEnum<{
  /** The auth gave no credentials. */
  NoCredentials: { readonly error: AuthError }
  /** No connection: the broker was unreachable, did not answer in time, or refused the CONNECT. */
  ConnectFailed: { readonly error: ConnectionError }
  /**
   * A connection was up, and ended after `livedMillis`. `explained` when the broker or the socket said
   * why (a DISCONNECT or an error); mosquitto closes a taken-over connection without either.
   */
  Lost: { readonly error: ConnectionError; readonly livedMillis: number; readonly explained: boolean }
  /** A connection was retired to move to fresh credentials before these expired. */
  Renewed: {}
}>

/** Constructors and matchers of {@link Ending}. */
export const Ending = Data.taggedEnum<Ending>()

/** Why the policy gave up. */
export type GiveUpReason =
  /** The auth failed, or TLS with the broker did, in a way retrying cannot fix. */
  | "Fatal"
  /** `maxAuthFailures` refused CONNECTs in a row. */
  | "AuthFailures"
  /** `maxTakeovers` connections in a row dropped right after connecting: a duplicate client id. */
  | "Takeovers"
  /** The reconnect schedule ended. */
  | "ScheduleEnded"

/** What to do after a try. */
export type Decision = Data.TaggedEnum<{
  /** Try again after the reconnect schedule's next delay — its first one when `resetBackoff`. */
  Retry: { readonly error: ConnectionError | AuthError; readonly resetBackoff: boolean }
  /** Try again at once, the backoff from its start: the connection served until it was renewed. */
  Reconnect: {}
  /** Stop: `error` is the last one seen. */
  GiveUp: { readonly reason: GiveUpReason; readonly error: ConnectionError | AuthError }
}>

/** Constructors and matchers of {@link Decision}. */
export const Decision = Data.taggedEnum<Decision>()

/** A decision to retry. */
export type Retry = Data.TaggedEnum.Value<Decision, "Retry">

/** A decision to give up. */
export type GiveUp = Data.TaggedEnum.Value<Decision, "GiveUp">

/** The state as a new try starts. */
export const startAttempt = (state: State): State => ({ ...state, attempt: state.attempt + 1 })

/** The decision on how a try ended, and the state after it. */
export const decide = (budgets: Budgets, state: State, ending: Ending): readonly [Decision, State] => {
  switch (ending._tag) {
    case "NoCredentials":
      return ending.error.isTransient
        ? [Decision.Retry({ error: ending.error, resetBackoff: false }), state]
        : [Decision.GiveUp({ reason: "Fatal", error: ending.error }), state]
    case "ConnectFailed":
      return connectFailed(budgets, state, ending.error)
    case "Renewed":
      // The connection served until the SDK retired it: it counts as a good one.
      return [Decision.Reconnect(), initialState]
    case "Lost":
      return lost(budgets, state, ending)
  }
}

const connectFailed = (budgets: Budgets, state: State, error: ConnectionError): readonly [Decision, State] => {
  // A certificate that did not verify (unknown CA, wrong host name, expired) will not verify next time.
  if (error.reason === "Tls") return [Decision.GiveUp({ reason: "Fatal", error }), state]
  if (error.reason !== "Refused") {
    // A broker that cannot be reached is not one taking our session over: start counting afresh.
    return [Decision.Retry({ error, resetBackoff: false }), { ...state, takeovers: 0 }]
  }
  const next = { ...state, authFailures: state.authFailures + 1 }
  return next.authFailures >= budgets.maxAuthFailures
    ? [Decision.GiveUp({ reason: "AuthFailures", error }), next]
    : [Decision.Retry({ error, resetBackoff: false }), next]
}

const lost = (budgets: Budgets, state: State, ending: Data.TaggedEnum.Value<Ending, "Lost">) => {
  const stable = ending.livedMillis >= Duration.toMillis(budgets.stableAfter)
  // The CONNECT was accepted: refusals start counting afresh.
  const connected: State = stable ? initialState : { ...state, authFailures: 0 }
  // mosquitto closes a taken-over connection without a DISCONNECT, so a string of connections that the
  // broker drops soon after accepting them, without a reason code or an error, is treated as a
  // duplicate client id too.
  const takenOver = ending.error.reason === "DuplicateClientId" || (!stable && !ending.explained)
  if (!takenOver) return [Decision.Retry({ error: ending.error, resetBackoff: stable }), connected] as const
  const next = { ...connected, takeovers: connected.takeovers + 1 }
  return next.takeovers >= budgets.maxTakeovers
    ? [Decision.GiveUp({ reason: "Takeovers", error: ending.error }), next] as const
    : [Decision.Retry({ error: ending.error, resetBackoff: stable }), next] as const
}

/** The least time between two renewals, so credentials about to expire cannot make a tight loop. */
const minimumRenewalDelayMillis = 1000

/**
 * How long a connection serves before it is renewed: until `renewBeforeExpiry` before the credentials
 * expire, at most a fifth of their remaining lifetime, and at least a second.
 */
export const renewalDelayMillis = (expiresAt: number, now: number, renewBeforeExpiry: Duration.Duration): number => {
  const remaining = expiresAt - now
  const margin = Math.min(Duration.toMillis(renewBeforeExpiry), remaining / 5)
  return Math.max(minimumRenewalDelayMillis, remaining - margin)
}

/** Completes when credentials expiring at `expiresAt` are due for renewal; never if they do not expire. */
export const awaitRenewal = (
  expiresAt: number | undefined,
  renewBeforeExpiry: Duration.Duration
): Effect.Effect<"renew"> =>
  expiresAt === undefined ? Effect.never : Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => Effect.sleep(Duration.millis(renewalDelayMillis(expiresAt, now, renewBeforeExpiry)))),
    Effect.as("renew" as const)
  )

/**
 * The reconnect schedule as the retries' policy: stepped with each decision's error, started afresh
 * when a decision resets the backoff, ended by a decision to give up. (Effect 4's `Schedule` has no
 * `resetAfter`; Effect 3's measured the time since the schedule started, where the policy needs how long
 * the last connection stayed up.)
 */
export const backoff = (
  schedule: Schedule.Schedule<unknown, ConnectionError | AuthError>
): Schedule.Schedule<unknown, Retry | GiveUp> =>
  Schedule.fromStep(Effect.map(Schedule.toStep(schedule), (first) => {
    let step = first
    return (now: number, decision: Retry | GiveUp) => {
      if (decision._tag === "GiveUp") return Cause.done()
      if (!decision.resetBackoff) return step(now, decision.error)
      return Effect.flatMap(Schedule.toStep(schedule), (fresh) => {
        step = fresh
        return fresh(now, decision.error)
      })
    }
  }))

/** What {@link run} needs from the sink. */
export interface Options<R> {
  readonly budgets: Budgets
  readonly schedule: Schedule.Schedule<unknown, ConnectionError | AuthError>
  /** One try, from the credentials to the end of its connection, told its number. */
  readonly attempt: (attempt: number) => Effect.Effect<Ending, never, R>
  /** Reports the error a retry follows (state, metrics), before the wait. */
  readonly retrying: (error: ConnectionError | AuthError) => Effect.Effect<void>
}

/**
 * Tries, and tries again as the policy decides, until the policy gives up (the failure) or the fiber is
 * interrupted. A renewal starts the retries afresh, with the backoff from its start.
 */
export const run = <R>(options: Options<R>): Effect.Effect<never, GiveUp, R> =>
  Effect.suspend(() => {
    // The machine's current state: read and written by one try at a time.
    let state = initialState
    const tryOnce: Effect.Effect<void, Retry | GiveUp, R> = Effect.gen(function*() {
      state = startAttempt(state)
      const ending = yield* options.attempt(state.attempt)
      const [decision, next] = decide(options.budgets, state, ending)
      state = next
      yield* logDecision(options.budgets, ending, decision, state)
      if (decision._tag === "Reconnect") return
      if (decision._tag === "Retry") yield* options.retrying(decision.error)
      return yield* Effect.fail(decision)
    })
    // A try fails with the decision to retry or to give up, which steps the backoff; a renewal ends
    // the retries instead, and `forever` starts them again, their backoff from its start.
    return tryOnce.pipe(
      Effect.retry(backoff(options.schedule)),
      Effect.catch((last) =>
        Effect.fail(last._tag === "GiveUp" ? last : Decision.GiveUp({ reason: "ScheduleEnded", error: last.error }))
      ),
      Effect.forever
    )
  })

/** The policy's logs: refusals and transient auth failures at warning, lost connections at info. */
const logDecision = (budgets: Budgets, ending: Ending, decision: Decision, state: State): Effect.Effect<void> => {
  if (ending._tag === "ConnectFailed" && ending.error.reason === "Refused") {
    return Effect.logWarning(
      `connection refused (${state.authFailures}/${budgets.maxAuthFailures})`,
      ending.error.message
    )
  }
  if (decision._tag !== "Retry") return Effect.void
  switch (ending._tag) {
    case "NoCredentials":
      return Effect.logWarning("could not get credentials; will retry", ending.error.message)
    case "ConnectFailed":
      return Effect.logDebug("connection attempt failed", ending.error.message)
    case "Lost":
      return Effect.logInfo("connection lost; reconnecting", ending.error.message)
    case "Renewed":
      return Effect.void
  }
}
