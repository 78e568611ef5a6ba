/**
 * A queue whose store fails (a persistent queue's database down): the drain retries taking with the
 * SDK's backoff and warns once per outage, retries acknowledgements, leaves a give-back it could not
 * record to the store; `queueSize` fails typed, and `stop` and `close` complete, reporting their own
 * count and the store's error. Over an in-memory queue whose operations fail while the test says so.
 * Time is `TestClock`'s.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Envelope, MessageQueue, QueueError, StellaNow, StellaNowError, StoreError } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Context, Effect, Exit, Fiber, Layer, Logger, Scope } from "effect"
import { TestClock } from "effect/testing"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"
import { manualSink, settleFibers, startDrain } from "../support/ManualDrain.js"

const envelope = (i: number): Envelope.Envelope => ({
  messageId: `m${i}`,
  topic: "in/test",
  eventName: "test",
  body: `{"i":${i}}`
})

const storeDown = new QueueError({
  reason: "StoreFailed",
  detail: "test store: the server cannot be reached",
  cause: new StoreError({ reason: "Unreachable", store: "test store", detail: "the server cannot be reached" })
})

type Operation = "take" | "ack" | "nack" | "size"

/** An in-memory queue whose operations fail with `storeDown` while `down` has them; attempts counted. */
const failingQueue = Effect.gen(function*() {
  const memory = yield* MessageQueue.makeMemory("fifo")
  const down = new Set<Operation>()
  const attempts: Record<Operation, number> = { take: 0, ack: 0, nack: 0, size: 0 }
  const guarded = <A>(operation: Operation, effect: Effect.Effect<A, QueueError>) =>
    Effect.suspend(() => {
      attempts[operation]++
      return down.has(operation) ? Effect.fail(storeDown) : effect
    })
  const queue: MessageQueue.Service = {
    ...memory,
    persistent: true,
    take: (max) => guarded("take", memory.take(max)),
    ack: (lease) => guarded("ack", memory.ack(lease)),
    nack: (lease) => guarded("nack", memory.nack(lease)),
    size: guarded("size", memory.size)
  }
  return { queue, memory, down, attempts }
})

