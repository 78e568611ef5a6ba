/**
 * Closing the SDK on the in-memory sink: what is queued is sent up to the deadline, what is left is
 * reported, and the deadline holds with the broker away. Time is `TestClock`'s.
 */
import { assert, describe, it } from "@effect/vitest"
import { MessageQueue, StellaNow, StellaNowSDK } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Context, Effect, Exit, Fiber, Layer, Logger, Scope } from "effect"
import { TestClock } from "effect/testing"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"

const message = (i: number) => new UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })

/** Runs `body` with the warnings logged meanwhile, the layer's finalizer's included. */
const withWarnings = <A, E, R>(body: (warnings: ReadonlyArray<string>) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).join(" "))
    })
    return Effect.provide(body(warnings), Logger.layer([capture]))
  })

/** Builds the SDK in a scope of its own, to close it as the test says. */
const buildIn = (layer: Layer.Layer<StellaNow.StellaNow | Testing.MemorySink, unknown>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope).pipe(Effect.orDie)
    return { scope, sdk: Context.get(context, StellaNow.StellaNow), sink: Context.get(context, Testing.MemorySink) }
  })

/** Whether the fiber has ended, after letting every fiber that can run do so. */
const ended = (fiber: Fiber.Fiber<unknown, unknown>) =>
  Effect.andThen(
    Effect.repeat(Effect.yieldNowWith(1), { times: 50 }),
    Effect.sync(() => fiber.pollUnsafe() !== undefined)
  )

describe("closing the SDK", () => {
  it.effect("closing the scope sends what is queued, with no clock needed while the broker is up", () =>
    withWarnings((warnings) =>
      Effect.gen(function*() {
        const { scope, sdk, sink } = yield* buildIn(Testing.layer())
        yield* sdk.start
        const ids: Array<string> = []
        for (let i = 0; i < 50; i++) ids.push(yield* sdk.sendMessage(message(i)))
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual((yield* sink.published).map((e) => e.messageId), ids)
        assert.deepStrictEqual(warnings, [])
      })
    ))

  it.effect("close reports what it left when the broker is away, once the deadline passed", () =>
    withWarnings((warnings) =>
      Effect.gen(function*() {
        const { scope, sdk, sink } = yield* buildIn(Testing.layer())
        yield* sdk.start
        yield* sink.setMode("down")
        for (let i = 0; i < 3; i++) yield* sdk.sendMessage(message(i))
        const closing = yield* Effect.forkChild(sdk.close())
        yield* TestClock.adjust("4900 millis")
        assert.isFalse(yield* ended(closing))
        yield* TestClock.adjust("100 millis")
        assert.deepStrictEqual(yield* Fiber.join(closing), { remaining: 3 })
        assert.strictEqual(warnings.length, 1)
        assert.include(warnings[0], "closed with 3 message(s) not sent within 5s")
        assert.include(warnings[0], "lost with the in-memory queue")
        // The scope closes at once after that, and does not warn twice.
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(warnings.length, 1)
      })
    ))

  it.effect("closing the scope is bounded by closeTimeout when the broker is away", () =>
    withWarnings((warnings) =>
      Effect.gen(function*() {
        const { scope, sdk, sink } = yield* buildIn(Testing.layer({ closeTimeout: "2 seconds" }))
        yield* sdk.start
        yield* sink.setMode("down")
        yield* sdk.sendMessage(message(0))
        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
        yield* TestClock.adjust("1900 millis")
        assert.isFalse(yield* ended(closing))
        yield* TestClock.adjust("100 millis")
        yield* Fiber.join(closing)
        assert.strictEqual(warnings.length, 1)
        assert.include(warnings[0], "closed with 1 message(s) not sent within 2s")
      })
    ))

  it.effect("a publish the broker never answers holds closing up only for stopGracePeriod", () =>
    Effect.gen(function*() {
      const { scope, sdk, sink } = yield* buildIn(Testing.layer({ closeTimeout: "1 second" }))
      yield* sink.setDelay("1 hour")
      yield* sdk.start
      yield* sdk.sendMessage(message(0))
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      // 1 s of close timeout, then 5 s of grace for the publish in flight.
      yield* TestClock.adjust("5900 millis")
      assert.isFalse(yield* ended(closing))
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(closing)
    }))

  it.effect("a timeout of 0 stops at once and reports what is queued", () =>
    withWarnings((warnings) =>
      Effect.gen(function*() {
        const { sdk, sink } = yield* buildIn(Testing.layer())
        yield* sdk.start
        yield* sink.setMode("down")
        for (let i = 0; i < 4; i++) yield* sdk.sendMessage(message(i))
        // No clock is moved: closing must not wait for anything.
        assert.deepStrictEqual(yield* sdk.close({ timeout: 0 }), { remaining: 4 })
        assert.strictEqual(warnings.length, 1)
        assert.include(warnings[0], "close timeout 0")
        assert.include(warnings[0], "4 message(s) were not sent")
      })
    ))

  it.effect("closeTimeout 0 makes closing the scope skip the flush", () =>
    Effect.gen(function*() {
      const { scope, sdk, sink } = yield* buildIn(Testing.layer({ closeTimeout: 0 }))
      yield* sdk.start
      yield* sink.setMode("down")
      yield* sdk.sendMessage(message(0))
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* sink.published, [])
    }))

  it.effect("an SDK never started is not connected to send what is queued; the loss is reported", () =>
    withWarnings((warnings) =>
      Effect.gen(function*() {
        const { scope, sdk, sink } = yield* buildIn(Testing.layer())
        yield* sdk.sendMessage(message(0))
        yield* sdk.sendMessage(message(1))
        assert.deepStrictEqual(yield* sdk.close(), { remaining: 2 })
        // The in-memory broker is up: had the SDK connected, both would have gone out.
        assert.deepStrictEqual(yield* sink.published, [])
        assert.strictEqual((yield* sdk.connectionState)._tag, "Idle")
        assert.deepStrictEqual(warnings, [
          "closed before start: 2 queued message(s) were not sent; they are lost with the in-memory queue"
        ])
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(warnings.length, 1)
      })
    ))

  it.effect("a persistent queue keeps what closing left, and the warning says so", () =>
    withWarnings((warnings) =>
      Effect.gen(function*() {
        const persistent = Layer.effect(
          MessageQueue.MessageQueue,
          Effect.map(MessageQueue.makeMemory("fifo"), (queue) => ({ ...queue, persistent: true }))
        )
        const layer = StellaNow.layer({
          project: {
            organizationId: "00000000-0000-4000-8000-000000000001",
            projectId: "00000000-0000-4000-8000-000000000002"
          }
        }).pipe(Layer.provideMerge(Layer.merge(Testing.layerMemorySink(), persistent)))
        const { scope, sdk } = yield* buildIn(layer)
        yield* sdk.sendMessage(message(0))
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(warnings, [
          "closed before start: 1 queued message(s) were not sent; they stay in the persistent queue for the next start"
        ])
      })
    ))

  it.effect("the SDK can start again after close, and the next close reports afresh", () =>
    withWarnings((warnings) =>
      Effect.gen(function*() {
        const { sdk, sink } = yield* buildIn(Testing.layer())
        yield* sdk.sendMessage(message(0))
        yield* sdk.close()
        yield* sdk.sendMessage(message(1))
        yield* sdk.close()
        assert.strictEqual(warnings.length, 2)
        yield* sdk.start
        assert.deepStrictEqual(yield* sdk.close(), { remaining: 0 })
        assert.strictEqual((yield* sink.published).length, 2)
      })
    ))

  it.effect("a bad closeTimeout is a ConfigurationError naming it", () =>
    Effect.gen(function*() {
      const result = yield* Effect.flip(Effect.provide(StellaNow.StellaNow, Testing.layer({ closeTimeout: -1 })))
      assert.strictEqual(result._tag, "ConfigurationError")
      assert.include(result.message, "closeTimeout")
    }))
})

