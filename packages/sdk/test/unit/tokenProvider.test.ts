/**
 * The token provider auth's logic under `TestClock`: when it asks the app's provider, what it hands
 * the sink, how it retries and what its errors say. The provider is a scripted function that counts
 * its calls; time only moves by `TestClock.adjust`, nothing sleeps.
 */
import { assert, describe, it } from "@effect/vitest"
import { Auth, StellaNowError } from "@stellanow/sdk"
import { Clock, Duration, Effect, Exit, Fiber, Redacted, Schedule } from "effect"
import { TestClock } from "effect/testing"

type Mode = "ok" | "cached" | "reject" | "throw" | "hang" | "garbage" | "expired" | "refused"

/** A scripted provider: 300 s tokens numbered from 1 by default, every call recorded. */
const makeProvider = () => {
  const app = {
    mode: "ok" as Mode,
    lifetime: 300_000,
    issued: 0,
    last: undefined as Auth.AccessToken | undefined,
    calls: [] as Array<{ readonly reason: Auth.TokenRequest["reason"]; readonly signal: AbortSignal }>,
    provider: ((request) =>
      Effect.gen(function*() {
        app.calls.push(request)
        const now = yield* Clock.currentTimeMillis
        switch (app.mode) {
          case "reject":
            return yield* Effect.promise(() => Promise.reject(new Error("backend answered HTTP 502")))
          case "throw":
            throw new Error("not logged in yet")
          case "hang":
            return yield* Effect.never
          case "garbage":
            return { token: "secret-token-in-the-wrong-field" } as unknown as Auth.AccessToken
          case "expired":
            return { accessToken: "stale-secret", expiresAt: now - 5_000 }
          case "refused":
            return yield* new StellaNowError.AuthError({ reason: "Refused", detail: "the user logged out" })
          case "cached":
            if (app.last !== undefined) return app.last
        }
        app.issued++
        app.last = { accessToken: `token-${app.issued}`, expiresAt: new Date(now + app.lifetime) }
        return app.last
      })) as Auth.TokenProvider
  }
  return app
}

/** The provider and the auth service over it, in the test's scope. */
const setup = (options: Auth.TokenProviderOptions = {}) =>
  Effect.gen(function*() {
    const app = makeProvider()
    const auth = yield* Auth.makeTokenProvider(app.provider, options)
    return { app, auth }
  })

/** Lets forked fibers run (the provider answers without time passing). */
const settle = Effect.repeat(Effect.yieldNow, { times: 50 })

const tokenOf = (credentials: Auth.Credentials) => Redacted.value(credentials.username!)

// 300 s tokens, default 10 s skew and 60 s refresh margin: used for 289 s, refreshed at 229 s.
const usable300 = 300_000 - 1_000 - 10_000
const refresh300 = usable300 - 60_000

const failureOf = <A>(exit: Exit.Exit<A, StellaNowError.AuthError>): StellaNowError.AuthError => {
  assert.isTrue(Exit.isFailure(exit))
  const error = (exit as Exit.Failure<A, StellaNowError.AuthError>).cause.reasons[0]
  assert.strictEqual(error?._tag, "Fail")
  return (error as { readonly error: StellaNowError.AuthError }).error
}