/** Runs `body` with the warnings and infos logged meanwhile, in any fiber. */
const withLogs = <A, E, R>(body: (logs: ReadonlyArray<string>) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const logs: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn" || logLevel === "Info") {
        logs.push(`${logLevel}: ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
      }
    })
    return Effect.provide(body(logs), Logger.layer([capture]))
  })

const matching = (logs: ReadonlyArray<string>, pattern: RegExp) => logs.filter((line) => pattern.test(line))

describe("the drain over a store that fails", () => {
  it.effect("a failing take is retried with backoff, warned about once per outage, and sending resumes", () =>
    withLogs((logs) =>
      Effect.gen(function*() {
        const { sink, published } = yield* manualSink
        const { attempts, down, queue } = yield* failingQueue
        yield* queue.offer(envelope(1))
        yield* queue.offer(envelope(2))
        down.add("take")
        yield* startDrain(queue, sink)
        yield* settleFibers
        assert.strictEqual(attempts.take, 1)
        yield* TestClock.adjust("2 minutes")
        assert.isAbove(attempts.take, 5, "retried meanwhile")
        assert.isBelow(attempts.take, 30, "with backoff, not in a loop")
        assert.deepStrictEqual(published, [])
        assert.strictEqual(matching(logs, /^Warn: cannot take from the queue/).length, 1)
        assert.include(matching(logs, /^Warn/)[0], "the server cannot be reached")
        down.delete("take")
        yield* TestClock.adjust("1 minute")
        yield* settleFibers
        assert.deepStrictEqual(published, ["m1", "m2"])
        assert.strictEqual(matching(logs, /^Info: the queue's store is back/).length, 1)
        // A second outage is warned about again.
        down.add("take")
        yield* queue.offer(envelope(3))
        yield* settleFibers
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(matching(logs, /^Warn: cannot take from the queue/).length, 2)
      })
    ))

  it.effect("an acknowledgement the store cannot record counts as acknowledged and is retried until it is", () =>
    withLogs((logs) =>
      Effect.gen(function*() {
        const { reported, sink } = yield* manualSink
        const { attempts, down, memory, queue } = yield* failingQueue
        yield* queue.offer(envelope(1))
        down.add("ack")
        const acknowledged: Array<string> = []
        yield* startDrain(queue, sink, acknowledged)
        yield* settleFibers
        reported.get("m1")!(Exit.void)
        yield* settleFibers
        assert.deepStrictEqual(acknowledged, ["m1"], "the broker acknowledged it: its waiter and events go on")
        assert.strictEqual(yield* memory.size, 1, "still stored: at worst delivered again")
        assert.strictEqual(matching(logs, /^Warn: cannot record the acknowledgement of message m1/).length, 1)
        yield* TestClock.adjust("10 seconds")
        assert.isAbove(attempts.ack, 2)
        assert.strictEqual(yield* memory.size, 1)
        down.delete("ack")
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(yield* memory.size, 0, "recorded once the store is back")
      })
    ))

  it.effect("a give-back the store cannot record is left to the store, and the drain goes on", () =>
    withLogs((logs) =>
      Effect.gen(function*() {
        const { published, reported, sink } = yield* manualSink
        const { down, queue } = yield* failingQueue
        yield* queue.offer(envelope(1))
        down.add("nack")
        const acknowledged: Array<string> = []
        yield* startDrain(queue, sink, acknowledged)
        yield* settleFibers
        reported.get("m1")!(Exit.fail(
          new StellaNowError.PublishError({ reason: "ConnectionLost", messageId: "m1", detail: "the test dropped it" })
        ))
        yield* settleFibers
        assert.strictEqual(matching(logs, /^Warn: cannot give message m1 back to the queue/).length, 1)
        yield* queue.offer(envelope(2))
        yield* settleFibers
        reported.get("m2")!(Exit.void)
        yield* settleFibers
        assert.deepStrictEqual(published, ["m1", "m2"])
        assert.deepStrictEqual(acknowledged, ["m2"])
      })
    ))
})

describe("the SDK over a store that fails", () => {
  const build = Effect.gen(function*() {
    const failing = yield* failingQueue
    const scope = yield* Scope.make()
    const layer = StellaNow.layer({
      project: { organizationId: "org", projectId: "project" }
    }).pipe(
      Layer.provide(Layer.succeed(MessageQueue.MessageQueue, failing.queue)),
      Layer.provide(Testing.layerMemorySink())
    )
    const context = yield* Layer.buildWithScope(layer, scope).pipe(Effect.orDie)
    return { ...failing, scope, sdk: Context.get(context, StellaNow.StellaNow) }
  })
  const message = (i: number) => new UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })

  it.effect("queueSize fails with the typed QueueError, not a defect", () =>
    Effect.gen(function*() {
      const { down, sdk } = yield* build
      yield* sdk.sendMessage(message(1))
      down.add("size")
      const exit = yield* Effect.exit(sdk.queueSize)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(sdk.queueSize)
      assert.instanceOf(error, QueueError)
      assert.strictEqual(error.reason, "StoreFailed")
      assert.instanceOf(error.cause, StoreError)
      // Caught by its tag, as any typed error.
      assert.strictEqual(yield* Effect.catchTag(sdk.queueSize, "QueueError", () => Effect.succeed(-1)), -1)
    }))

  it.effect("stop and close complete while the store is down, reporting their own count and the store's error", () =>
    withLogs((logs) =>
      Effect.gen(function*() {
        const { down, scope, sdk } = yield* build
        yield* sdk.sendMessage(message(1))
        yield* sdk.sendMessage(message(2))
        down.add("take")
        down.add("size")
        yield* sdk.start
        const stopped = yield* sdk.stop({ drainTimeout: "1 second" }).pipe(Effect.forkChild)
        yield* TestClock.adjust("1 second")
        const result = yield* Fiber.join(stopped)
        assert.strictEqual(result.remaining, 2)
        assert.strictEqual(result.storeError?.reason, "StoreFailed")
        const closing = yield* sdk.close({ timeout: "2 seconds" }).pipe(Effect.forkChild)
        yield* TestClock.adjust("2 seconds")
        const closed = yield* Fiber.join(closing)
        assert.strictEqual(closed.remaining, 2)
        assert.instanceOf(closed.storeError?.cause, StoreError)
        assert.isAbove(matching(logs, /^Warn: stopped without the queue's count/).length, 0)
        yield* Scope.close(scope, Exit.void)
      })
    ))
})
