import { assert, describe, it } from "@effect/vitest"
import { Metrics, QueueError, StellaNow, ValidationError } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect, Fiber, Metric, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"

const message = (i: number) => new UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })

const userIds = (envelopes: ReadonlyArray<{ readonly body: string }>) =>
  envelopes.map((e) => JSON.parse(JSON.parse(e.body).value.payload).user_id as string)

const untilPublished = (count: number) =>
  Effect.gen(function*() {
    const sink = yield* Testing.MemorySink
    while ((yield* sink.published).length < count) yield* Effect.yieldNow
    return yield* sink.published
  })

describe("StellaNow on the in-memory sink", () => {
  it.effect("queues messages sent before start and delivers them in FIFO order after it", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const ids = [] as Array<string>
      for (let i = 0; i < 5; i++) ids.push(yield* sdk.sendMessage(message(i)))
      assert.strictEqual(yield* sdk.queueSize, 5)
      yield* sdk.start
      const published = yield* untilPublished(5)
      assert.deepStrictEqual(published.map((e) => e.messageId), ids)
      assert.strictEqual(yield* sdk.queueSize, 0)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("delivers newest first with a LIFO queue", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      for (let i = 0; i < 5; i++) yield* sdk.sendMessage(message(i))
      yield* sdk.start
      const published = yield* untilPublished(5)
      assert.deepStrictEqual(userIds(published), ["user_4", "user_3", "user_2", "user_1", "user_0"])
    }).pipe(Effect.provide(Testing.layer({ queue: "lifo", maxInFlight: 1 }))))

  it.effect("rejects an invalid message with a ValidationError and keeps what is queued", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.sendMessage(message(0))
      const bad = Object.assign(Object.create(UserDetailsUpdateMessage.prototype), { user_id: "u" })
      const result = yield* Effect.result(sdk.sendMessage(bad))
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.instanceOf(result.failure, ValidationError)
        assert.strictEqual((result.failure as ValidationError).reason, "MissingEntity")
        assert.include(result.failure.message, "user_details_update")
      }
      assert.strictEqual(yield* sdk.queueSize, 1)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("refuses a message over 1 MiB by default with a ValidationError \"TooLarge\", naming both sizes", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const payload = "x".repeat(StellaNow.defaultMaxMessageBytes)
      const result = yield* Effect.result(
        sdk.sendMessage(new UserDetailsUpdateMessage({ patron: "p", user_id: payload }))
      )
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.instanceOf(result.failure, ValidationError)
        assert.strictEqual((result.failure as ValidationError).reason, "TooLarge")
        assert.include(result.failure.message, "maxMessageBytes option of 1,048,576 bytes")
        assert.notInclude(result.failure.message, "xxxx")
      }
      assert.strictEqual(yield* sdk.queueSize, 0)
      // Just under the limit once wrapped is fine.
      yield* sdk.sendMessage(new UserDetailsUpdateMessage({ patron: "p", user_id: payload.slice(1_000) }))
      assert.strictEqual(yield* sdk.queueSize, 1)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("maxMessageBytes bounds the whole PUBLISH packet: topic, header and envelope", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.sendMessage(message(0))
      yield* sdk.start
      const [envelope] = yield* untilPublished(1)
      // Fixed header (1 byte, and 2 of remaining length for a body of some 500 bytes), topic (2 + its
      // length), packet id (2), property length (1), body.
      assert.isAbove(envelope!.body.length, 128)
      const packet = 1 + 2 + 2 + envelope!.topic.length + 2 + 1 + envelope!.body.length
      assert.strictEqual(envelope!.byteLength, envelope!.body.length)
      const at = yield* Effect.provide(
        Effect.flatMap(StellaNow.StellaNow, (exact) => Effect.result(exact.sendMessage(message(0)))),
        Testing.layer({ maxMessageBytes: packet })
      )
      const under = yield* Effect.provide(
        Effect.flatMap(StellaNow.StellaNow, (exact) => Effect.result(exact.sendMessage(message(0)))),
        Testing.layer({ maxMessageBytes: packet - 1 })
      )
      assert.isTrue(Result.isSuccess(at))
      assert.isTrue(Result.isFailure(under) && under.failure._tag === "ValidationError")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("stamps the origin date from the Clock when the message has none", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2030-01-02T03:04:05.678Z"))
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.sendMessage(message(0))
      yield* sdk.start
      const [published] = yield* untilPublished(1)
      assert.strictEqual(JSON.parse(published!.body).value.metadata.messageOriginDateUTC, "2030-01-02T03:04:05.678000Z")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("puts a message whose publish was cut back in the queue and sends it again with the same id", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const sink = yield* Testing.MemorySink
      yield* sink.setDelay("1 second")
      yield* sdk.start
      const id = yield* sdk.sendMessage(message(0))
      // The publish is waiting for its (delayed) acknowledgement when the broker goes away.
      yield* TestClock.adjust("500 millis")
      yield* sink.setMode("down")
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* sink.published).length, 0)
      assert.strictEqual(yield* sdk.queueSize, 1)
      yield* sink.setDelay(0)
      yield* sink.setMode("up")
      const published = yield* untilPublished(1)
      assert.deepStrictEqual(published.map((e) => e.messageId), [id])
      assert.strictEqual(yield* sdk.queueSize, 0)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("sendMessageAndWait completes on the acknowledgement, and events report it", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const acks = yield* (yield* sdk.subscribe).pipe(
        Stream.filter((e) => e._tag === "Acknowledged"),
        Stream.take(1),
        Stream.runCollect,
        Effect.forkChild
      )
      yield* sdk.start
      const id = yield* sdk.sendMessageAndWait(message(1))
      const [ack] = yield* Fiber.join(acks)
      assert.deepStrictEqual(ack, StellaNow.Event.Acknowledged({ messageId: id, eventName: "user_details_update" }))
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("stop keeps queued messages; the next start sends them", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const sink = yield* Testing.MemorySink
      yield* sdk.start
      yield* sdk.sendMessage(message(0))
      yield* untilPublished(1)
      const result = yield* sdk.stop()
      assert.strictEqual(result.remaining, 0)
      yield* sdk.sendMessage(message(1))
      yield* sdk.sendMessage(message(2))
      assert.strictEqual((yield* sdk.stop()).remaining, 2)
      assert.strictEqual((yield* sink.published).length, 1)
      yield* sdk.start
      assert.deepStrictEqual(userIds(yield* untilPublished(3)), ["user_0", "user_1", "user_2"])
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("stop with a drain deadline flushes first, and reports what was left when the deadline passed", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const sink = yield* Testing.MemorySink
      yield* sdk.start
      for (let i = 0; i < 3; i++) yield* sdk.sendMessage(message(i))
      const flushed = yield* Effect.forkChild(sdk.stop({ drainTimeout: "1 minute" }))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(flushed)).remaining, 0)
      assert.strictEqual((yield* sink.published).length, 3)

      yield* sdk.start
      yield* sink.setMode("down")
      yield* sdk.sendMessage(message(3))
      const stuck = yield* Effect.forkChild(sdk.stop({ drainTimeout: "2 seconds" }))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual((yield* Fiber.join(stuck)).remaining, 1)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("start fails with the sink's fatal error when the credentials are refused, keeping the queue", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.sendMessage(message(0))
      const result = yield* Effect.result(sdk.start)
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) assert.strictEqual(result.failure._tag, "ConnectionError")
      assert.strictEqual(yield* sdk.queueSize, 1)
    }).pipe(Effect.provide(Testing.layer({ mode: "refuse" }))))

  it.effect("start times out while the broker is down, keeping the queue", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.sendMessage(message(0))
      const start = yield* Effect.forkChild(Effect.result(sdk.start))
      yield* TestClock.adjust("31 seconds")
      const result = yield* Fiber.join(start)
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure._tag, "LifecycleError")
        assert.include(result.failure.message, "1 message(s) stay queued")
      }
      assert.strictEqual(yield* sdk.queueSize, 1)
    }).pipe(Effect.provide(Testing.layer({ mode: "down" }))))
})

