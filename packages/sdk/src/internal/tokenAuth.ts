/**
 * An `Auth` over access tokens that expire, whatever renews them (the OIDC exchanges, or an app's own
 * token provider): the token in hand, handed out while fresh and renewed when not (one renewal at a
 * time), dropped when a broker refused it, and kept fresh by a fiber in the scope ahead of its expiry,
 * retrying what is transient. The token goes into CONNECT as the username (WIRE.md §5), with its
 * expiry, so the sink renews its connection before the token expires.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { Credentials, Service } from "../Auth.js"
import type { AuthError } from "../StellaNowError.js"
import * as OidcToken from "./oidcToken.js"

/**
 * A new token. `previous` is the token in hand, if any; `rejected` says a broker refused it (so a
 * cached copy of it will not do).
 */
export type Renew = (
  previous: OidcToken.Token | undefined,
  rejected: boolean
) => Effect.Effect<OidcToken.Token, AuthError>

/** How an auth over tokens renews them, and how it names itself in logs and spans. */
export interface Source {
  /** The auth mode, for logs (`oidc`, `token-provider`). */
  readonly mode: string
  /** The module named in logs (`AuthOidc`, `TokenProvider`). */
  readonly module: string
  /** Who hands out tokens, in log lines ("the identity provider"). */
  readonly provider: string
  /** The span of each `credentials` call, and its attributes (never a secret). */
  readonly span: string
  readonly attributes: Record<string, string>
  readonly renew: Renew
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
  /** How long the provider asked to wait after this error (its `Retry-After`), if it did. */
  readonly retryAfterOf?: ((error: AuthError) => number | undefined) | undefined
}

/**
 * The token in hand, whether it was handed out (a token nobody uses is not refreshed), and whether a
 * broker refused it (then it is not handed out again).
 */
interface Entry {
  readonly token: OidcToken.Token
  used: boolean
  rejected: boolean
}

const toCredentials = (entry: Entry): Credentials => {
  entry.used = true
  return { username: entry.token.accessToken, expiresAt: entry.token.expiresAt }
}

/**
 * The token in hand, shared by `credentials`, `rejected` and the refresh fiber. Its entries are
 * replaced, never reused: the refresh fiber tells a new token from the one it waits on by identity.
 */
interface TokenState {
  /** The token in hand, if any. */
  readonly current: Effect.Effect<Entry | undefined>
  /** The token in hand if it is fresh and no broker refused it, else a new one. One renewal at a time. */
  readonly ensureFresh: Effect.Effect<Entry, AuthError>
  /** The next token in hand that is not `after` (waits for one). */
  readonly next: (after: Entry | undefined) => Effect.Effect<Entry>
  /** Waits until the provider's last `Retry-After` has passed (at once if none is pending). */
  readonly untilAllowed: Effect.Effect<void>
}

const makeTokenState = (source: Source): Effect.Effect<TokenState> =>
  Effect.gen(function*() {
    const state = yield* SubscriptionRef.make<Entry | undefined>(undefined)
    const lock = yield* Semaphore.make(1)
    // The provider's last `Retry-After` (429/503): until it passes, renewals fail with that answer
    // without asking again, whoever asks (the refresh fiber, or the sink's connection attempts).
    let refusedUntil: { readonly at: number; readonly error: AuthError } | undefined
    const ensureFresh = lock.withPermits(1)(
      Effect.gen(function*() {
        const entry = yield* SubscriptionRef.get(state)
        const now = yield* Clock.currentTimeMillis
        if (entry !== undefined && !entry.rejected && OidcToken.isFresh(entry.token, now)) return entry
        if (refusedUntil !== undefined && now < refusedUntil.at) return yield* refusedUntil.error
        const renewed = yield* Effect.result(source.renew(entry?.token, entry?.rejected ?? false))
        if (Result.isFailure(renewed)) {
          const wait = source.retryAfterOf?.(renewed.failure)
          if (wait !== undefined) refusedUntil = { at: (yield* Clock.currentTimeMillis) + wait, error: renewed.failure }
          return yield* renewed.failure
        }
        const next: Entry = { token: renewed.success, used: false, rejected: false }
        yield* SubscriptionRef.set(state, next)
        return next
      })
    )
    const untilAllowed = Effect.suspend(() =>
      refusedUntil === undefined
        ? Effect.void
        : Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => now < refusedUntil!.at ? Effect.sleep(Duration.millis(refusedUntil!.at - now)) : Effect.void
        )
    )
    const next = (after: Entry | undefined): Effect.Effect<Entry> =>
      SubscriptionRef.changes(state).pipe(
        Stream.filter((entry): entry is Entry => entry !== undefined && entry !== after),
        Stream.runHead,
        Effect.flatMap(Option.match({ onNone: () => Effect.never, onSome: Effect.succeed }))
      )
    return { current: SubscriptionRef.get(state), ensureFresh, next, untilAllowed }
  })