describe("closing the Promise front door", () => {
  const recorder = () => {
    const warnings: Array<string> = []
    const ignore = () => {}
    return {
      warnings,
      logger: { debug: ignore, info: ignore, warn: (text: string) => void warnings.push(text), error: ignore }
    }
  }

  it.live("close() resolves with what it left, warns once, and a second close gives the same answer", () =>
    Effect.promise(async () => {
      const { logger, warnings } = recorder()
      const sdk = new StellaNowSDK(Testing.layer({ mode: "down" }), { logger })
      await sdk.sendMessage(message(0))
      const first = await sdk.close({ timeoutMs: 0 })
      assert.deepStrictEqual(first, { remaining: 1 })
      assert.deepStrictEqual(await sdk.close(), first)
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0], "closed before start: 1 queued message(s) were not sent")
    }))

  it.live("close() of a front door never used builds nothing and leaves nothing", () =>
    Effect.promise(async () => {
      let built = 0
      const layer = Layer.effectDiscard(Effect.sync(() => void built++)).pipe(Layer.provideMerge(Testing.layer()))
      const sdk = new StellaNowSDK(layer, { logLevel: "none" })
      assert.deepStrictEqual(await sdk.close(), { remaining: 0 })
      assert.strictEqual(built, 0)
    }))

  it.live("close() after a layer that failed to build leaves nothing", () =>
    Effect.promise(async () => {
      const sdk = new StellaNowSDK(Testing.layer({ queueOptions: { capacity: -1 } }), { logLevel: "none" })
      let failed = false
      await sdk.queueSize().catch(() => void (failed = true))
      assert.isTrue(failed)
      assert.deepStrictEqual(await sdk.close(), { remaining: 0 })
    }))
})
