/**
 * Tokens of the OIDC token endpoint and the timing rules around them: when a token stops being
 * used, when it is refreshed, whether its refresh token can still be used. Pure functions of the
 * token response, the time the request was sent and the settings, so they are tested without a
 * clock.
 */
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/** A number of seconds, as a JSON number or (some providers) a string. */
const Seconds = Schema.Union([Schema.Number, Schema.NumberFromString]).pipe(
  Schema.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0))
)

/**
 * The token endpoint's answer (RFC 6749 §5.1, with Keycloak's `refresh_expires_in`). Only what the SDK
 * uses is decoded; the tokens become `Redacted` as they are decoded.
 */
export const TokenResponse = Schema.Struct({
  access_token: Schema.RedactedFromValue(Schema.NonEmptyString),
  expires_in: Schema.optional(Seconds),
  refresh_token: Schema.optional(Schema.RedactedFromValue(Schema.NonEmptyString)),
  refresh_expires_in: Schema.optional(Seconds),
  token_type: Schema.optional(Schema.String)
})

export type TokenResponse = typeof TokenResponse.Type

/** An OAuth error answer (`{"error": "invalid_grant", "error_description": "…"}`). */
export const ErrorResponse = Schema.Struct({
  error: Schema.String,
  error_description: Schema.optional(Schema.String)
})

/** Timing settings, in milliseconds. */
export interface Timing {
  /** Refresh this long before the token stops being used (at most half its usable lifetime). */
  readonly refreshBeforeExpiry: number
  /** Clocks of the identity provider, the broker and this machine may disagree by this much. */
  readonly clockSkew: number
}

/** Access token lifetime assumed when the provider announces none and the token is not a readable JWT. */
export const fallbackLifetimeMillis = 60_000

/** JWT `exp` is in whole seconds (Keycloak floors `iat` and adds the lifespan): up to 1 s is lost. */
const granularity = 1_000

/**
 * Announced lifetimes are clamped to [1 s, 24 h]: a provider's absurd `expires_in` (1e300 would mean
 * "never refresh") or a sub-second one (a refresh storm) must not govern the refresh timing. The
 * minimum is not higher: raising a short lifetime would hand out tokens the broker already sees
 * expired (JWT `exp` has whole seconds, so 1 s is the shortest real lifetime).
 */
export const minLifetimeMillis = 1_000
export const maxLifetimeMillis = 24 * 3_600_000

const clampLifetime = (millis: number): number => Math.min(maxLifetimeMillis, Math.max(minLifetimeMillis, millis))

/** A token in hand, with the times (epoch milliseconds, by the SDK's clock) that govern its use. */
export interface Token {
  readonly accessToken: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string> | undefined
  /** When the request that got it was sent: the token cannot have been issued before. */
  readonly obtainedAt: number
  /** The lifetime the provider announced (`expires_in`), in milliseconds, clamped to [1 s, 24 h]. */
  readonly lifetime: number
  /**
   * When the token stops being used: the announced expiry, less what whole-second rounding and clock
   * skew can take off it. The broker connection is renewed before this.
   */
  readonly expiresAt: number
  /** When a fresh token is fetched, ahead of `expiresAt`. */
  readonly refreshAt: number
  /** When the refresh token stops being usable, if it has a known expiry. */
  readonly refreshExpiresAt: number | undefined
}

/** What a lifetime announced in seconds leaves to use: less rounding and skew, never less than half. */
export const usableMillis = (announced: number, clockSkew: number): number =>
  Math.max(announced / 2, announced - granularity - Math.min(clockSkew, announced / 10))

/**
 * The UTF-8 text of a base64url string (RFC 4648 §5, unpadded as JWTs are), with what every runtime
 * has: `atob` and `TextDecoder`, not Node's `Buffer`. Throws when it is not base64url.
 */
export const decodeBase64Url = (text: string): string => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/")
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4))
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0))
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes)
}

/** `exp - iat` of a JWT, read without verifying it (only as a lifetime when `expires_in` is missing). */
const jwtLifetimeMillis = (token: string): Option.Option<number> =>
  Option.liftThrowable(() => {
    const part = token.split(".")[1]
    if (part === undefined) return undefined
    const claims = JSON.parse(decodeBase64Url(part)) as { exp?: unknown; iat?: unknown }
    return typeof claims.exp === "number" && typeof claims.iat === "number" && claims.exp > claims.iat
      ? (claims.exp - claims.iat) * 1000
      : undefined
  })().pipe(Option.flatMap(Option.fromNullishOr))

/** Makes the token of a response to a request sent at `sentAt`. */
export const fromResponse = (
  response: TokenResponse,
  sentAt: number,
  timing: Timing
): Token => {
  const lifetime = response.expires_in !== undefined && response.expires_in > 0
    ? response.expires_in * 1000
    : Option.getOrElse(jwtLifetimeMillis(Redacted.value(response.access_token)), () => fallbackLifetimeMillis)
  // Keycloak: `refresh_expires_in` 0 means the refresh token does not expire (offline tokens).
  const refreshLifetime = response.refresh_expires_in ?? 0
  return {
    ...timed(response.access_token, lifetime, sentAt, timing),
    refreshToken: response.refresh_token,
    refreshExpiresAt: response.refresh_token === undefined || refreshLifetime === 0
      ? undefined
      : sentAt + usableMillis(clampLifetime(refreshLifetime * 1000), timing.clockSkew)
  }
}

/**
 * Makes the token an app's token provider handed over at `now`, expiring at `expiresAt` (epoch
 * milliseconds, as the provider says): the same margins as a token endpoint's, no refresh token.
 */
export const fromExpiry = (
  accessToken: Redacted.Redacted<string>,
  expiresAt: number,
  now: number,
  timing: Timing
): Token => ({
  ...timed(accessToken, expiresAt - now, now, timing),
  refreshToken: undefined,
  refreshExpiresAt: undefined
})

/** The times of a token with this announced lifetime, obtained at `obtainedAt`. */
const timed = (
  accessToken: Redacted.Redacted<string>,
  announced: number,
  obtainedAt: number,
  timing: Timing
): Omit<Token, "refreshToken" | "refreshExpiresAt"> => {
  const lifetime = clampLifetime(announced)
  const usable = usableMillis(lifetime, timing.clockSkew)
  const expiresAt = obtainedAt + usable
  const refreshAt = expiresAt - Math.min(timing.refreshBeforeExpiry, usable / 2)
  return { accessToken, obtainedAt, lifetime, expiresAt, refreshAt }
}

/** Whether the token is fresh at `now`: it is handed out as is, not renewed. */
export const isFresh = (token: Token, now: number): boolean => now < token.refreshAt

/** Whether the token's refresh token can still be used at `now` (else renewing means logging in). */
export const canRefresh = (token: Token, now: number): boolean =>
  token.refreshToken !== undefined && (token.refreshExpiresAt === undefined || now < token.refreshExpiresAt)

/**
 * Whether the token may still be handed out at `now` when a fresh one cannot be had (the provider is
 * unreachable): it must leave the broker connection some time before it expires.
 */
export const isUsable = (token: Token, now: number): boolean =>
  now < token.expiresAt - Math.min(granularity, (token.expiresAt - token.obtainedAt) / 4)
