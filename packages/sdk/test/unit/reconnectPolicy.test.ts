/**
 * The reconnect policy alone: its state machine as pure functions, and its Effect wiring driven by
 * `TestClock` against a fake connection — each try a scripted outcome that takes the time it is told
 * to. No broker, no sleeping.
 */
import { assert, describe, it } from "@effect/vitest"
import { AuthError, ConnectionError, Sink } from "@stellanow/sdk"
import { Clock, Duration, Effect, Exit, Fiber, Option, Schedule } from "effect"
import { TestClock } from "effect/testing"
import * as Policy from "../../src/internal/reconnectPolicy.js"

const { Decision, Ending } = Policy

const budgets: Policy.Budgets = { stableAfter: Duration.seconds(10), maxAuthFailures: 3, maxTakeovers: 3 }

const unreachable = new ConnectionError({ reason: "Unreachable", detail: "no route" })
const refused = new ConnectionError({ reason: "Refused", detail: "bad password" })
const closed = new ConnectionError({ reason: "Closed", detail: "closed" })
const takenOver = new ConnectionError({ reason: "DuplicateClientId", detail: "taken over" })
const authDown = new AuthError({ reason: "Unreachable", detail: "token endpoint down" })
const authRefused = new AuthError({ reason: "Refused", detail: "invalid_client" })

/** A connection that was up for `livedMillis` and ended with `error`. */
const lost = (error: ConnectionError, livedMillis: number, explained = true) =>
  Ending.Lost({ error, livedMillis, explained })

/** The decisions and states after each ending in turn, from the initial state. */
const replay = (endings: ReadonlyArray<Policy.Ending>, from: Policy.State = Policy.initialState) => {
  let state = from
  return endings.map((ending) => {
    const [decision, next] = Policy.decide(budgets, Policy.startAttempt(state), ending)
    state = next
    return [decision, next] as const
  })
}

const tags = (steps: ReturnType<typeof replay>) =>
  steps.map(([d]) =>
    d._tag === "GiveUp" ? `GiveUp:${d.reason}` : d._tag === "Retry" && d.resetBackoff ? "Retry:reset" : d._tag
  )

