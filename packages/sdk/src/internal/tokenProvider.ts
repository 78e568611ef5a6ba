/**
 * An `Auth` over the app's own token provider: a function that returns an access token and its expiry
 * from the app's login (its backend, a PKCE flow). The SDK asks it for a token before the first
 * CONNECT, again ahead of the token's expiry, and again when the broker refused the token; the
 * token-in-hand logic (refresh fiber, retries, reconnect before expiry) is `tokenAuth.ts`'s.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { AccessToken, Service, TokenProvider, TokenProviderOptions, TokenRequest } from "../Auth.js"
import { AuthError, type ConfigurationError } from "../StellaNowError.js"
import * as Backoff from "./backoff.js"
import * as OidcToken from "./oidcToken.js"
import * as Check from "./options.js"
import * as TokenAuth from "./tokenAuth.js"

/** The settings of one token provider auth, checked. */
interface Settings {
  readonly timing: OidcToken.Timing
  readonly timeout: Duration.Duration
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
}

const settings = (
  provider: TokenProvider,
  options: TokenProviderOptions
): Effect.Effect<Settings, ConfigurationError> =>
  Effect.gen(function*() {
    if (typeof provider !== "function") {
      return yield* Check.invalid("the token provider must be a function returning { accessToken, expiresAt }")
    }
    const refreshBeforeExpiry = yield* Check.duration(options.refreshBeforeExpiry, "60 seconds", "refreshBeforeExpiry")
    const clockSkew = yield* Check.duration(options.clockSkew, "10 seconds", "clockSkew", { allowZero: true })
    const timeout = yield* Check.duration(options.timeout, "10 seconds", "timeout")
    return {
      timing: { refreshBeforeExpiry: Duration.toMillis(refreshBeforeExpiry), clockSkew: Duration.toMillis(clockSkew) },
      timeout,
      retrySchedule: options.retrySchedule ?? Backoff.schedule
    }
  })

const failed = (detail: string, cause?: unknown) =>
  new AuthError({ reason: "ProviderFailed", detail, ...(cause === undefined ? {} : { cause }) })

const invalid = (detail: string) =>
  new AuthError({ reason: "InvalidResponse", detail: `the token provider returned ${detail}` })

/** What the provider failed with: its own `AuthError` as it is (a `Refused` one stops the sink), else `ProviderFailed`. */
const asAuthError = (error: unknown): AuthError =>
  error instanceof AuthError
    ? error
    : failed(
      `the token provider failed: ${error instanceof Error ? error.message : String(error)}`,
      error
    )

/** Calls the provider, Promise or Effect; interrupting the call aborts its signal. */
const call = (provider: TokenProvider, reason: TokenRequest["reason"]): Effect.Effect<unknown, AuthError> =>
  Effect.suspend(() => {
    const controller = new AbortController()
    const result = Effect.try({
      try: () => provider({ reason, signal: controller.signal }),
      catch: asAuthError
    })
    return Effect.flatMap(result, (answer) =>
      Effect.isEffect(answer)
        // The app's code: what it throws or dies with is a failed provider too, not a crash of the SDK.
        ? answer.pipe(Effect.mapError(asAuthError), Effect.catchDefect((defect) => Effect.fail(asAuthError(defect))))
        : Effect.tryPromise({ try: () => Promise.resolve(answer), catch: asAuthError })).pipe(
        Effect.onInterrupt(() => Effect.sync(() => controller.abort()))
      )
  })

/** The provider's answer as a token at `now`, or why it is not one (never showing the token). */
const toToken = (
  answer: unknown,
  now: number,
  timing: OidcToken.Timing
): Effect.Effect<OidcToken.Token, AuthError> => {
  if (!Predicate.isObject(answer)) return Effect.fail(invalid("no { accessToken, expiresAt } object"))
  const { accessToken, expiresAt } = answer as Partial<Record<keyof AccessToken, unknown>>
  const token = Redacted.isRedacted(accessToken) ? Redacted.value(accessToken) : accessToken
  if (typeof token !== "string" || token === "") return Effect.fail(invalid("no accessToken (a non-empty string)"))
  const at = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt
  if (typeof at !== "number" || !Number.isFinite(at)) {
    return Effect.fail(invalid("no expiresAt (epoch milliseconds or a Date)"))
  }
  if (at <= now) {
    return Effect.fail(
      invalid(`a token that expired ${Math.round((now - at) / 1000)} s ago (expiresAt is in the past)`)
    )
  }
  return Effect.succeed(OidcToken.fromExpiry(Redacted.make(token), at, now, timing))
}

const reasonOf = (previous: OidcToken.Token | undefined, rejected: boolean): TokenRequest["reason"] =>
  previous === undefined ? "first" : rejected ? "rejected" : "refresh"

/** A new token from the provider, bounded by the timeout. */
const makeRenew = (provider: TokenProvider, { timeout, timing }: Settings): TokenAuth.Renew => (previous, rejected) =>
  Effect.gen(function*() {
    const answer = yield* call(provider, reasonOf(previous, rejected)).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail(failed(`the token provider did not answer within ${Duration.format(timeout)}`))
      })
    )
    const token = yield* toToken(answer, yield* Clock.currentTimeMillis, timing)
    if (previous !== undefined && Redacted.value(previous.accessToken) === Redacted.value(token.accessToken)) {
      // A provider that caches its token is asked again in half the time the token has left, so the
      // calls thin out rather than repeat; a refused token handed back is worth a warning.
      yield* rejected
        ? Effect.logWarning(
          "the token provider returned the token the broker refused; the next CONNECT will likely be refused too"
        )
        : Effect.logDebug("the token provider returned the token in hand again")
    }
    yield* Effect.logDebug(
      `got an access token from the token provider; it is used for ${
        Math.round((token.expiresAt - token.obtainedAt) / 100) / 10
      } s`
    )
    return token
  }).pipe(Effect.withSpan("TokenProvider.request"))

/** The token provider `Auth` service; its refresh fiber lives in the scope. */
export const make = (
  provider: TokenProvider,
  options: TokenProviderOptions = {}
): Effect.Effect<Service, ConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    const checked = yield* settings(provider, options)
    return yield* TokenAuth.make({
      mode: "token-provider",
      module: "TokenProvider",
      provider: "the token provider",
      span: "TokenProvider.credentials",
      attributes: {},
      renew: makeRenew(provider, checked),
      retrySchedule: checked.retrySchedule
    })
  })
