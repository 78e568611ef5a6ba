/**
 * The exchanges with the identity provider that give the OIDC auth a new token: a login (the password
 * grant) or a refresh (the refresh-token grant), and the choice between them. Each exchange is a span
 * and a log line; what to do with the token is the caller's.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Result from "effect/Result"
import type { AuthError } from "../StellaNowError.js"
import * as OidcClient from "./oidcClient.js"
import * as OidcToken from "./oidcToken.js"

/** A new token: by the refresh token of the previous one while it lasts and is accepted, else by logging in. */
export type Renew = (previous: OidcToken.Token | undefined) => Effect.Effect<OidcToken.Token, AuthError>

/** Who the auth is, as span attributes (never a secret). */
export const spanAttributes = (endpoint: OidcClient.Endpoint): Record<string, string> => ({
  "oidc.realm": endpoint.realm,
  "oidc.client_id": endpoint.credentials.clientId,
  "oidc.username": endpoint.credentials.username
})

const seconds = (millis: number) => `${Math.round(millis / 100) / 10} s`

/** Renews tokens at `endpoint` through `http`. */
export const makeRenew = (
  http: HttpClient.HttpClient,
  endpoint: OidcClient.Endpoint,
  timing: OidcToken.Timing
): Renew => {
  const { clientId, username } = endpoint.credentials
  const who = `"${username}" (realm "${endpoint.realm}", client "${clientId}")`
  const attributes = spanAttributes(endpoint)

  const obtain = (grant: OidcClient.Grant, previous?: OidcToken.Token) =>
    Effect.gen(function*() {
      const sentAt = yield* Clock.currentTimeMillis
      const response = yield* OidcClient.requestToken(http, endpoint, grant, previous?.refreshToken)
      return OidcToken.fromResponse(response, sentAt, timing)
    })

  const login = Effect.fn("AuthOidc.login", { attributes })(function*() {
    const token = yield* obtain("login")
    yield* Effect.logInfo(
      `logged in as ${who}; the access token is used for ${seconds(token.expiresAt - token.obtainedAt)}`
    )
    return token
  })

  const refresh = Effect.fn("AuthOidc.refresh", { attributes })(function*(previous: OidcToken.Token) {
    const token = yield* obtain("refresh", previous)
    yield* Effect.logDebug(
      `refreshed the access token; it is used for ${seconds(token.expiresAt - token.obtainedAt)}`
    )
    return token
  })

  return refreshOrLogin(login, refresh)
}

/** The choice of exchange: the refresh grant while the refresh token lasts and is accepted, else a login. */
const refreshOrLogin = (
  login: () => Effect.Effect<OidcToken.Token, AuthError>,
  refresh: (previous: OidcToken.Token) => Effect.Effect<OidcToken.Token, AuthError>
): Renew =>
(previous) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    if (previous !== undefined && OidcToken.canRefresh(previous, now)) {
      const refreshed = yield* Effect.result(refresh(previous))
      if (Result.isSuccess(refreshed)) return refreshed.success
      if (refreshed.failure.reason !== "Refused") return yield* refreshed.failure
      yield* Effect.logWarning("the identity provider refused the refresh token; logging in again")
    } else if (previous?.refreshToken !== undefined) {
      yield* Effect.logDebug("the refresh token has expired; logging in again")
    }
    return yield* login()
  })
