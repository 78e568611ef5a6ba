/**
 * The in-memory queue's bounds: a count and a byte budget, whichever is reached first, under each
 * overflow policy. What it holds is read back by taking everything: the count and the bytes it keeps
 * are asserted, not the heap.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Envelope, MessageQueue, QueueError } from "@stellanow/sdk"
import { Effect, Result } from "effect"

const MiB = 1024 * 1024

/** An envelope whose body is `bytes` long in UTF-8; `byteLength` left out, so the queue measures it. */
const envelope = (i: number, bytes: number): Envelope.Envelope => ({
  messageId: `m${i}`,
  topic: "in/org",
  eventName: "test",
  body: "x".repeat(bytes)
})

const bytesOf = (envelopes: ReadonlyArray<Envelope.Envelope>) =>
  envelopes.reduce((sum, e) => sum + new TextEncoder().encode(e.body).length, 0)

/** Everything the queue holds, taken (so its bytes can be summed), in queue order. */
const contents = (queue: MessageQueue.Service) =>
  Effect.gen(function*() {
    const size = yield* queue.size
    return size === 0 ? [] : (yield* queue.take(size)).map((lease) => lease.envelope)
  })

describe("the in-memory queue's byte budget", () => {
  const budget = 8 * MiB
  for (const overflow of ["dropOldest", "dropNewest", "fail"] as const) {
    it.effect(`${overflow}: 300 messages of 1 MiB (and a little) into 8 MiB keep 7, within the budget`, () =>
      Effect.gen(function*() {
        const queue = yield* MessageQueue.makeMemory("fifo", { capacityBytes: budget, overflow })
        // Made one at a time, so that the test holds no more than the queue does.
        const offered = Array.from({ length: 300 }, (_, i) => `m${i}`)
        const dropped: Array<string> = []
        let refused = 0
        for (let i = 0; i < offered.length; i++) {
          const result = yield* Effect.result(queue.offer(envelope(i, MiB + 500)))
          if (Result.isSuccess(result)) dropped.push(...result.success.map((gone) => gone.messageId))
          else if (result.failure instanceof QueueError && result.failure.reason === "Full") refused++
        }
        assert.strictEqual(yield* queue.size, 7)
        const held = yield* contents(queue)
        assert.isAtMost(bytesOf(held), budget)
        const kept = overflow === "dropOldest" ? offered.slice(-7) : offered.slice(0, 7)
        assert.deepStrictEqual(held.map((e) => e.messageId), kept)
        assert.strictEqual(dropped.length, overflow === "fail" ? 0 : 293)
        assert.strictEqual(refused, overflow === "fail" ? 293 : 0)
        if (overflow === "dropNewest") assert.deepStrictEqual(dropped, offered.slice(7))
        if (overflow === "dropOldest") assert.deepStrictEqual(dropped, offered.slice(0, 293))
      }))
  }

  it.effect("dropOldest drops as many small messages as a big one needs, oldest first", () =>
    Effect.gen(function*() {
      const queue = yield* MessageQueue.makeMemory("fifo", { capacityBytes: 10_000, overflow: "dropOldest" })
      for (let i = 0; i < 10; i++) assert.deepStrictEqual(yield* queue.offer(envelope(i, 1_000)), [])
      const dropped = yield* queue.offer(envelope(10, 3_500))
      assert.deepStrictEqual(dropped.map((e) => e.messageId), ["m0", "m1", "m2", "m3"])
      const held = yield* contents(queue)
      assert.deepStrictEqual(held.map((e) => e.messageId), ["m4", "m5", "m6", "m7", "m8", "m9", "m10"])
      assert.strictEqual(bytesOf(held), 9_500)
    }))

  it.effect("a message over the whole budget is dropped itself, and the queue keeps what it had", () =>
    Effect.gen(function*() {
      const queue = yield* MessageQueue.makeMemory("fifo", { capacityBytes: 10_000, overflow: "dropOldest" })
      for (let i = 0; i < 3; i++) yield* queue.offer(envelope(i, 1_000))
      const big = envelope(3, 10_001)
      assert.deepStrictEqual(yield* queue.offer(big), [big])
      assert.deepStrictEqual((yield* contents(queue)).map((e) => e.messageId), ["m0", "m1", "m2"])
    }))

  it.effect("messages being sent count: when they leave no room, nothing waiting is dropped but the new one", () =>
    Effect.gen(function*() {
      const queue = yield* MessageQueue.makeMemory("fifo", { capacityBytes: 10_000, overflow: "dropOldest" })
      for (let i = 0; i < 4; i++) yield* queue.offer(envelope(i, 2_000))
      const taken = yield* queue.take(3)
      const big = envelope(4, 5_000)
      assert.deepStrictEqual(yield* queue.offer(big), [big])
      // The waiting message is still there, in its place, after those being sent.
      for (const lease of taken) yield* queue.nack(lease)
      assert.deepStrictEqual((yield* contents(queue)).map((e) => e.messageId), ["m0", "m1", "m2", "m3"])
    }))

  it.effect("acknowledged messages free their bytes; given-back ones keep them", () =>
    Effect.gen(function*() {
      const queue = yield* MessageQueue.makeMemory("fifo", { capacityBytes: 3_000, overflow: "fail" })
      for (let i = 0; i < 3; i++) yield* queue.offer(envelope(i, 1_000))
      const [first, second] = yield* queue.take(2)
      yield* queue.nack(second!)
      assert.isTrue(Result.isFailure(yield* Effect.result(queue.offer(envelope(3, 1_000)))))
      yield* queue.ack(first!)
      // Acknowledging again frees nothing more.
      yield* queue.ack(first!)
      assert.deepStrictEqual(yield* queue.offer(envelope(3, 1_000)), [])
      const refused = yield* Effect.flip(queue.offer(envelope(4, 1)))
      assert.strictEqual(refused.reason, "Full")
      assert.include(refused.message, "3000 of its 3000 bytes in use")
    }))

  it.effect("counts UTF-8 bytes, not characters", () =>
    Effect.gen(function*() {
      const queue = yield* MessageQueue.makeMemory("fifo", { capacityBytes: 100, overflow: "fail" })
      // 30 characters, 90 bytes.
      yield* queue.offer({ messageId: "a", topic: "t", eventName: "e", body: "日".repeat(30) })
      assert.isTrue(Result.isFailure(yield* Effect.result(queue.offer(envelope(1, 20)))))
      yield* queue.offer(envelope(2, 10))
      assert.strictEqual(yield* queue.size, 2)
    }))

  it.effect("the byte budget must be a whole number of at least 1", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(MessageQueue.makeMemory("fifo", { capacityBytes: 0 }))
      assert.strictEqual(error.reason, "InvalidOption")
      assert.include(error.message, "capacityBytes")
    }))
})