describe("overflow policies", () => {
  const fill = (count: number) =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const results = [] as Array<Result.Result<string, unknown>>
      for (let i = 0; i < count; i++) results.push(yield* Effect.result(sdk.sendMessage(message(i))))
      return { sdk, results }
    })

  it.effect("dropOldest keeps the newest messages and reports each drop", () =>
    Effect.gen(function*() {
      const { results, sdk } = yield* fill(8)
      assert.strictEqual(yield* sdk.queueSize, 5)
      assert.isTrue(results.every(Result.isSuccess))
      yield* sdk.start
      assert.deepStrictEqual(userIds(yield* untilPublished(5)), ["user_3", "user_4", "user_5", "user_6", "user_7"])
    }).pipe(Effect.provide(Testing.layer({ queueOptions: { capacity: 5, overflow: "dropOldest" } }))))

  it.effect("dropNewest keeps the oldest; a send whose message it dropped fails with a QueueError \"Dropped\"", () =>
    Effect.gen(function*() {
      const { results, sdk } = yield* fill(8)
      assert.isTrue(results.slice(0, 5).every(Result.isSuccess))
      for (const result of results.slice(5)) {
        assert.isTrue(
          Result.isFailure(result) && result.failure instanceof QueueError && result.failure.reason === "Dropped"
        )
      }
      assert.strictEqual(yield* sdk.queueSize, 5)
      yield* sdk.start
      assert.deepStrictEqual(userIds(yield* untilPublished(5)), ["user_0", "user_1", "user_2", "user_3", "user_4"])
    }).pipe(Effect.provide(Testing.layer({ queueOptions: { capacity: 5, overflow: "dropNewest" } }))))

  it.effect("fail refuses the new message with a QueueError \"Full\"", () =>
    Effect.gen(function*() {
      const { results, sdk } = yield* fill(8)
      assert.strictEqual(results.filter(Result.isFailure).length, 3)
      for (const result of results.slice(5)) {
        assert.isTrue(
          Result.isFailure(result) && result.failure instanceof QueueError && result.failure.reason === "Full"
        )
      }
      assert.strictEqual(yield* sdk.queueSize, 5)
    }).pipe(Effect.provide(Testing.layer({ queueOptions: { capacity: 5, overflow: "fail" } }))))

  it.effect("a sendMessageAndWait whose message is dropped fails with a QueueError \"Dropped\"", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const waiting = yield* Effect.forkChild(Effect.result(sdk.sendMessageAndWait(message(0))))
      yield* Effect.yieldNow
      yield* sdk.sendMessage(message(1))
      const result = yield* Fiber.join(waiting)
      assert.isTrue(
        Result.isFailure(result) && result.failure instanceof QueueError && result.failure.reason === "Dropped"
      )
    }).pipe(Effect.provide(Testing.layer({ queueOptions: { capacity: 1, overflow: "dropOldest" } }))))

  it.effect("counts drops exactly in the event stream", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const dropped = yield* (yield* sdk.subscribe).pipe(
        Stream.filter((e) => e._tag === "Dropped"),
        Stream.take(900),
        Stream.runCollect,
        Effect.forkChild
      )
      const ids = [] as Array<string>
      for (let i = 0; i < 1000; i++) ids.push(yield* sdk.sendMessage(message(i)))
      assert.strictEqual(yield* sdk.queueSize, 100)
      const events = yield* Fiber.join(dropped)
      assert.deepStrictEqual(events.map((e) => e._tag === "Dropped" ? e.messageId : ""), ids.slice(0, 900))
    }).pipe(Effect.provide(Testing.layer({ queueOptions: { capacity: 100 } }))))

  it.effect("a bad queue option is a ConfigurationError", () =>
    Effect.gen(function*() {
      const result = yield* Effect.result(
        Effect.provide(StellaNow.StellaNow, Testing.layer({ queueOptions: { capacity: -1 } }))
      )
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure._tag, "ConfigurationError")
        assert.include(result.failure.message, "capacity")
      }
    }))
})