describe("Auth.layerTokenProvider (TestClock)", () => {
  it.effect("asks the provider on the first credentials, and hands out its token with the expiry less margins", () =>
    Effect.gen(function*() {
      const { app, auth } = yield* setup()
      yield* settle
      assert.strictEqual(app.calls.length, 0, "building the service asks nothing")
      const start = yield* Clock.currentTimeMillis
      const first = yield* auth.credentials
      assert.strictEqual(tokenOf(first), "token-1", "the token goes into CONNECT as the username")
      assert.isUndefined(first.password)
      assert.strictEqual(first.expiresAt, start + usable300)
      assert.deepStrictEqual(app.calls.map((c) => c.reason), ["first"])
      assert.strictEqual(auth.mode, "token-provider")

      yield* TestClock.adjust(Duration.millis(refresh300 - 1))
      assert.strictEqual(tokenOf(yield* auth.credentials), "token-1")
      assert.strictEqual(app.calls.length, 1)
    }))

  it.effect("asks again ahead of expiry, exactly at the refresh time, while the token is used", () =>
    Effect.gen(function*() {
      const { app, auth } = yield* setup()
      const first = yield* auth.credentials
      yield* TestClock.adjust(Duration.millis(refresh300 - 1))
      yield* settle
      assert.strictEqual(app.calls.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.deepStrictEqual(app.calls.map((c) => c.reason), ["first", "refresh"])
      const now = yield* Clock.currentTimeMillis
      const next = yield* auth.credentials
      assert.strictEqual(tokenOf(next), "token-2")
      assert.strictEqual(next.expiresAt, now + usable300)
      assert.strictEqual(first.expiresAt! - now, 60_000, "a minute before the old token stops being used")
      for (let i = 3; i <= 5; i++) {
        yield* TestClock.adjust(Duration.millis(refresh300))
        yield* settle
        assert.strictEqual(tokenOf(yield* auth.credentials), `token-${i}`)
      }
    }))

  it.effect("a provider that hands back its cached token is asked less and less often, never in a loop", () =>
    Effect.gen(function*() {
      const { app, auth } = yield* setup()
      app.mode = "cached"
      yield* auth.credentials
      // Second by second to the token's expiry, using the token all along.
      for (let second = 0; second < 300; second++) {
        yield* TestClock.adjust("1 second")
        yield* settle
        yield* Effect.ignore(auth.credentials)
      }
      assert.strictEqual(app.issued, 1)
      assert.isAtLeast(app.calls.length, 3, "asked again ahead of expiry")
      assert.isAtMost(app.calls.length, 20, "each time in about half the time the token has left")
    }))

  it.effect("a token the broker refused is not handed out again: the provider is asked, reason rejected", () =>
    Effect.gen(function*() {
      const { app, auth } = yield* setup()
      const first = yield* auth.credentials
      yield* auth.rejected!(first)
      const next = yield* auth.credentials
      assert.strictEqual(tokenOf(next), "token-2")
      assert.deepStrictEqual(app.calls.map((c) => c.reason), ["first", "rejected"])
    }))

  it.effect("a failing provider is ProviderFailed, retried on the schedule while the token in hand lasts", () =>
    Effect.gen(function*() {
      const { app, auth } = yield* setup({ retrySchedule: Schedule.spaced("10 seconds") })
      yield* auth.credentials
      app.mode = "reject"
      yield* TestClock.adjust(Duration.millis(refresh300))
      yield* settle
      assert.strictEqual(app.calls.length, 2)
      // Meanwhile the token in hand is still handed out: it has a minute to go.
      assert.strictEqual(tokenOf(yield* auth.credentials), "token-1")
      const before = app.calls.length
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.isAbove(app.calls.length, before, "retried after the schedule's delay")
      app.mode = "ok"
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.strictEqual(tokenOf(yield* auth.credentials), "token-2")
    }))

  it.effect("errors: a rejection, a throw, a timeout, a bad answer, an expired token", () =>
    Effect.gen(function*() {
      const { app, auth } = yield* setup()
      app.mode = "reject"
      const rejected = failureOf(yield* Effect.exit(auth.credentials))
      assert.strictEqual(rejected.reason, "ProviderFailed")
      assert.isTrue(rejected.isTransient)
      assert.strictEqual(rejected.message, "the token provider failed: backend answered HTTP 502")

      app.mode = "throw"
      assert.strictEqual(
        failureOf(yield* Effect.exit(auth.credentials)).message,
        "the token provider failed: not logged in yet"
      )

      app.mode = "hang"
      const hanging = yield* Effect.forkChild(Effect.exit(auth.credentials))
      yield* settle
      const signal = app.calls.at(-1)!.signal
      assert.isFalse(signal.aborted)
      yield* TestClock.adjust("10 seconds")
      const timedOut = failureOf(yield* Fiber.join(hanging))
      assert.strictEqual(timedOut.reason, "ProviderFailed")
      assert.strictEqual(timedOut.message, "the token provider did not answer within 10s")
      assert.isTrue(signal.aborted, "the provider's signal is aborted when the SDK stops waiting")

      app.mode = "garbage"
      const garbage = failureOf(yield* Effect.exit(auth.credentials))
      assert.strictEqual(garbage.reason, "InvalidResponse")
      assert.strictEqual(garbage.message, "the token provider returned no accessToken (a non-empty string)")

      app.mode = "expired"
      const expired = failureOf(yield* Effect.exit(auth.credentials))
      assert.strictEqual(expired.reason, "InvalidResponse")
      assert.include(expired.message, "expired 5 s ago")
      assert.notInclude(expired.message, "stale-secret")
    }))

  it.effect("a provider failing with AuthError Refused (the user logged out) is not transient", () =>
    Effect.gen(function*() {
      const { app, auth } = yield* setup()
      app.mode = "refused"
      const error = failureOf(yield* Effect.exit(auth.credentials))
      assert.strictEqual(error.reason, "Refused")
      assert.isFalse(error.isTransient)
    }))

  it.effect("a Promise provider, with epoch milliseconds and a Redacted token", () =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const auth = yield* Auth.makeTokenProvider(async () => ({
        accessToken: Redacted.make("promised"),
        expiresAt: now + 120_000
      }))
      const credentials = yield* auth.credentials
      assert.strictEqual(tokenOf(credentials), "promised")
      // 120 s less 1 s rounding and the skew (at most a tenth of the lifetime: 10 s).
      assert.strictEqual(credentials.expiresAt, now + 120_000 - 1_000 - 10_000)
    }))

  it.effect("a provider that is not a function, or a bad timing option, is a ConfigurationError", () =>
    Effect.gen(function*() {
      const notAFunction = yield* Effect.exit(Auth.makeTokenProvider("token" as unknown as Auth.TokenProvider))
      assert.isTrue(Exit.isFailure(notAFunction))
      assert.include(String(Exit.isFailure(notAFunction) && notAFunction.cause), "must be a function")
      const badTiming = yield* Effect.exit(Auth.makeTokenProvider(async () => ({ accessToken: "t", expiresAt: 1 }), {
        refreshBeforeExpiry: -5
      }))
      assert.isTrue(Exit.isFailure(badTiming))
    }))
})