describe("the reconnect policy's state machine", () => {
  it("retries what is transient and gives up on what is not", () => {
    assert.deepStrictEqual(tags(replay([Ending.NoCredentials({ error: authDown })])), ["Retry"])
    assert.deepStrictEqual(tags(replay([Ending.NoCredentials({ error: authRefused })])), ["GiveUp:Fatal"])
    assert.deepStrictEqual(tags(replay([Ending.ConnectFailed({ error: unreachable })])), ["Retry"])
    // A broker certificate that did not verify will not verify on the next try.
    const tls = new ConnectionError({ reason: "Tls", detail: "CERT_HAS_EXPIRED: certificate has expired" })
    assert.deepStrictEqual(tags(replay([Ending.ConnectFailed({ error: tls })])), ["GiveUp:Fatal"])
  })

  it("gives up after maxAuthFailures refused CONNECTs in a row; a connection in between starts the count afresh", () => {
    const refusal = Ending.ConnectFailed({ error: refused })
    const inARow = replay([refusal, refusal, refusal])
    assert.deepStrictEqual(tags(inARow), ["Retry", "Retry", "GiveUp:AuthFailures"])
    assert.deepStrictEqual(inARow.map(([, s]) => s.authFailures), [1, 2, 3])
    const giveUp = inARow[2]![0]
    assert.strictEqual(giveUp._tag === "GiveUp" && giveUp.error, refused)

    const interrupted = replay([refusal, refusal, lost(closed, 500), refusal, refusal])
    assert.deepStrictEqual(tags(interrupted), ["Retry", "Retry", "Retry", "Retry", "Retry"])
    // Unreachable brokers and missing credentials neither count nor clear refusals.
    const mixed = replay([
      refusal,
      Ending.ConnectFailed({ error: unreachable }),
      Ending.NoCredentials({ error: authDown })
    ])
    assert.deepStrictEqual(mixed.map(([, s]) => s.authFailures), [1, 1, 1])
  })

  it("counts connections dropped right after connecting, unexplained or taken over, up to maxTakeovers", () => {
    const unexplained = lost(closed, 200, false)
    assert.deepStrictEqual(tags(replay([unexplained, unexplained, unexplained])), [
      "Retry",
      "Retry",
      "GiveUp:Takeovers"
    ])
    assert.deepStrictEqual(
      tags(replay([lost(takenOver, 200), lost(takenOver, 60_000), lost(takenOver, 200), lost(takenOver, 200)])),
      // The long-lived one is stable: it resets the count (then counts itself) and the backoff.
      ["Retry", "Retry:reset", "Retry", "GiveUp:Takeovers"]
    )
    // A connection the broker closed with a reason is no takeover, nor is a stable one closed without.
    assert.deepStrictEqual(replay([lost(closed, 200), lost(closed, 60_000, false)]).map(([, s]) => s.takeovers), [0, 0])
    // An unreachable broker is not one taking the session over: the count starts afresh.
    const afterUnreachable = replay([
      unexplained,
      unexplained,
      Ending.ConnectFailed({ error: unreachable }),
      unexplained
    ])
    assert.deepStrictEqual(afterUnreachable.map(([, s]) => s.takeovers), [1, 2, 0, 1])
  })

  it("a stable connection resets the backoff and the attempt count; a short one does not", () => {
    const [[decision, state]] = replay([lost(closed, 10_000)], { attempt: 4, authFailures: 0, takeovers: 2 })
    assert.deepStrictEqual(decision, Decision.Retry({ error: closed, resetBackoff: true }))
    assert.deepStrictEqual(state, Policy.initialState)
    const [[short, after]] = replay([lost(closed, 9_999)], { attempt: 4, authFailures: 0, takeovers: 2 })
    assert.deepStrictEqual(short, Decision.Retry({ error: closed, resetBackoff: false }))
    assert.deepStrictEqual(after, { attempt: 5, authFailures: 0, takeovers: 2 })
  })

  it("a renewal reconnects at once, from a fresh state", () => {
    const [[decision, state]] = replay([Ending.Renewed()], { attempt: 2, authFailures: 0, takeovers: 2 })
    assert.deepStrictEqual(decision, Decision.Reconnect())
    assert.deepStrictEqual(state, Policy.initialState)
  })

  it("renews renewBeforeExpiry before expiry, at most a fifth of the lifetime left early, and never within a second", () => {
    const before = Duration.seconds(30)
    assert.strictEqual(Policy.renewalDelayMillis(600_000, 0, before), 570_000)
    assert.strictEqual(Policy.renewalDelayMillis(60_000, 0, before), 48_000)
    assert.strictEqual(Policy.renewalDelayMillis(2_000, 0, before), 1_600)
    assert.strictEqual(Policy.renewalDelayMillis(500, 0, before), 1_000)
    assert.strictEqual(Policy.renewalDelayMillis(-5_000, 0, before), 1_000)
  })
})

/** The delays the backoff schedule gives for these decisions, stepped by hand. */
const delaysOf = (
  schedule: Schedule.Schedule<unknown, ConnectionError | AuthError>,
  decisions: ReadonlyArray<Policy.Retry | Policy.GiveUp>
) =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(Policy.backoff(schedule))
    const delays: Array<number | "done"> = []
    for (const decision of decisions) {
      const exit = yield* Effect.exit(step(0, decision))
      delays.push(Exit.isSuccess(exit) ? Duration.toMillis(exit.value[1]) : "done")
    }
    return delays
  })

const retry = (resetBackoff = false) => Decision.Retry({ error: unreachable, resetBackoff }) as Policy.Retry

