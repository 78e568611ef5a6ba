/**
 * Token requests carry no trace context unless asked: `traceparent`/`b3` make a browser's cross-origin
 * request need a CORS preflight that a default Keycloak refuses. Checked on what the real token server
 * received, with the request made inside a span (as the SDK's `connect` spans are).
 */
import { assert, describe, it } from "@effect/vitest"
import { AuthOidc } from "@stellanow/sdk"
import { Effect, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import { password, realm, username } from "./support/Fixture.js"
import { startTokenServer, type TokenServer } from "./support/TokenServer.js"

const tokenServer = Effect.acquireRelease(
  Effect.promise(() => startTokenServer({ realm, users: { [username]: password } })),
  (idp) => Effect.promise(() => idp.close())
)

/** Logs in once, inside a span, and returns the headers the token server received. */
const loginHeaders = (idp: TokenServer, extra: Partial<AuthOidc.Options> = {}) =>
  Effect.gen(function*() {
    const auth = yield* AuthOidc.make({
      credentials: { username, password: Redacted.make(password), clientId: "event-ingestor" },
      organizationId: realm,
      apiBaseUrl: idp.baseUrl,
      ...extra
    }).pipe(Effect.provide(FetchHttpClient.layer))
    yield* auth.credentials.pipe(Effect.withSpan("app.operation"))
    return idp.requests.at(-1)!.headers
  })

describe("OIDC token requests and trace headers", () => {
  it.live("carry no traceparent or b3 by default", () =>
    Effect.gen(function*() {
      const headers = yield* loginHeaders(yield* tokenServer)
      assert.isUndefined(headers["traceparent"])
      assert.isUndefined(headers["b3"])
    }))

  it.live("carry them with traceHeaders: true", () =>
    Effect.gen(function*() {
      const headers = yield* loginHeaders(yield* tokenServer, { traceHeaders: true })
      assert.match(String(headers["traceparent"]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
      assert.isString(headers["b3"])
    }))
})
