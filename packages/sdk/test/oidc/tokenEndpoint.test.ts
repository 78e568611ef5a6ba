/**
 * Faults of the token endpoint itself, against the real token server over real HTTP: a 429 with
 * `Retry-After`, an absurd `expires_in`, a body too large to be a token response, an HTML 404 page.
 * The timing cases run under `TestClock` (the HTTP is real, the waits are virtual).
 */
import { assert, describe, it } from "@effect/vitest"
import { AuthOidc, StellaNowError } from "@stellanow/sdk"
import { Clock, Duration, Effect, Redacted, References } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import * as OidcClient from "../../src/internal/oidcClient.js"
import * as OidcToken from "../../src/internal/oidcToken.js"
import { password, realm, username } from "./support/Fixture.js"
import { startTokenServer, type TokenServer, type TokenServerOptions } from "./support/TokenServer.js"

const quiet = Effect.provideService(References.MinimumLogLevel, "None")

const tokenServer = (options: Partial<TokenServerOptions> = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startTokenServer({ realm, users: { [username]: password }, ...options })),
    (idp) => Effect.promise(() => idp.close())
  )

/** The OIDC auth against the server, over the fetch client, in the test's scope. */
const authFor = (idp: TokenServer, extra: Partial<AuthOidc.Options> = {}) =>
  AuthOidc.make({
    credentials: { username, password: Redacted.make(password), clientId: "event-ingestor" },
    organizationId: realm,
    apiBaseUrl: idp.baseUrl,
    ...extra
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** Real time for real I/O to happen (the test clock does not move). */
const realPause = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

const untilServer = (idp: TokenServer, condition: (s: TokenServer) => boolean, what: string) =>
  Effect.promise(() => idp.until(condition, 5_000, what))

// 300 s tokens, default 10 s skew and 60 s refresh margin: refreshed at 229 s.
const refresh300 = 300_000 - 1_000 - 10_000 - 60_000

describe("token endpoint faults", () => {
  it.effect("429 with Retry-After: no request before the delay, the refresh after it", () =>
    Effect.gen(function*() {
      const idp = yield* tokenServer()
      const auth = yield* authFor(idp)
      yield* auth.credentials
      assert.strictEqual(idp.stats.tokenRequests, 1)
      idp.fault = "tooManyRequests"
      idp.retryAfter = "20"
      yield* TestClock.adjust(Duration.millis(refresh300))
      yield* untilServer(idp, (s) => s.stats.tokenRequests === 2, "the refresh answered 429")
      // 19 s of backoff steps: the usual backoff would have asked again several times by now.
      for (let second = 0; second < 19; second++) {
        yield* TestClock.adjust("1 second")
        yield* realPause(10)
      }
      assert.strictEqual(idp.stats.tokenRequests, 2, "no request before Retry-After passed")
      idp.fault = undefined
      for (let second = 0; second < 40 && idp.stats.refreshes === 0; second++) {
        yield* TestClock.adjust("1 second")
        yield* realPause(10)
      }
      yield* untilServer(idp, (s) => s.stats.refreshes === 1, "the refresh after Retry-After")
      assert.strictEqual(idp.stats.tokenRequests, 3)
    }).pipe(quiet))

  it("Retry-After as seconds or an HTTP date, bounded by 5 minutes", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    assert.strictEqual(OidcClient.parseRetryAfter("20", now), 20_000)
    assert.strictEqual(OidcClient.parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30_000)
    assert.strictEqual(OidcClient.parseRetryAfter("100000", now), OidcClient.maxRetryAfterMillis)
    assert.strictEqual(OidcClient.parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0)
    assert.strictEqual(OidcClient.parseRetryAfter("soon", now), undefined)
    assert.strictEqual(OidcClient.parseRetryAfter(undefined, now), undefined)
  })

  it.effect("expires_in 1e300 is clamped to 24 h: the refresh happens by then", () =>
    Effect.gen(function*() {
      const idp = yield* tokenServer()
      idp.announcedLifetime = 1e300
      const auth = yield* authFor(idp)
      const first = yield* auth.credentials
      const now = yield* Clock.currentTimeMillis
      assert.isAtMost(first.expiresAt! - now, OidcToken.maxLifetimeMillis)
      // Renewed at the refresh time of the clamped lifetime (a login: the 30 min refresh token has
      // expired by then). The clock stops there: past it, the real request would time out virtually.
      const refreshAt = first.expiresAt! - 60_000
      assert.isAtMost(refreshAt - now, OidcToken.maxLifetimeMillis)
      yield* TestClock.adjust(Duration.millis(refreshAt - now - 1))
      yield* realPause(100)
      assert.strictEqual(idp.stats.tokenRequests, 1)
      yield* TestClock.adjust("1 millis")
      yield* untilServer(idp, (s) => s.stats.tokenRequests === 2, "the renewal by the clamped time")
      assert.strictEqual(idp.stats.logins, 2)
    }).pipe(quiet))

  it("lifetimes are clamped to [1 s, 24 h], refresh lifetimes too", () => {
    const timing = { refreshBeforeExpiry: 60_000, clockSkew: 10_000 }
    const response = (expiresIn: number, refreshExpiresIn: number) => ({
      access_token: Redacted.make("a"),
      expires_in: expiresIn,
      refresh_token: Redacted.make("r"),
      refresh_expires_in: refreshExpiresIn
    })
    const huge = OidcToken.fromResponse(response(1e300, 1e300), 0, timing)
    assert.strictEqual(huge.lifetime, OidcToken.maxLifetimeMillis)
    assert.isAtMost(huge.refreshExpiresAt!, OidcToken.maxLifetimeMillis)
    const tiny = OidcToken.fromResponse(response(0.001, 0.001), 0, timing)
    assert.strictEqual(tiny.lifetime, OidcToken.minLifetimeMillis)
    assert.strictEqual(tiny.expiresAt, OidcToken.minLifetimeMillis / 2)
  })

  it.live("a body over 64 KiB is an InvalidResponse, not read whole", () =>
    Effect.gen(function*() {
      const idp = yield* tokenServer()
      idp.fault = "hugeBody"
      const auth = yield* authFor(idp)
      const error = yield* Effect.flip(auth.credentials)
      assert.instanceOf(error, StellaNowError.AuthError)
      assert.strictEqual(error.reason, "InvalidResponse")
      assert.include(error.detail, "64 KiB")
      assert.notInclude(error.detail, password)
    }).pipe(quiet))

  it.live("an HTML 404 page means a wrong token URL, naming it, not refused credentials", () =>
    Effect.gen(function*() {
      const idp = yield* tokenServer()
      idp.fault = "html404"
      const auth = yield* authFor(idp)
      const error = yield* Effect.flip(auth.credentials)
      assert.instanceOf(error, StellaNowError.AuthError)
      assert.strictEqual(error.reason, "WrongTokenUrl")
      assert.isFalse(error.isTransient)
      assert.include(error.detail, idp.tokenUrl)
      assert.include(error.detail, "looks wrong")
      assert.notInclude(error.detail, password)
    }).pipe(quiet))

  it.live("a token URL with a wrong path (the server's 404) is WrongTokenUrl too", () =>
    Effect.gen(function*() {
      const idp = yield* tokenServer()
      const tokenUrl = `${idp.baseUrl}/realms/${realm}/protocol/openid-connect/token`
      const auth = yield* authFor(idp, { tokenUrl })
      const error = yield* Effect.flip(auth.credentials)
      assert.strictEqual(error.reason, "WrongTokenUrl")
      assert.include(error.detail, tokenUrl)
      assert.strictEqual(idp.stats.tokenRequests, 0)
    }).pipe(quiet))
})
