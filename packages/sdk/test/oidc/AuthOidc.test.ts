/**
 * The OIDC auth's logic under `TestClock`: when it logs in and refreshes, what it falls back to, how it
 * backs off, what its errors say. The token endpoint is a scripted `HttpClient` that counts calls; time
 * only moves by `TestClock.adjust`, nothing sleeps.
 */
import { assert, describe, it } from "@effect/vitest"
import { Auth, AuthOidc, StellaNowError } from "@stellanow/sdk"
import {
  Clock,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Redacted,
  Result,
  Schedule,
  Schema
} from "effect"
import { HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import { TestClock } from "effect/testing"
import * as OidcToken from "../../src/internal/oidcToken.js"

const realm = "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11"
const password = "pa55-w0rd!secret"
const apiBaseUrl = "https://api.test.example"
const tokenUrl = `${apiBaseUrl}/auth/realms/${realm}/protocol/openid-connect/token`

type Mode = "ok" | "refuseRefresh" | "refuseLogin" | "refuseLogin400" | "unavailable" | "down" | "garbage"

interface Call {
  readonly at: number
  readonly url: string
  readonly form: Readonly<Record<string, string>>
}

/** A scripted token endpoint: answers by `mode`, numbers its tokens, records every call. */
const makeFakeIdp = () => {
  const idp = {
    mode: "ok" as Mode,
    accessLifetime: 300,
    refreshLifetime: 1800,
    calls: [] as Array<Call>,
    issued: 0,
    grants: (grant: string) => idp.calls.filter((c) => c.form.grant_type === grant).length
  }
  const respond = (request: Parameters<Parameters<typeof HttpClient.make>[0]>[0], status: number, body: unknown) =>
    HttpClientResponse.fromWeb(
      request,
      new Response(typeof body === "string" ? body : JSON.stringify(body), {
        status,
        headers: { "content-type": "application/json" }
      })
    )
  const client = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      const form = Object.fromEntries(new URLSearchParams(body))
      idp.calls.push({ at: yield* Clock.currentTimeMillis, url: url.toString(), form })
      const grant = form.grant_type
      switch (idp.mode) {
        case "down":
          return yield* new HttpClientError.HttpClientError({
            reason: new HttpClientError.TransportError({
              request,
              cause: new Error("connect ECONNREFUSED 127.0.0.1:9")
            })
          })
        case "unavailable":
          return respond(request, 503, { error: "temporarily_unavailable" })
        case "garbage":
          return respond(request, 200, { access_token: 42, refresh_token: "refresh-leak" })
        case "refuseLogin":
          if (grant === "password") {
            return respond(request, 401, { error: "invalid_grant", error_description: "Invalid user credentials" })
          }
          break
        case "refuseLogin400":
          if (grant === "password") {
            return respond(request, 400, { error: "invalid_grant", error_description: "Account disabled" })
          }
          break
        case "refuseRefresh":
          if (grant === "refresh_token") {
            return respond(request, 400, { error: "invalid_grant", error_description: "Token is not active" })
          }
          break
      }
      const n = ++idp.issued
      return respond(request, 200, {
        access_token: `access-${n}`,
        expires_in: idp.accessLifetime,
        refresh_token: `refresh-${n}`,
        refresh_expires_in: idp.refreshLifetime,
        token_type: "Bearer"
      })
    })
  )
  return { idp, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const baseOptions = (extra: Partial<AuthOidc.Options> = {}): AuthOidc.Options => ({
  credentials: { username: "alice", password: Redacted.make(password), clientId: "event-ingestor" },
  organizationId: realm,
  apiBaseUrl,
  ...extra
})

/** A fake provider and the auth service over it, in the test's scope. */
const setup = (extra: Partial<AuthOidc.Options> = {}) =>
  Effect.gen(function*() {
    const { idp, layer } = makeFakeIdp()
    const auth = yield* Effect.provide(AuthOidc.make(baseOptions(extra)), layer)
    return { idp, auth }
  })

/** Lets forked fibers run (the fake endpoint answers without time passing). */
const settle = Effect.repeat(Effect.yieldNow, { times: 50 })

const accessOf = (credentials: { readonly username?: Redacted.Redacted<string> | undefined }) =>
  Redacted.value(credentials.username!)

// 300 s tokens, default 10 s skew and 60 s refresh margin: used for 289 s, refreshed at 229 s.
const usable300 = 300_000 - 1_000 - 10_000
const refresh300 = usable300 - 60_000

describe("AuthOidc (TestClock)", () => {
  it.effect("logs in lazily, on the first credentials, and hands out the same token while fresh", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup()
      yield* settle
      yield* TestClock.adjust("1 hour")
      yield* settle
      assert.strictEqual(idp.calls.length, 0, "building the service does no I/O")

      const start = yield* Clock.currentTimeMillis
      const first = yield* auth.credentials
      assert.strictEqual(accessOf(first), "access-1")
      assert.strictEqual(first.expiresAt, start + usable300)
      assert.isUndefined(first.password)
      assert.deepStrictEqual(idp.calls[0]!.form, {
        grant_type: "password",
        client_id: "event-ingestor",
        username: "alice",
        password,
        scope: "openid"
      })
      assert.strictEqual(idp.calls[0]!.url, tokenUrl)

      yield* TestClock.adjust(Duration.millis(refresh300 - 1))
      const again = yield* auth.credentials
      assert.strictEqual(accessOf(again), "access-1")
      assert.strictEqual(idp.calls.length, 1)
    }))

  it.effect("concurrent first calls share one login", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup()
      const all = yield* Effect.all(Array.from({ length: 10 }, () => auth.credentials), { concurrency: "unbounded" })
      assert.strictEqual(idp.calls.length, 1)
      assert.deepStrictEqual(new Set(all.map(accessOf)), new Set(["access-1"]))
    }))

  it.effect("refreshes ahead of expiry, with the refresh token, exactly at the refresh time", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup()
      yield* auth.credentials
      yield* TestClock.adjust(Duration.millis(refresh300 - 1))
      yield* settle
      assert.strictEqual(idp.grants("refresh_token"), 0)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.strictEqual(idp.grants("refresh_token"), 1)
      assert.deepStrictEqual(idp.calls[1]!.form, {
        grant_type: "refresh_token",
        client_id: "event-ingestor",
        refresh_token: "refresh-1"
      })
      const now = yield* Clock.currentTimeMillis
      const next = yield* auth.credentials
      assert.strictEqual(accessOf(next), "access-2")
      assert.strictEqual(next.expiresAt, now + usable300)
      assert.strictEqual(idp.calls.length, 2)

      // And so on, once per token lifetime while the tokens are used.
      for (let i = 3; i <= 6; i++) {
        yield* TestClock.adjust(Duration.millis(refresh300))
        yield* settle
        assert.strictEqual(accessOf(yield* auth.credentials), `access-${i}`)
      }
      assert.strictEqual(idp.grants("password"), 1)
      assert.strictEqual(idp.grants("refresh_token"), 5)
    }))

  it.effect("a refused refresh token means a fresh login", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup()
      yield* auth.credentials
      idp.mode = "refuseRefresh"
      yield* TestClock.adjust(Duration.millis(refresh300))
      yield* settle
      assert.deepStrictEqual(idp.calls.map((c) => c.form.grant_type), ["password", "refresh_token", "password"])
      assert.strictEqual(accessOf(yield* auth.credentials), "access-2")
      assert.strictEqual(idp.calls.length, 3)
    }))

  it.effect("an expired refresh token means a login, without trying it", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup()
      idp.refreshLifetime = 120
      yield* auth.credentials
      yield* TestClock.adjust(Duration.millis(refresh300))
      yield* settle
      assert.deepStrictEqual(idp.calls.map((c) => c.form.grant_type), ["password", "password"])
    }))

  it.effect("5xx during a refresh: retries on the schedule, succeeds when the provider is back", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup({ retrySchedule: Schedule.exponential("1 second", 2) })
      yield* auth.credentials
      idp.mode = "unavailable"
      yield* TestClock.adjust(Duration.millis(refresh300))
      yield* settle
      assert.strictEqual(idp.grants("refresh_token"), 1)
      const attemptsAfter = [] as Array<number>
      for (const step of [999, 1, 1_999, 1, 3_999, 1]) {
        yield* TestClock.adjust(Duration.millis(step))
        yield* settle
        attemptsAfter.push(idp.grants("refresh_token"))
      }
      // Attempts at +1 s, +3 s, +7 s after the first: exponential, nothing in between.
      assert.deepStrictEqual(attemptsAfter, [1, 2, 2, 3, 3, 4])
      // Meanwhile the token in hand is still good: the sink can use it.
      assert.strictEqual(accessOf(yield* auth.credentials), "access-1")
      idp.mode = "ok"
      yield* TestClock.adjust("8 seconds")
      yield* settle
      assert.strictEqual(idp.grants("refresh_token"), 6)
      assert.strictEqual(accessOf(yield* auth.credentials), "access-2")
      assert.strictEqual(idp.grants("password"), 1)
    }))

  it.effect("stops retrying when the token expires; then credentials fail as transient", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup({ retrySchedule: Schedule.spaced("5 seconds") })
      yield* auth.credentials
      idp.mode = "down"
      yield* TestClock.adjust(Duration.millis(refresh300))
      yield* settle
      yield* TestClock.adjust(Duration.millis(usable300 - refresh300))
      yield* settle
      const atExpiry = idp.calls.length
      // 60 s between refresh time and expiry, one attempt every 5 s.
      assert.isTrue(atExpiry >= 12 && atExpiry <= 14, `attempts until expiry: ${atExpiry}`)
      yield* TestClock.adjust("1 hour")
      yield* settle
      assert.strictEqual(idp.calls.length, atExpiry, "no retries after expiry")

      const error = yield* Effect.flip(auth.credentials)
      assert.strictEqual(error.reason, "Unreachable")
      assert.isTrue(error.isTransient)
      assert.include(error.message, `realm "${realm}"`)
      assert.include(error.message, `user "alice"`)
      assert.include(error.message, "ECONNREFUSED")
      assert.notInclude(error.message, password)

      idp.mode = "ok"
      assert.strictEqual(accessOf(yield* auth.credentials), "access-2")
    }))

  it.effect("while the provider is down, a token with time left is still handed out, then not", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup({ retrySchedule: Schedule.recurs(0) })
      const first = yield* auth.credentials
      idp.mode = "down"
      yield* TestClock.adjust(Duration.millis(refresh300 + 1))
      const late = yield* auth.credentials
      assert.strictEqual(accessOf(late), "access-1")
      assert.strictEqual(late.expiresAt, first.expiresAt)
      const now = yield* Clock.currentTimeMillis
      yield* TestClock.adjust(Duration.millis(first.expiresAt! - now - 999))
      assert.strictEqual((yield* Effect.flip(auth.credentials)).reason, "Unreachable")
    }))

  it.effect("a token the broker refused is not handed out again: the next credentials refresh", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup()
      const first = yield* auth.credentials
      // An older token's refusal changes nothing.
      yield* auth.rejected!({ username: Redacted.make("access-1"), expiresAt: first.expiresAt })
      assert.strictEqual(accessOf(yield* auth.credentials), "access-1")
      yield* auth.rejected!(first)
      const second = yield* auth.credentials
      assert.strictEqual(accessOf(second), "access-2")
      assert.deepStrictEqual(idp.calls.map((c) => c.form.grant_type), ["password", "refresh_token"])
      // While the provider is down, a refused token is not the fallback either.
      idp.mode = "down"
      yield* auth.rejected!(second)
      assert.strictEqual((yield* Effect.flip(auth.credentials)).reason, "Unreachable")
    }))

  it.effect("a token nobody took is not refreshed again; the next credentials renew it", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup()
      yield* auth.credentials
      yield* TestClock.adjust(Duration.millis(refresh300))
      yield* settle
      assert.strictEqual(idp.grants("refresh_token"), 1)
      // access-2 is never taken: no more refreshes, however long the SDK stays stopped.
      yield* TestClock.adjust("3 hours")
      yield* settle
      assert.strictEqual(idp.calls.length, 2)
      // Its refresh token expired meanwhile (1800 s): the next credentials log in.
      assert.strictEqual(accessOf(yield* auth.credentials), "access-3")
      assert.deepStrictEqual(idp.calls.map((c) => c.form.grant_type), ["password", "refresh_token", "password"])
    }))

  it.effect("refused logins are fatal AuthErrors naming realm and user, never the password", () =>
    Effect.gen(function*() {
      for (const mode of ["refuseLogin", "refuseLogin400"] as const) {
        const { auth, idp } = yield* setup()
        idp.mode = mode
        const error = yield* Effect.flip(auth.credentials)
        assert.instanceOf(error, StellaNowError.AuthError)
        assert.strictEqual(error.reason, "Refused")
        assert.isFalse(error.isTransient)
        assert.include(error.message, `realm "${realm}"`)
        assert.include(error.message, `user "alice"`)
        assert.include(error.message, "invalid_grant")
        assert.include(error.message, mode === "refuseLogin" ? "HTTP 401" : "HTTP 400")
        assert.notInclude(JSON.stringify(error), password)
        assert.notInclude(String(error.cause), password)
        // Not sticky: a later start tries again.
        idp.mode = "ok"
        assert.strictEqual(accessOf(yield* auth.credentials), "access-1")
      }
    }))

  it.effect("a login answer that is not a token is InvalidResponse, without echoing the body", () =>
    Effect.gen(function*() {
      const { auth, idp } = yield* setup()
      idp.mode = "garbage"
      const error = yield* Effect.flip(auth.credentials)
      assert.strictEqual(error.reason, "InvalidResponse")
      assert.isTrue(error.isTransient)
      assert.include(error.message, "access_token")
      assert.notInclude(error.message, "refresh-leak")
    }))

  it.effect("a custom token endpoint and client id", () =>
    Effect.gen(function*() {
      const custom = "https://idp.example/realms/x/token"
      const { auth, idp } = yield* setup({
        tokenUrl: custom,
        apiBaseUrl: undefined,
        credentials: { username: "bob", password: Redacted.make("pw"), clientId: "my-ingestor" }
      })
      yield* auth.credentials
      assert.strictEqual(idp.calls[0]!.url, custom)
      assert.strictEqual(idp.calls[0]!.form.client_id, "my-ingestor")
      assert.strictEqual(idp.calls[0]!.form.username, "bob")
    }))

  it.effect("the service stops refreshing when its scope closes", () =>
    Effect.gen(function*() {
      const { idp, layer } = makeFakeIdp()
      const fiber = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const auth = yield* Effect.provide(AuthOidc.make(baseOptions()), layer)
        yield* auth.credentials
      })))
      yield* Fiber.join(fiber)
      yield* TestClock.adjust("1 day")
      yield* settle
      assert.strictEqual(idp.calls.length, 1)
    }))

  it.effect("configuration errors: no token endpoint, bad URL, bad durations", () =>
    Effect.gen(function*() {
      const { layer } = makeFakeIdp()
      const failing = [
        baseOptions({ apiBaseUrl: undefined }),
        baseOptions({ tokenUrl: "not a url" }),
        baseOptions({ tokenUrl: "ftp://idp.example/token" }),
        baseOptions({ refreshBeforeExpiry: "0 seconds" }),
        baseOptions({ clockSkew: Duration.infinity }),
        baseOptions({ requestTimeout: -1 })
      ]
      for (const options of failing) {
        const exit = yield* Effect.exit(Effect.scoped(Effect.provide(AuthOidc.make(options), layer)))
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(Effect.scoped(Effect.provide(AuthOidc.make(options), layer)))
        assert.strictEqual(error._tag, "ConfigurationError")
      }
      const layerExit = yield* Effect.exit(
        Layer.build(AuthOidc.layer(baseOptions({ apiBaseUrl: undefined }))).pipe(
          Effect.scoped
        )
      )
      assert.isTrue(Exit.isFailure(layerExit))
      assert.strictEqual(
        AuthOidc.keycloakTokenUrl("https://api.dev.stella.cloud/", realm),
        `https://api.dev.stella.cloud/auth/realms/${realm}/protocol/openid-connect/token`
      )
    }))
})