/**
 * The service's `credentials`: a fresh token, or, while the provider cannot be reached, the token in
 * hand until it expires.
 */
const credentials = (tokens: TokenState, source: Source): Effect.Effect<Credentials, AuthError> =>
  Effect.gen(function*() {
    const fresh = yield* Effect.result(tokens.ensureFresh)
    if (Result.isSuccess(fresh)) return toCredentials(fresh.success)
    const error = fresh.failure
    const entry = yield* tokens.current
    const now = yield* Clock.currentTimeMillis
    if (error.isTransient && entry !== undefined && !entry.rejected && OidcToken.isUsable(entry.token, now)) {
      // The provider is unavailable, but the token in hand still has a while to go: the broker
      // connection is renewed before it expires, and by then the provider may be back.
      yield* Effect.logWarning("cannot renew the access token; using the current one until it expires", error.message)
      return toCredentials(entry)
    }
    return yield* error
  }).pipe(
    Effect.withSpan(source.span, { attributes: source.attributes }),
    Effect.annotateLogs({ module: source.module })
  )

/** The service's `rejected`: the next `credentials` gets a new token (by refresh while it is accepted). */
const rejected = (tokens: TokenState, source: Source) => (refused: Credentials): Effect.Effect<void> =>
  Effect.gen(function*() {
    const entry = yield* tokens.current
    if (entry === undefined || entry.rejected || entry.token.accessToken !== refused.username) return
    entry.rejected = true
    yield* Effect.logWarning("the broker refused the access token; the next attempt gets a new one")
  }).pipe(Effect.annotateLogs({ module: source.module }))

/**
 * The refresh fiber: keeps the token in use fresh. At its refresh time it is renewed, retrying what is
 * transient until it expires. A token nobody took is not refreshed: the next `credentials` renews it.
 */
const keepFresh = (tokens: TokenState, source: Source): Effect.Effect<never> =>
  Effect.gen(function*() {
    let entry = yield* tokens.next(undefined)
    while (true) {
      const replaced = yield* untilRefreshTime(tokens, entry)
      if (replaced !== undefined) {
        entry = replaced
        continue
      }
      if (entry.used) {
        yield* renewInUse(tokens, entry, source)
      } else {
        yield* Effect.logDebug("the access token is not in use; it is renewed when next needed")
      }
      entry = yield* tokens.next(entry)
    }
  }).pipe(Effect.annotateLogs({ module: source.module, role: "token-refresh" }))

/** Waits for the entry's refresh time: `undefined` then, or the entry that replaced it before. */
const untilRefreshTime = (tokens: TokenState, entry: Entry): Effect.Effect<Entry | undefined> =>
  Effect.gen(function*() {
    const wait = entry.token.refreshAt - (yield* Clock.currentTimeMillis)
    return yield* Effect.raceFirst(
      Effect.as(Effect.sleep(Duration.millis(Math.max(0, wait))), undefined),
      tokens.next(entry)
    )
  })

/** Renews a token in use, retrying while the failure is transient and the token has not expired. */
const renewInUse = (tokens: TokenState, renewing: Entry, source: Source): Effect.Effect<void> => {
  const worthRetrying = (error: AuthError) =>
    Effect.map(
      Clock.currentTimeMillis,
      (now) => error.isTransient && now < renewing.token.expiresAt
    )
  // The usual backoff, but never before the provider's `Retry-After` has passed.
  return Effect.andThen(tokens.untilAllowed, tokens.ensureFresh).pipe(
    Effect.tapError((error) =>
      error.isTransient
        ? Effect.logWarning("could not renew the access token; retrying", error.message)
        : Effect.logError(`${source.provider} refused the credentials`, error.message)
    ),
    Effect.retry({ schedule: source.retrySchedule, while: worthRetrying }),
    Effect.ignore
  )
}

/** The `Auth` service over the source's tokens; its refresh fiber lives in the scope. */
export const make = (source: Source): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const tokens = yield* makeTokenState(source)
    yield* Effect.forkScoped(Effect.interruptible(keepFresh(tokens, source)))
    return {
      mode: source.mode,
      credentials: credentials(tokens, source),
      rejected: rejected(tokens, source)
    } satisfies Service
  })
