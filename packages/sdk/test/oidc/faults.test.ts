/**
 * Faults of the identity provider, through the real SDK, against the real token server and the
 * JWT-checking broker: refused refreshes, refused logins, a provider that is down or answers 503 when
 * the SDK starts.
 */
import { assert, describe, it } from "@effect/vitest"
import { StellaNow, StellaNowError } from "@stellanow/sdk"
import { Effect, Fiber, Ref, References, Result, Stream } from "effect"
import {
  allArrived,
  poll,
  realm,
  sdkLayer,
  sendAll,
  type Servers,
  servers,
  until,
  username
} from "./support/Fixture.js"

const quiet = Effect.provideService(References.MinimumLogLevel, "Warn")

/** Counts the SDK's failed connection attempts caused by the identity provider. */
const countAuthFailures = (sdk: StellaNow.Service) =>
  Effect.gen(function*() {
    const failures = yield* Ref.make(0)
    yield* (yield* sdk.subscribe).pipe(
      Stream.runForEach((event) =>
        event._tag === "ConnectionChanged" && event.state._tag === "Disconnected" &&
          event.state.error._tag === "AuthError"
          ? Ref.update(failures, (n) => n + 1)
          : Effect.void
      ),
      Effect.forkScoped
    )
    return failures
  })

/** Starts while the provider is unavailable, makes it available after two failed attempts, delivers. */
const startWhileUnavailable = (
  env: Servers,
  makeUnavailable: () => Promise<void>,
  makeAvailable: () => Promise<void>
) =>
  Effect.gen(function*() {
    const { broker, idp } = env
    yield* Effect.promise(makeUnavailable)
    yield* Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const failures = yield* countAuthFailures(sdk)
      const queued = yield* sendAll(sdk, 0, 20)
      const starting = yield* Effect.forkChild(sdk.start)
      yield* poll(Effect.map(Ref.get(failures), (n) => n >= 2), "20 seconds", "two failed attempts")
      assert.strictEqual(broker.connections.length, 0)
      assert.strictEqual(yield* sdk.queueSize, 20)
      yield* Effect.promise(makeAvailable)
      yield* Fiber.join(starting)
      const more = yield* sendAll(sdk, 20, 20)
      yield* until(() => broker.until(allArrived(broker, [...queued, ...more]), 10_000, "all arrived"))
      yield* sdk.stop()
    }).pipe(Effect.provide(sdkLayer(env, { startTimeout: "40 seconds" })), quiet)
    assert.strictEqual(idp.stats.logins, 1)
    assert.strictEqual(broker.recorded.duplicates(), 0)
  })

describe("OIDC faults", () => {
  it.live("a refused refresh token: the SDK logs in again, and keeps delivering", () =>
    Effect.gen(function*() {
      const env = yield* servers({ accessTokenLifetime: 3, refreshTokenLifetime: 10 })
      const { broker, idp } = env
      idp.refuseRefresh = true
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        yield* sdk.start
        const ids: Array<string> = []
        // Keep sending until two renewals had to fall back to a login, and the broker saw their tokens.
        while (idp.stats.logins < 3 || broker.connections.length < 3) {
          ids.push(...(yield* sendAll(sdk, ids.length, 20)))
          yield* Effect.sleep("50 millis")
        }
        yield* until(() => broker.until(allArrived(broker, ids), 10_000, "all arrived"))
        yield* sdk.stop()
      }).pipe(Effect.provide(sdkLayer(env)), quiet)
      assert.isAtLeast(idp.stats.refusedRefreshes, 2)
      assert.strictEqual(idp.stats.refreshes, 0)
      assert.isAtLeast(broker.connections.length, 3, "one connection per token")
      assert.strictEqual(broker.kicks(), 0)
      assert.strictEqual(broker.refusals.length, 0)
      assert.strictEqual(broker.recorded.duplicates(), 0)
    }))

  it.live("a refused login: start fails with AuthError naming realm and user; the queue is kept", () =>
    Effect.gen(function*() {
      const env = yield* servers()
      const { broker, idp } = env
      idp.refuseLogin = true
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        const queued = yield* sendAll(sdk, 0, 25)
        const failed = yield* Effect.result(sdk.start)
        assert.isTrue(Result.isFailure(failed))
        const error = (failed as Result.Failure<void, StellaNow.StartError>).failure
        assert.instanceOf(error, StellaNowError.AuthError)
        assert.strictEqual(error._tag, "AuthError")
        assert.strictEqual((error as StellaNowError.AuthError).reason, "Refused")
        assert.include(error.message, `realm "${realm}"`)
        assert.include(error.message, `user "${username}"`)
        assert.include(error.message, "HTTP 401: invalid_grant")
        assert.strictEqual(yield* sdk.queueSize, 25, "nothing queued is lost")
        assert.strictEqual((yield* sdk.connectionState)._tag, "Failed")
        assert.strictEqual(idp.stats.refusedLogins, 1, "a refused login is not retried")
        assert.strictEqual(broker.connections.length + broker.refusals.length, 0, "the broker was never tried")

        // The credentials are fixed on the provider's side: a later start sends what was kept.
        idp.refuseLogin = false
        yield* sdk.start
        yield* until(() => broker.until(allArrived(broker, queued), 10_000, "the kept messages arrived"))
        assert.strictEqual((yield* sdk.stop()).remaining, 0)
      }).pipe(Effect.provide(sdkLayer(env)), quiet)
    }))

  it.live("a token the broker refuses before its announced expiry: the SDK gets a new one and goes on", () =>
    Effect.gen(function*() {
      // The provider says 30 s, the tokens say 2 s (its clock is behind): the broker drops the client,
      // then refuses the token the SDK still believes good. Told so, the SDK refreshes.
      const env = yield* servers({ accessTokenLifetime: 2 })
      const { broker, idp } = env
      idp.announcedLifetime = 30
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        yield* sdk.start
        const ids: Array<string> = []
        while (broker.refusals.length < 1 || broker.connections.length < 2) {
          ids.push(...(yield* sendAll(sdk, ids.length, 10)))
          yield* Effect.sleep("50 millis")
        }
        ids.push(...(yield* sendAll(sdk, ids.length, 10)))
        yield* until(() => broker.until(allArrived(broker, ids), 10_000, "all arrived"))
        assert.notStrictEqual((yield* sdk.connectionState)._tag, "Failed")
        yield* sdk.stop()
      }).pipe(Effect.provide(sdkLayer(env)), quiet)
      // (The next token is just as short: another kick may come before the test ends.)
      assert.isAtLeast(broker.kicks(), 1)
      assert.strictEqual(broker.refusals[0]!.reasonCode, 134)
      assert.strictEqual(idp.stats.logins, 1)
      assert.isAtLeast(idp.stats.refreshes, 1, "the refused token was replaced by a refresh")
      // The broker cut the connection without waiting for in-flight PUBACKs: a few may arrive twice.
      console.log(`kicked by the broker: ${broker.recorded.duplicates()} duplicate(s)`)
    }))

  it.live("the token server is down at start: backoff, then success when it is back", () =>
    Effect.gen(function*() {
      const env = yield* servers()
      yield* startWhileUnavailable(env, () => env.idp.down(), () => env.idp.up())
    }))

  it.live("the token server answers 503 at start: backoff, then success", () =>
    Effect.gen(function*() {
      const env = yield* servers()
      yield* startWhileUnavailable(
        env,
        async () => {
          env.idp.unavailable = true
        },
        async () => {
          env.idp.unavailable = false
        }
      )
      assert.isAtLeast(env.idp.stats.unavailable, 2)
    }))
})
