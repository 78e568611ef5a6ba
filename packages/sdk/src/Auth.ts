/**
 * Authentication: what goes into the broker's CONNECT. The sink asks `Auth` for credentials before
 * every connection attempt, so an implementation that refreshes tokens only has to hand out the
 * freshest one.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import { Context, Effect, Layer, Redacted } from "effect"
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
