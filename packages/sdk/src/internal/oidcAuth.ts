import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Service } from "../Auth.js"
import type { Options } from "../AuthOidc.js"
import type { ConfigurationError } from "../StellaNowError.js"
import * as Backoff from "./backoff.js"
import * as OidcClient from "./oidcClient.js"
import * as OidcExchange from "./oidcExchange.js"
import * as OidcToken from "./oidcToken.js"
import * as Check from "./options.js"
import * as TokenAuth from "./tokenAuth.js"

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
      endpoint: {
        tokenUrl,
        realm: organizationId,
        credentials,
        requestTimeout,
        traceHeaders: options.traceHeaders === true
      },
      timing: { refreshBeforeExpiry: Duration.toMillis(refreshBeforeExpiry), clockSkew: Duration.toMillis(clockSkew) },
      retrySchedule: options.retrySchedule ?? defaultRetrySchedule
    }
  })

/** The OIDC `Auth` service: tokens by the provider's exchanges, kept fresh by a fiber in the scope. */
export const make = (
  options: Options
): Effect.Effect<Service, ConfigurationError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const { endpoint, retrySchedule, timing } = yield* settings(options)
    const http = yield* HttpClient.HttpClient
    const renew = OidcExchange.makeRenew(http, endpoint, timing)
    return yield* TokenAuth.make({
      mode: "oidc",
      module: "AuthOidc",
      provider: "the identity provider",
      span: "AuthOidc.credentials",
      attributes: OidcExchange.spanAttributes(endpoint),
      renew: (previous) => renew(previous),
      retrySchedule,
      retryAfterOf: OidcClient.retryAfterOf
    })
  })
