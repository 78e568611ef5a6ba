/**
 * OIDC authentication against the platform's Keycloak (WIRE.md §5).
 *
 * @since 0.1.0
 */
import type { Duration, Schedule } from "effect"
import { Effect, Layer } from "effect"
import { Auth } from "./Auth.js"
import type * as StellaNowConfig from "./StellaNowConfig.js"
import { ConfigurationError } from "./StellaNowError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly credentials: StellaNowConfig.OidcCredentials
  readonly organizationId: string
  /** The API base URL (the environment's); the realm is the organization id. */
  readonly apiBaseUrl: string | undefined
  /** The token endpoint, when it is not the environment's Keycloak. */
  readonly tokenUrl?: string | undefined
  /** How long before the access token expires it is refreshed. */
  readonly refreshBeforeExpiry?: Duration.DurationInput | undefined
  /** Delays between attempts after network errors and 5xx answers. */
  readonly retrySchedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (_options: Options): Layer.Layer<Auth, ConfigurationError> =>
  Layer.effect(
    Auth,
    Effect.fail(new ConfigurationError({ reason: "InvalidOption", detail: "OIDC authentication is not built yet" }))
  )