describe("the reconnect policy's backoff", () => {
  it.effect("follows the schedule, starts it afresh on a reset, and ends on a give-up", () =>
    Effect.gen(function*() {
      const delays = yield* delaysOf(Schedule.exponential("100 millis", 2), [
        retry(),
        retry(),
        retry(),
        retry(true),
        retry(),
        Decision.GiveUp({ reason: "Takeovers", error: takenOver }) as Policy.GiveUp
      ])
      assert.deepStrictEqual(delays, [100, 200, 400, 100, 200, "done"])
    }))

  it.effect("the default schedule: exponential from 500 ms by 1.5, capped at 30 s, each delay jittered by ±20%", () =>
    Effect.gen(function*() {
      const delays = yield* delaysOf(Sink.defaultReconnectSchedule, Array.from({ length: 30 }, () => retry()))
      const nominal = (n: number) => Math.min(500 * 1.5 ** n, 30_000)
      delays.forEach((delay, n) => {
        assert.isAtLeast(delay as number, nominal(n) * 0.8, `delay ${n}`)
        assert.isAtMost(delay as number, nominal(n) * 1.2, `delay ${n}`)
      })
      // Jittered indeed: clients that lost the broker together do not come back in step.
      assert.isTrue(delays.some((delay, n) => delay !== nominal(n)))
    }))
})

/** A fake connection: each try takes `millis` of the clock, then ends as told. */
interface Try {
  readonly millis: number
  readonly ending: Policy.Ending
}

const after = (millis: number, ending: Policy.Ending): Try => ({ millis, ending })
const failsAtOnce = (error: ConnectionError): Try => after(0, Ending.ConnectFailed({ error }))

/** Runs the policy over the scripted tries (then tries that never end), recording each try's start. */
const runScripted = (
  script: ReadonlyArray<Try>,
  options: { readonly budgets?: Policy.Budgets; readonly schedule?: Policy.Options<never>["schedule"] } = {}
) =>
  Effect.gen(function*() {
    const starts: Array<{ readonly at: number; readonly attempt: number }> = []
    const retried: Array<string> = []
    let next = 0
    const fiber = yield* Effect.forkChild(Policy.run({
      budgets: options.budgets ?? budgets,
      schedule: options.schedule ?? Schedule.exponential("100 millis", 2),
      attempt: (attempt) =>
        Effect.gen(function*() {
          starts.push({ at: yield* Clock.currentTimeMillis, attempt })
          const step = script[next++]
          if (step === undefined) return yield* Effect.never
          yield* Effect.sleep(Duration.millis(step.millis))
          return step.ending
        }),
      retrying: (error) => Effect.sync(() => void retried.push(error.reason))
    }))
    return { fiber, starts, retried }
  })

/** The give-up the run ended with, if it ended. */
const outcome = (fiber: Fiber.Fiber<never, Policy.GiveUp>) =>
  Effect.map(
    Effect.exit(Fiber.join(fiber).pipe(Effect.timeoutOption(0))),
    (exit) => Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
  )