describe("AuthOidc.layerConfig", () => {
  it.effect("reads the credentials and the organization from the configuration, without I/O", () =>
    Effect.gen(function*() {
      const provider = (vars: Record<string, string>) => ConfigProvider.fromEnvRecord(vars)
      const missing = yield* Effect.flip(
        Layer.build(AuthOidc.layerConfig({ apiBaseUrl })).pipe(
          Effect.scoped,
          Effect.provideService(ConfigProvider.ConfigProvider, provider({ OIDC_USERNAME: "alice" }))
        )
      )
      assert.strictEqual(missing._tag, "ConfigurationError")
      assert.include(missing.message, "OIDC_PASSWORD")
      assert.include(missing.message, "ORGANIZATION_ID")
      const built = yield* Layer.build(AuthOidc.layerConfig({ apiBaseUrl })).pipe(
        Effect.map((context) => Context.get(context, Auth.Auth).mode),
        Effect.scoped,
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          provider({ OIDC_USERNAME: "alice", OIDC_PASSWORD: password, ORGANIZATION_ID: realm })
        )
      )
      assert.strictEqual(built, "oidc")
    }))
})

describe("OIDC token timing", () => {
  const timing = { refreshBeforeExpiry: 60_000, clockSkew: 10_000 }
  const response = (expiresIn: number, refreshExpiresIn?: number) => ({
    access_token: Redacted.make("a"),
    expires_in: expiresIn,
    refresh_token: Redacted.make("r"),
    ...(refreshExpiresIn === undefined ? {} : { refresh_expires_in: refreshExpiresIn })
  })

  it("gives a token up before its announced expiry by the rounding of exp and the clock skew", () => {
    const t300 = OidcToken.fromResponse(response(300, 1800), 1_000, timing)
    assert.strictEqual(t300.expiresAt, 1_000 + 300_000 - 1_000 - 10_000)
    assert.strictEqual(t300.refreshAt, t300.expiresAt - 60_000)
    assert.strictEqual(t300.refreshExpiresAt, 1_000 + 1_800_000 - 1_000 - 10_000)
    // Short tokens: the skew allowance is at most a tenth, the refresh margin at most half.
    const t3 = OidcToken.fromResponse(response(3), 0, timing)
    assert.strictEqual(t3.expiresAt, 3_000 - 1_000 - 300)
    assert.strictEqual(t3.refreshAt, t3.expiresAt / 2)
    assert.isUndefined(t3.refreshExpiresAt, "no refresh_expires_in: no known expiry")
    // Never less than half the lifetime.
    assert.strictEqual(OidcToken.fromResponse(response(1), 0, timing).expiresAt, 500)
    // Keycloak: refresh_expires_in 0 = does not expire.
    assert.isUndefined(OidcToken.fromResponse(response(300, 0), 0, timing).refreshExpiresAt)
  })

  it("the token is always given up before the broker sees it expire, whatever the rounding", () => {
    // Issued at any millisecond after the request was sent: exp = floor(issue / 1000) + lifetime.
    for (const lifetime of [2, 3, 5, 60, 300, 3600]) {
      for (const sentAt of [0, 1, 499, 999, 1_000]) {
        for (const latency of [0, 1, 250, 999]) {
          const exp = (Math.floor((sentAt + latency) / 1000) + lifetime) * 1000
          const token = OidcToken.fromResponse(response(lifetime), sentAt, {
            refreshBeforeExpiry: 60_000,
            clockSkew: 0
          })
          assert.isTrue(token.expiresAt <= exp, `lifetime ${lifetime}s sent ${sentAt} latency ${latency}`)
        }
      }
    }
  })

  it("the refresh comes before the sink's renewal, so the sink reconnects with a fresh token", () => {
    // The sink renews at expiresAt - min(renewBeforeExpiry = 30 s, remaining / 5).
    for (const lifetime of [3, 4, 10, 30, 60, 120, 300, 900, 3600, 86_400]) {
      const token = OidcToken.fromResponse(response(lifetime, 1800), 0, timing)
      for (const connectedAt of [0, token.refreshAt / 2, token.refreshAt - 1]) {
        const remaining = token.expiresAt - connectedAt
        const renewal = token.expiresAt - Math.min(30_000, remaining / 5)
        assert.isTrue(token.refreshAt < renewal, `lifetime ${lifetime}s connected at ${connectedAt}`)
      }
    }
  })

  it("decodes expires_in given as a string, and reads a JWT's lifetime when it is missing", () => {
    const decoded = Schema.decodeUnknownSync(OidcToken.TokenResponse)({
      access_token: "a",
      expires_in: "120",
      refresh_expires_in: 0,
      extra: "ignored"
    })
    assert.strictEqual(decoded.expires_in, 120)
    assert.isTrue(Redacted.isRedacted(decoded.access_token))
    assert.strictEqual(OidcToken.fromResponse(decoded, 0, timing).lifetime, 120_000)
    assert.isTrue(Result.isFailure(Schema.decodeUnknownResult(OidcToken.TokenResponse)({ access_token: "" })))
    const claims = Buffer.from(JSON.stringify({ iat: 1_000, exp: 1_090 })).toString("base64url")
    const jwt = `e30.${claims}.sig`
    assert.strictEqual(OidcToken.fromResponse({ access_token: Redacted.make(jwt) }, 0, timing).lifetime, 90_000)
    assert.strictEqual(
      OidcToken.fromResponse({ access_token: Redacted.make("opaque") }, 0, timing).lifetime,
      OidcToken.fallbackLifetimeMillis
    )
  })

  it("the default retry schedule is jittered exponential, capped at about 30 s", () => {
    const delays = Effect.runSync(Effect.gen(function*() {
      const step = yield* Schedule.toStep(AuthOidc.defaultRetrySchedule)
      const delays: Array<number> = []
      for (let i = 0; i < 40; i++) delays.push(Duration.toMillis((yield* step(0, undefined))[1]))
      return delays
    }))
    assert.isTrue(delays[0]! >= 400 && delays[0]! <= 600, `first delay ${delays[0]}`)
    assert.isTrue(delays.every((d) => d <= 36_000), "capped")
    assert.isTrue(delays.slice(-10).every((d) => d >= 24_000), "reaches the cap")
    assert.isTrue(new Set(delays.slice(-10)).size > 1, "jittered")
  })
})