describe("metrics", () => {
  const forSink = <A extends Metric.Metric<any, any>>(metric: A, ...tags: Array<[string, string]>): A =>
    Metric.withAttributes(metric, { client_id: "memory-sink", ...Object.fromEntries(tags) }) as A
  const count = (metric: Metric.Counter<number>, ...tags: Array<[string, string]>) =>
    Effect.map(Metric.value(forSink(metric, ...tags)), (state) => state.count)

  it.effect("count queued, acknowledged and dropped messages, and track the queue depth", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const [queued, acked, dropped] = [
        yield* count(Metrics.messagesQueued),
        yield* count(Metrics.messagesAcked),
        yield* count(Metrics.messagesDropped, ["policy", "dropOldest"])
      ]
      for (let i = 0; i < 5; i++) yield* sdk.sendMessage(message(i))
      assert.strictEqual((yield* Metric.value(forSink(Metrics.queueDepth))).value, 3)
      assert.strictEqual((yield* count(Metrics.messagesDropped, ["policy", "dropOldest"])) - dropped, 2)
      yield* sdk.start
      yield* untilPublished(3)
      while ((yield* count(Metrics.messagesAcked)) - acked < 3) yield* Effect.yieldNow
      assert.strictEqual((yield* count(Metrics.messagesQueued)) - queued, 5)
      assert.strictEqual((yield* Metric.value(forSink(Metrics.queueDepth))).value, 0)
      assert.strictEqual((yield* Metric.value(forSink(Metrics.queueBytes))).value, 0)
      const latency = yield* Metric.value(forSink(Metrics.ackLatency))
      assert.isAtLeast(latency.count, 3)
    }).pipe(Effect.provide(Testing.layer({ queueOptions: { capacity: 3 } }))))
})
