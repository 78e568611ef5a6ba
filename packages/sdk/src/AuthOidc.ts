/**
 * OIDC authentication against the platform's Keycloak (WIRE.md §5): realm = the organization id,
 * public client `event-ingestor`, a password grant to log in and refresh grants after it.
 *
 * - Nothing happens when the layer is built: the first `credentials` call logs in.
 * - A scoped fiber refreshes the token in use ahead of its expiry (`refreshBeforeExpiry`), retrying
 *   network errors and 5xx with `retrySchedule`; a refused or expired refresh token means a fresh
 *   login.
 * - The expiry handed to the sink is the announced one less whole-second rounding and `clockSkew`, so
 *   the sink moves its connection to a fresh token before any broker sees the old one expire.
 * - A token the broker refuses at CONNECT (the sink reports it through `Auth.rejected`) is not
 *   offered again: the next attempt gets a new one.
 * - A refused login is a non-transient `AuthError` ("Refused"), naming the realm and the user: the
 *   sink gives up and `start` fails with it (queued messages stay queued). Passwords and tokens are
 *   `Redacted` throughout and never appear in logs, errors or spans.
 *
 * Built on Effect's `HttpClient` (`effect/http`): {@link layer} uses the fetch-based client, so it
 * runs wherever `fetch` does; {@link layerWithHttpClient} takes any.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { Auth, type Service } from "./Auth.js"
import * as OidcAuth from "./internal/oidcAuth.js"
import * as OidcClient from "./internal/oidcClient.js"
import * as StellaNowConfig from "./StellaNowConfig.js"
import type { ConfigurationError } from "./StellaNowError.js"

/**
 * Options of the OIDC auth: who logs in where, and the timing of refreshes and retries.
 *
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
  /**
   * How long before the access token stops being used it is refreshed. Default 60 s, and at most
   * half its lifetime. Keep it above the sink's `renewBeforeExpiry` (30 s by default), so the sink
   * finds a fresh token when it renews its connection.
   */
  readonly refreshBeforeExpiry?: Duration.Input | undefined
  /** Delays between attempts after network errors and 5xx answers. Default {@link defaultRetrySchedule}. */
  readonly retrySchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /**
   * How far the clocks of the identity provider, the broker and this machine may be apart: a token is
   * given up this long before its announced expiry (at most a tenth of its lifetime). Default 10 s.
   */
  readonly clockSkew?: Duration.Input | undefined
  /** How long one request to the token endpoint may take. Default 10 s. */
  readonly requestTimeout?: Duration.Input | undefined
  /**
   * Whether token requests carry the trace context (`traceparent` and `b3` headers) of the span they
   * are made in. Default `false`: from a page, those headers make the request need a CORS preflight,
   * which a default Keycloak refuses; and a token request is rarely worth a trace.
   */
  readonly traceHeaders?: boolean | undefined
}

/**
 * Attempts after network errors and 5xx: exponential from 500 ms by 1.5, capped at 30 s, jittered.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = OidcAuth.defaultRetrySchedule

/**
 * The Keycloak token endpoint of an organization:
 * `{apiBaseUrl}/auth/realms/{organizationId}/protocol/openid-connect/token`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const keycloakTokenUrl: (apiBaseUrl: string, organizationId: string) => string = OidcClient.keycloakTokenUrl

/**
 * Makes the OIDC `Auth` service. Its token refresh fiber lives in the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<Service, ConfigurationError, HttpClient.HttpClient | Scope.Scope> = OidcAuth.make

/**
 * OIDC `Auth` over the `HttpClient` in context, for tests and custom clients (proxies, TLS, retries).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithHttpClient = (
  options: Options
): Layer.Layer<Auth, ConfigurationError, HttpClient.HttpClient> => Layer.effect(Auth, make(options))

/**
 * OIDC `Auth` over the fetch-based `HttpClient`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Auth, ConfigurationError> =>
  Layer.provide(layerWithHttpClient(options), FetchHttpClient.layer)

/**
 * OIDC `Auth` with the credentials (`OIDC_USERNAME`, `OIDC_PASSWORD`, `OIDC_CLIENT_ID`) and the
 * organization (`ORGANIZATION_ID`) read from the configuration.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "credentials" | "organizationId">
): Layer.Layer<Auth, ConfigurationError> =>
  Layer.unwrap(
    Effect.map(
      StellaNowConfig.load(StellaNowConfig.all([StellaNowConfig.oidc, Config.NonEmptyString("ORGANIZATION_ID")])),
      ([credentials, organizationId]) => layer({ ...options, credentials, organizationId })
    )
  )
