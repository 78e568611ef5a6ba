/**
 * The token provider auth through the real SDK, against the real token server (playing the app's
 * backend, which logs in for the page) and the JWT-checking broker in front of a real mosquitto:
 * delivery with provided tokens, refreshes ahead of expiry with no connection outliving its token, and
 * a refused CONNECT answered with a new token.
 */
import { assert, describe, it } from "@effect/vitest"
import { Auth, configureTokenProviderSdk, Environment, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Effect, References } from "effect"
import {
  allArrived,
  backendLogin,
  message,
  projectId,
  realm,
  sendAll,
  type Servers,
  servers,
  until
} from "./support/Fixture.js"
import type { TokenServer } from "./support/TokenServer.js"

const quiet = Effect.provideService(References.MinimumLogLevel, "Warn")

/** A provider over the backend that records why it was asked. */
const recordingProvider = (idp: TokenServer, first?: Auth.AccessToken) => {
  const reasons: Array<Auth.TokenRequest["reason"]> = []
  const provider: Auth.TokenProvider = (request) => {
    reasons.push(request.reason)
    return reasons.length === 1 && first !== undefined ? Promise.resolve(first) : backendLogin(idp, request.signal)
  }
  return { reasons, provider }
}

const sdkLayer = ({ broker }: Servers, provider: Auth.TokenProvider) =>
  StellaNowLive.layer({
    auth: Auth.layerTokenProvider(provider),
    environment: Environment.custom({ brokerUrl: broker.url }),
    organizationId: realm,
    projectId
  })

const tokenLifetime = 3 // seconds

describe("Auth.layerTokenProvider against the broker", () => {
  it.live(`delivers across ${tokenLifetime} s tokens: each refreshed ahead of expiry, none outlived`, () =>
    Effect.gen(function*() {
      const env = yield* servers({ accessTokenLifetime: tokenLifetime })
      const { broker } = env
      const { provider, reasons } = recordingProvider(env.idp)
      const ids = yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        yield* sdk.start
        const ids: Array<string> = []
        // Keep sending until the third provided token carried a connection.
        while (broker.connections.length < 3) {
          ids.push(...(yield* sendAll(sdk, ids.length, 20)))
          yield* Effect.sleep("100 millis")
        }
        yield* until(() => broker.until(allArrived(broker, ids), 10_000, "all arrived"))
        assert.strictEqual((yield* sdk.stop()).remaining, 0)
        return ids
      }).pipe(Effect.provide(sdkLayer(env, provider)), quiet)
      assert.strictEqual(reasons[0], "first")
      assert.isAtLeast(reasons.filter((reason) => reason === "refresh").length, 2)
      assert.strictEqual(broker.kicks(), 0, "every connection moved to a fresh token before its token expired")
      assert.strictEqual(broker.refusals.length, 0)
      assert.strictEqual(broker.recorded.counts.size, ids.length)
      assert.strictEqual(broker.recorded.duplicates(), 0)
    }))

  it.live("a refused CONNECT: the provider is asked again (reason rejected), and the new token delivers", () =>
    Effect.gen(function*() {
      const env = yield* servers()
      const { broker } = env
      // A token the broker cannot verify, but that the app believes good for 5 minutes.
      const forged = { accessToken: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", expiresAt: Date.now() + 300_000 }
      const { provider, reasons } = recordingProvider(env.idp, forged)
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        const ids = yield* sendAll(sdk, 0, 10)
        yield* sdk.start
        yield* until(() => broker.until(allArrived(broker, ids), 10_000, "all arrived"))
        yield* sdk.stop()
      }).pipe(Effect.provide(sdkLayer(env, provider)), quiet)
      assert.deepStrictEqual(reasons, ["first", "rejected"])
      assert.strictEqual(broker.refusals.length, 1)
      assert.strictEqual(broker.refusals[0]!.reasonCode, 134)
      assert.strictEqual(broker.connections.length, 1)
    }))

  it.live("the Promise front door: configureTokenProviderSdk delivers with the provider's tokens", () =>
    Effect.gen(function*() {
      const env = yield* servers()
      const { provider, reasons } = recordingProvider(env.idp)
      const sdk = configureTokenProviderSdk({
        environment: Environment.custom({ brokerUrl: env.broker.url }),
        organizationId: realm,
        projectId,
        tokenProvider: provider,
        tokenRefresh: { timeout: "5 seconds" },
        logLevel: "warn"
      })
      const id = yield* Effect.promise(async () => {
        await sdk.start()
        const id = await sdk.sendMessageAndWait(message(1))
        await sdk.close()
        return id
      })
      yield* until(() => env.broker.until(allArrived(env.broker, [id]), 10_000, "the message arrived"))
      assert.deepStrictEqual(reasons, ["first"])
    }))

  it("configureTokenProviderSdk checks its options where they enter", () => {
    assert.throws(
      () =>
        configureTokenProviderSdk({
          environment: "prod",
          tokenProvider: async () => ({ accessToken: "t", expiresAt: 0 }),
          tokenRefresh: { timeuot: "5 seconds" } as Auth.TokenProviderOptions
        }),
      /unknown option "tokenRefresh.timeuot" \(did you mean "tokenRefresh.timeout"\?\)/
    )
  })
})
