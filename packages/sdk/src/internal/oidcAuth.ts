import {
  Clock,
  Duration,
  Effect,
  Option,
  Result,
  Schedule,
  type Scope,
  Semaphore,
  Stream,
  SubscriptionRef
} from "effect"
import { HttpClient } from "effect/http"
import type { Credentials, Service } from "../Auth.js"
import type { Options } from "../AuthOidc.js"
import { type AuthError, ConfigurationError } from "../StellaNowError.js"
import * as Backoff from "./backoff.js"
import * as OidcClient from "./oidcClient.js"
import * as OidcExchange from "./oidcExchange.js"
import * as OidcToken from "./oidcToken.js"
import * as Check from "./options.js"

/** The SDK's backoff (the sink reconnects on it too). */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = Backoff.schedule

/** The settings of one OIDC auth, checked. */
export interface Settings {
  readonly endpoint: OidcClient.Endpoint
  readonly timing: OidcToken.Timing
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
}

export const settings = (options: Options): Effect.Effect<Settings, ConfigurationError> =>
  Effect.gen(function*() {
    const { credentials, organizationId } = options
    if (organizationId === "") return yield* Check.invalid("OIDC needs the organization id: it is the Keycloak realm")
    if (credentials.username === "") return yield* Check.invalid("OIDC needs a username (OIDC_USERNAME)")
    if (credentials.clientId === "") return yield* Check.invalid("OIDC needs a client id (OIDC_CLIENT_ID)")
    const tokenUrl = options.tokenUrl ??
      (options.apiBaseUrl === undefined ? undefined : OidcClient.keycloakTokenUrl(options.apiBaseUrl, organizationId))
    if (tokenUrl === undefined) {
      return yield* Check.invalid(
        "OIDC needs the API base URL of the environment (this one has none) or a token endpoint (oidc.tokenUrl)"
      )
    }
    const parsed = yield* Effect.try({
      try: () => new URL(tokenUrl),
      catch: () => Check.invalid(`the OIDC token endpoint is not a URL: ${OidcClient.displayUrl(tokenUrl)}`)
    })
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      return yield* Check.invalid(`the OIDC token endpoint must be an http(s) URL, got ${parsed.protocol}`)
    }
    const refreshBeforeExpiry = yield* Check.duration(
      options.refreshBeforeExpiry,
      "60 seconds",
      "refreshBeforeExpiry"
    )
    const clockSkew = yield* Check.duration(options.clockSkew, "10 seconds", "clockSkew", { allowZero: true })
    const requestTimeout = yield* Check.duration(options.requestTimeout, "10 seconds", "requestTimeout")
    return {
      endpoint: { tokenUrl, realm: organizationId, credentials, requestTimeout },
      timing: { refreshBeforeExpiry: Duration.toMillis(refreshBeforeExpiry), clockSkew: Duration.toMillis(clockSkew) },
      retrySchedule: options.retrySchedule ?? defaultRetrySchedule
    }
  })

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

const makeTokenState = (renew: OidcExchange.Renew): Effect.Effect<TokenState> =>
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
        const renewed = yield* Effect.result(renew(entry?.token))
        if (Result.isFailure(renewed)) {
          const wait = OidcClient.retryAfterOf(renewed.failure)
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
const credentials = (
  tokens: TokenState,
  attributes: Record<string, string>
): Effect.Effect<Credentials, AuthError> =>
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
  }).pipe(Effect.withSpan("AuthOidc.credentials", { attributes }), Effect.annotateLogs({ module: "AuthOidc" }))

/** The service's `rejected`: the next `credentials` gets a new token (by refresh while it is accepted). */
const rejected = (tokens: TokenState) => (refused: Credentials): Effect.Effect<void> =>
  Effect.gen(function*() {
    const entry = yield* tokens.current
    if (entry === undefined || entry.rejected || entry.token.accessToken !== refused.username) return
    entry.rejected = true
    yield* Effect.logWarning("the broker refused the access token; the next attempt gets a new one")
  }).pipe(Effect.annotateLogs({ module: "AuthOidc" }))

/**
 * The refresh fiber: keeps the token in use fresh. At its refresh time it is renewed, retrying what is
 * transient until it expires. A token nobody took is not refreshed: the next `credentials` renews it.
 */
const keepFresh = (
  tokens: TokenState,
  retrySchedule: Schedule.Schedule<unknown, unknown>
): Effect.Effect<never> =>
  Effect.gen(function*() {
    let entry = yield* tokens.next(undefined)
    while (true) {
      const replaced = yield* untilRefreshTime(tokens, entry)
      if (replaced !== undefined) {
        entry = replaced
        continue
      }
      if (entry.used) {
        yield* renewInUse(tokens, entry, retrySchedule)
      } else {
        yield* Effect.logDebug("the access token is not in use; it is renewed when next needed")
      }
      entry = yield* tokens.next(entry)
    }
  }).pipe(Effect.annotateLogs({ module: "AuthOidc", role: "token-refresh" }))

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
const renewInUse = (
  tokens: TokenState,
  renewing: Entry,
  retrySchedule: Schedule.Schedule<unknown, unknown>
): Effect.Effect<void> => {
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
        : Effect.logError("the identity provider refused the credentials", error.message)
    ),
    Effect.retry({ schedule: retrySchedule, while: worthRetrying }),
    Effect.ignore
  )
}

/** The OIDC `Auth` service: the token state over the provider's exchanges, and its refresh fiber in the scope. */
export const make = (
  options: Options
): Effect.Effect<Service, ConfigurationError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const { endpoint, retrySchedule, timing } = yield* settings(options)
    const http = yield* HttpClient.HttpClient
    const tokens = yield* makeTokenState(OidcExchange.makeRenew(http, endpoint, timing))
    yield* Effect.forkScoped(Effect.interruptible(keepFresh(tokens, retrySchedule)))
    return {
      mode: "oidc",
      credentials: credentials(tokens, OidcExchange.spanAttributes(endpoint)),
      rejected: rejected(tokens)
    } satisfies Service
  })
