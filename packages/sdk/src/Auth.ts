/**
 * Authentication: what goes into the broker's CONNECT. The sink asks `Auth` for credentials before
 * every connection attempt, so an implementation that refreshes tokens only has to hand out the
 * freshest one.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as TokenProviderAuth from "./internal/tokenProvider.js"
import * as StellaNowConfig from "./StellaNowConfig.js"
import type { AuthError, ConfigurationError } from "./StellaNowError.js"

/**
 * Credentials for one CONNECT.
 *
 * @since 0.1.0
 * @category models
 */
export interface Credentials {
  readonly username?: Redacted.Redacted<string> | undefined
  readonly password?: Redacted.Redacted<string> | undefined
  /**
   * When these credentials stop being accepted (epoch milliseconds), if they expire. The sink moves
   * to fresh credentials by reconnecting before then, because some brokers disconnect a client whose
   * token has expired.
   */
  readonly expiresAt?: number | undefined
}

/**
 * The auth interface: hands out credentials for the next CONNECT.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The auth mode, for logs. */
  readonly mode: string
  /** Credentials for the next CONNECT. Fails with `AuthError`; a `Refused` one is fatal. */
  readonly credentials: Effect.Effect<Credentials, AuthError>
  /**
   * Told when the broker refused `credentials` at CONNECT, so an implementation that can get others
   * (a token the broker deems expired or revoked) does not offer the same ones again. Optional.
   */
  readonly rejected?: ((credentials: Credentials) => Effect.Effect<void>) | undefined
}

/**
 * The auth service's tag.
 *
 * @since 0.1.0
 * @category services
 */
export class Auth extends Context.Service<Auth, Service>()("@stellanow/sdk/Auth") {}

/**
 * No authentication: no username, no password.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNone: Layer.Layer<Auth> = Layer.succeed(Auth, { mode: "none", credentials: Effect.succeed({}) })

/**
 * Username and password, as given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBasic = (credentials: StellaNowConfig.BasicCredentials): Layer.Layer<Auth> => {
  const connect: Credentials = { username: Redacted.make(credentials.username), password: credentials.password }
  return Layer.succeed(Auth, { mode: "basic", credentials: Effect.succeed(connect) })
}

/**
 * Username and password from `MQTT_USERNAME` and `MQTT_PASSWORD`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBasicConfig: Layer.Layer<Auth, ConfigurationError> = Layer.unwrap(
  Effect.map(StellaNowConfig.load(StellaNowConfig.basic), layerBasic)
)

/**
 * An access token from the app's own login, as a {@link TokenProvider} returns it.
 *
 * @since 0.2.0
 * @category models
 */
export interface AccessToken {
  /** The token the broker accepts, sent as the CONNECT's username (as OIDC tokens are, WIRE.md §5). */
  readonly accessToken: string | Redacted.Redacted<string>
  /** When the token expires: epoch milliseconds (a JWT's `exp` times 1000), or a `Date`. */
  readonly expiresAt: number | Date
}

/**
 * What the SDK tells the token provider when it asks.
 *
 * @since 0.2.0
 * @category models
 */
export interface TokenRequest {
  /**
   * `"first"` before the first CONNECT, `"refresh"` ahead of the token's expiry, `"rejected"` after the
   * broker refused the last token (a cached copy of it will not do). For `"refresh"`, return a new
   * token: the one in hand again is accepted, but asked about again in half the time it has left.
   */
  readonly reason: "first" | "refresh" | "rejected"
  /** Aborted when the SDK stops waiting (its `timeout`, or `stop`): pass it to `fetch`. */
  readonly signal: AbortSignal
}

/**
 * The app's source of access tokens: its backend, a PKCE flow, anything that returns an
 * {@link AccessToken}, as a Promise or an Effect. A failure is retried with the SDK's backoff; fail with
 * an `AuthError` of reason `Refused` (say, the user logged out) to make the sink give up instead.
 *
 * @since 0.2.0
 * @category models
 */
export type TokenProvider = (
  request: TokenRequest
) => PromiseLike<AccessToken> | Effect.Effect<AccessToken, unknown>

/**
 * Timing of the token provider auth.
 *
 * @since 0.2.0
 * @category models
 */
export interface TokenProviderOptions {
  /**
   * How long before the token stops being used a new one is asked for. Default 60 s, and at most half
   * its lifetime. Keep it above the sink's `renewBeforeExpiry` (30 s by default).
   */
  readonly refreshBeforeExpiry?: Duration.Input | undefined
  /**
   * How far the clocks of the app, the broker and this machine may be apart: a token stops being used
   * this long before its `expiresAt` (at most a tenth of its lifetime). Default 10 s.
   */
  readonly clockSkew?: Duration.Input | undefined
  /** How long one call of the provider may take. Default 10 s. */
  readonly timeout?: Duration.Input | undefined
  /** Delays between calls after failures. Default: the SDK's backoff (from 500 ms by 1.5, capped at 30 s). */
  readonly retrySchedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * Makes the token provider `Auth` service. Its refresh fiber lives in the scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeTokenProvider: (
  provider: TokenProvider,
  options?: TokenProviderOptions
) => Effect.Effect<Service, ConfigurationError, Scope.Scope> = TokenProviderAuth.make

/**
 * Access tokens from the app's own login, for pages (and any app that has its tokens already): the
 * provider is called before the first CONNECT, again ahead of each token's expiry
 * (`refreshBeforeExpiry`), and again when the broker refuses a token. The token goes into CONNECT as
 * the username, and the sink reconnects with a fresh one before the old one expires, as with OIDC. A
 * provider that throws, rejects or times out is an `AuthError` (`ProviderFailed`), asked again with the
 * SDK's backoff; the token in hand is used meanwhile while it lasts. Tokens are `Redacted` throughout.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTokenProvider = (
  provider: TokenProvider,
  options?: TokenProviderOptions
): Layer.Layer<Auth, ConfigurationError> => Layer.effect(Auth, makeTokenProvider(provider, options))