describe("the reconnect policy, run against a fake connection with TestClock", () => {
  it.effect("waits the schedule's delays between failed tries", () =>
    Effect.gen(function*() {
      const { retried, starts } = yield* runScripted(Array.from({ length: 4 }, () => failsAtOnce(unreachable)))
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(starts.map((s) => s.at), [0, 100, 300, 700, 1500])
      assert.deepStrictEqual(starts.map((s) => s.attempt), [1, 2, 3, 4, 5])
      assert.deepStrictEqual(retried, ["Unreachable", "Unreachable", "Unreachable", "Unreachable"])
    }))

  it.effect("keeps the default schedule's jittered delays within their bounds", () =>
    Effect.gen(function*() {
      const tries = 12
      const { starts } = yield* runScripted(Array.from({ length: tries }, () => failsAtOnce(unreachable)), {
        schedule: Sink.defaultReconnectSchedule
      })
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(starts.length, tries + 1)
      for (let n = 1; n < starts.length; n++) {
        const nominal = Math.min(500 * 1.5 ** (n - 1), 30_000)
        const waited = starts[n]!.at - starts[n - 1]!.at
        assert.isAtLeast(waited, nominal * 0.8)
        assert.isAtMost(waited, nominal * 1.2)
      }
    }))

  it.effect("starts the backoff afresh after a connection that stayed up stableAfter, not after a shorter one", () =>
    Effect.gen(function*() {
      const { starts } = yield* runScripted([
        failsAtOnce(unreachable), // waits 100
        failsAtOnce(unreachable), // waits 200
        after(10_000, lost(closed, 10_000)), // stable: waits 100 again
        failsAtOnce(unreachable), // waits 200
        after(9_000, lost(closed, 9_000)), // not stable: waits 400
        failsAtOnce(unreachable) // waits 800
      ])
      yield* TestClock.adjust("1 minute")
      const gaps = starts.slice(1).map((s, n) => s.at - starts[n]!.at)
      assert.deepStrictEqual(gaps, [100, 200, 10_100, 200, 9_400, 800])
      assert.deepStrictEqual(starts.map((s) => s.attempt), [1, 2, 3, 1, 2, 3, 4])
    }))

  it.effect("gives up after maxAuthFailures refused CONNECTs in a row", () =>
    Effect.gen(function*() {
      const { fiber, retried, starts } = yield* runScripted(Array.from({ length: 5 }, () => failsAtOnce(refused)))
      yield* TestClock.adjust("299 millis")
      assert.isUndefined(yield* outcome(fiber))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* outcome(fiber), Decision.GiveUp({ reason: "AuthFailures", error: refused }))
      assert.strictEqual(starts.length, 3)
      assert.deepStrictEqual(retried, ["Refused", "Refused"])
    }))

  it.effect("gives up after maxTakeovers connections dropped right after connecting", () =>
    Effect.gen(function*() {
      const dropped = after(1_000, lost(closed, 1_000, false))
      const { fiber, starts } = yield* runScripted([dropped, dropped, dropped, dropped])
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* outcome(fiber), Decision.GiveUp({ reason: "Takeovers", error: closed }))
      assert.deepStrictEqual(starts.map((s) => s.at), [0, 1_100, 2_300])
    }))

  it.effect("reconnects at once after a renewal, with the backoff and the attempt count from their start", () =>
    Effect.gen(function*() {
      const { retried, starts } = yield* runScripted([
        failsAtOnce(unreachable), // waits 100
        failsAtOnce(unreachable), // waits 200
        after(60_000, Ending.Renewed()), // at once
        failsAtOnce(unreachable) // waits 100
      ])
      yield* TestClock.adjust("2 minutes")
      assert.deepStrictEqual(starts.map((s) => s.at), [0, 100, 300, 60_300, 60_400])
      assert.deepStrictEqual(starts.map((s) => s.attempt), [1, 2, 3, 1, 2])
      // A renewal is no reconnect to report.
      assert.deepStrictEqual(retried, ["Unreachable", "Unreachable", "Unreachable"])
    }))

  it.effect("gives up when the schedule ends, having reported the last error; at once on a fatal auth error", () =>
    Effect.gen(function*() {
      const ends = yield* runScripted(Array.from({ length: 5 }, () => failsAtOnce(unreachable)), {
        schedule: Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 2 }))
      })
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(
        yield* outcome(ends.fiber),
        Decision.GiveUp({ reason: "ScheduleEnded", error: unreachable })
      )
      assert.deepStrictEqual(ends.starts.map((s) => s.at), [0, 1_000, 2_000])
      assert.deepStrictEqual(ends.retried, ["Unreachable", "Unreachable", "Unreachable"])

      const fatal = yield* runScripted([after(0, Ending.NoCredentials({ error: authRefused }))])
      yield* TestClock.adjust("0 millis")
      assert.deepStrictEqual(yield* outcome(fatal.fiber), Decision.GiveUp({ reason: "Fatal", error: authRefused }))
      assert.deepStrictEqual(fatal.retried, [])
    }))

  it.effect("awaits a renewal until renewBeforeExpiry before the credentials expire", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Policy.awaitRenewal(60_000, Duration.seconds(30)))
      yield* TestClock.adjust("47999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(fiber.pollUnsafe(), Exit.succeed("renew"))
    }))
})
