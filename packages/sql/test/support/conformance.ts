/**
 * One suite for every `MessageQueue`: the in-memory FIFO and LIFO queues of the SDK and the persistent
 * ones. Each test gets a fresh store; `persistent` queues are also reopened on the same store.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ConfigurationError, Envelope, StoreError } from "@stellanow/sdk"
import { MessageQueue } from "@stellanow/sdk"
import { Cause, Effect, Exit, Fiber, type Layer, Option, Result } from "effect"

export interface QueueOptions {
  readonly order: "fifo" | "lifo"
  readonly capacity?: number | undefined
  readonly overflow?: MessageQueue.OverflowPolicy | undefined
}

/** Makes a queue layer on the store named `store`: a new name is a new, empty store. */
export type QueueFactory = (
  options: QueueOptions,
  store: string
) => Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError>

export const envelope = (i: number, body?: string): Envelope.Envelope => ({
  messageId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
  topic: "in/org-1",
  eventName: "conformance_event",
  body: body ?? JSON.stringify({ value: { metadata: { messageId: `m${i}` } }, i })
})

const ids = (leases: ReadonlyArray<MessageQueue.Lease>) => leases.map((lease) => lease.envelope.messageId)
const idsOf = (...indices: Array<number>) => indices.map((i) => envelope(i).messageId)
const messageIds = (envelopes: ReadonlyArray<Envelope.Envelope>) => envelopes.map((e) => e.messageId)

let stores = 0
const freshStore = () => `q${process.pid}_${Date.now().toString(36)}_${stores++}`

export const conformance = (name: string, factory: QueueFactory, options: { readonly persistent: boolean }) =>
  describe(`${name}: the MessageQueue contract`, () => {
    const withQueue = <A, E>(
      queueOptions: QueueOptions,
      f: (queue: MessageQueue.Service) => Effect.Effect<A, E>,
      store = freshStore()
    ) => Effect.flatMap(MessageQueue.MessageQueue, f).pipe(Effect.provide(factory(queueOptions, store)))

    const offerAll = (queue: MessageQueue.Service, indices: ReadonlyArray<number>) =>
      Effect.forEach(indices, (i) => queue.offer(envelope(i)))

    for (const order of ["fifo", "lifo"] as const) {
      const fifo = order === "fifo"
      describe(order, () => {
        it.live("takes in queue order, at most `max` at a time", () =>
          withQueue({ order }, (queue) =>
            Effect.gen(function*() {
              assert.strictEqual(queue.order, order)
              yield* offerAll(queue, [0, 1, 2, 3, 4])
              assert.deepStrictEqual(ids(yield* queue.take(2)), fifo ? idsOf(0, 1) : idsOf(4, 3))
              yield* queue.offer(envelope(5))
              assert.deepStrictEqual(ids(yield* queue.take(10)), fifo ? idsOf(2, 3, 4, 5) : idsOf(5, 2, 1, 0))
              // take(0) still takes one, like the in-memory queue.
              yield* queue.offer(envelope(6))
              assert.deepStrictEqual(ids(yield* queue.take(0)), idsOf(6))
            })))

        it.live("a message given back goes back where it was", () =>
          withQueue({ order }, (queue) =>
            Effect.gen(function*() {
              yield* offerAll(queue, [0, 1, 2, 3, 4])
              const taken = yield* queue.take(3)
              assert.deepStrictEqual(ids(taken), fifo ? idsOf(0, 1, 2) : idsOf(4, 3, 2))
              yield* queue.nack(taken[1]!)
              yield* queue.nack(taken[0]!)
              yield* queue.offer(envelope(5))
              assert.strictEqual(yield* queue.size, 6)
              const again = yield* queue.take(10)
              assert.deepStrictEqual(ids(again), fifo ? idsOf(0, 1, 3, 4, 5) : idsOf(5, 4, 3, 1, 0))
              // Given back, then taken again: still the same message and sequence.
              const first = again.find((lease) => lease.envelope.messageId === taken[0]!.envelope.messageId)!
              assert.strictEqual(first.sequence, taken[0]!.sequence)
            })))

        it.live("ack removes a message for good; size counts waiting and taken", () =>
          withQueue({ order }, (queue) =>
            Effect.gen(function*() {
              yield* offerAll(queue, [0, 1, 2])
              assert.strictEqual(yield* queue.size, 3)
              const [a, b] = yield* queue.take(2)
              assert.strictEqual(yield* queue.size, 3)
              yield* queue.ack(a!)
              assert.strictEqual(yield* queue.size, 2)
              // Giving back an acknowledged message does nothing.
              yield* queue.nack(a!)
              assert.strictEqual(yield* queue.size, 2)
              assert.deepStrictEqual(ids(yield* queue.take(10)), fifo ? idsOf(2) : idsOf(0))
              yield* queue.ack(b!)
              assert.strictEqual(yield* queue.size, 1)
            })))

        it.live("take waits until a message is offered", () =>
          withQueue({ order }, (queue) =>
            Effect.gen(function*() {
              const taking = yield* Effect.forkChild(queue.take(5))
              for (let i = 0; i < 20; i++) yield* Effect.yieldNow
              assert.isUndefined(taking.pollUnsafe())
              yield* queue.offer(envelope(7))
              assert.deepStrictEqual(ids(yield* Fiber.join(taking)), idsOf(7))
            })))

        it.live("stores envelopes exactly as given", () =>
          withQueue({ order }, (queue) =>
            Effect.gen(function*() {
              const bodies = [
                JSON.stringify({ text: "naïve café — 日本語 🎉", quote: "\"'\\", nul: "\u0000" }),
                `{"big":"${"x".repeat(200_000)}"}`,
                "{\"spacing\" :  1 , \"order\":[3,1,2]}"
              ]
              // With the time it was wrapped, for the SDK's latency metric, when there is one.
              const envelopes = bodies.map((body, i) =>
                i === 0 ? { ...envelope(i, body), wrappedAt: 1_767_225_600_123 } : envelope(i, body)
              )
              for (const e of envelopes) yield* queue.offer(e)
              const taken = yield* queue.take(10)
              assert.deepStrictEqual(
                taken.map((lease) => lease.envelope),
                fifo ? envelopes : [...envelopes].reverse()
              )
            })))

        describe("capacity and overflow", () => {
          it.live("\"fail\" refuses new messages with a QueueError \"Full\"", () =>
            withQueue({ order, capacity: 3, overflow: "fail" }, (queue) =>
              Effect.gen(function*() {
                const results = yield* Effect.forEach([0, 1, 2, 3, 4], (i) => Effect.result(queue.offer(envelope(i))))
                assert.deepStrictEqual(results.slice(0, 3), [0, 1, 2].map(() => Result.succeed([])))
                for (const [i, result] of results.slice(3).entries()) {
                  assert.isTrue(Result.isFailure(result))
                  if (Result.isFailure(result)) {
                    assert.strictEqual(result.failure._tag, "QueueError")
                    assert.strictEqual(result.failure.reason, "Full")
                    assert.strictEqual(result.failure.capacity, 3)
                    assert.strictEqual(result.failure.messageId, envelope(3 + i).messageId)
                  }
                }
                assert.strictEqual(yield* queue.size, 3)
                assert.deepStrictEqual(ids(yield* queue.take(10)), fifo ? idsOf(0, 1, 2) : idsOf(2, 1, 0))
              })))

          it.live("\"dropNewest\" drops the new message", () =>
            withQueue({ order, capacity: 3, overflow: "dropNewest" }, (queue) =>
              Effect.gen(function*() {
                const dropped = yield* offerAll(queue, [0, 1, 2, 3, 4])
                assert.deepStrictEqual(dropped.map(messageIds), [[], [], [], idsOf(3), idsOf(4)])
                assert.deepStrictEqual(ids(yield* queue.take(10)), fifo ? idsOf(0, 1, 2) : idsOf(2, 1, 0))
              })))

          it.live("\"dropOldest\" drops the oldest waiting message", () =>
            withQueue({ order, capacity: 3, overflow: "dropOldest" }, (queue) =>
              Effect.gen(function*() {
                const dropped = yield* offerAll(queue, [0, 1, 2, 3, 4])
                assert.deepStrictEqual(dropped.map(messageIds), [[], [], [], idsOf(0), idsOf(1)])
                assert.strictEqual(yield* queue.size, 3)
                assert.deepStrictEqual(ids(yield* queue.take(10)), fifo ? idsOf(2, 3, 4) : idsOf(4, 3, 2))
              })))

          it.live("\"dropOldest\" never drops a taken message, and drops the new one when all are taken", () =>
            withQueue({ order, capacity: 3, overflow: "dropOldest" }, (queue) =>
              Effect.gen(function*() {
                yield* offerAll(queue, [0, 1, 2])
                assert.deepStrictEqual(ids(yield* queue.take(1)), fifo ? idsOf(0) : idsOf(2))
                // The oldest waiting one: e1 under FIFO (e0 is taken), e0 under LIFO.
                const first = yield* queue.offer(envelope(3))
                assert.deepStrictEqual(messageIds(first), idsOf(fifo ? 1 : 0))
                const rest = yield* queue.take(10)
                assert.strictEqual(rest.length, 2)
                const last = yield* queue.offer(envelope(4))
                assert.deepStrictEqual(messageIds(last), idsOf(4))
                assert.strictEqual(yield* queue.size, 3)
                // A message given back is waiting again, so the oldest waiting one.
                const oldest = [...rest].sort((x, y) => x.sequence - y.sequence)[0]!
                yield* queue.nack(oldest)
                const again = yield* queue.offer(envelope(5))
                assert.deepStrictEqual(messageIds(again), [oldest.envelope.messageId])
              })))

          for (const overflow of ["fail", "dropNewest", "dropOldest"] as const) {
            it.live(`a burst of 150 concurrent offers into room for 100 under "${overflow}": exactly 50 refused`, () =>
              withQueue({ order, capacity: 100, overflow }, (queue) =>
                Effect.gen(function*() {
                  const results = yield* Effect.forEach(
                    Array.from({ length: 150 }, (_, i) => i),
                    (i) => Effect.result(queue.offer(envelope(i))),
                    { concurrency: "unbounded" }
                  )
                  const failed = results.filter(Result.isFailure).length
                  const dropped = results.flatMap((r) => Result.isSuccess(r) ? r.success : [])
                  assert.strictEqual(failed + dropped.length, 50)
                  assert.strictEqual(failed, overflow === "fail" ? 50 : 0)
                  assert.strictEqual(new Set(dropped.map((e) => e.messageId)).size, dropped.length)
                  assert.strictEqual(yield* queue.size, 100)
                  const remaining = ids(yield* queue.take(1_000))
                  assert.strictEqual(remaining.length, 100)
                  // Every message is either queued or refused, once.
                  const refused = results.flatMap((r, i) =>
                    Result.isFailure(r) ? [envelope(i).messageId] : messageIds(r.success)
                  )
                  assert.deepStrictEqual(
                    [...remaining, ...refused].sort(),
                    Array.from({ length: 150 }, (_, i) => envelope(i).messageId).sort()
                  )
                })))
          }
        })

        if (options.persistent) {
          it.live("messages survive closing and reopening, with their ids, taken ones back where they were", () =>
            Effect.gen(function*() {
              const store = freshStore()
              yield* withQueue({ order }, (queue) =>
                Effect.gen(function*() {
                  yield* offerAll(queue, [0, 1, 2, 3, 4])
                  const [first] = yield* queue.take(2)
                  yield* queue.ack(first!)
                }), store)
              yield* withQueue({ order }, (queue) =>
                Effect.gen(function*() {
                  assert.strictEqual(yield* queue.size, 4)
                  const taken = yield* queue.take(10)
                  assert.deepStrictEqual(ids(taken), fifo ? idsOf(1, 2, 3, 4) : idsOf(3, 2, 1, 0))
                  assert.deepStrictEqual(taken[0]!.envelope, envelope(fifo ? 1 : 3))
                }), store)
            }))
        }
      })
    }

    it.live("invalid options fail with a ConfigurationError", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(withQueue({ order: "fifo", capacity: 0 }, () => Effect.void))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = Cause.findErrorOption(exit.cause)
          assert.isTrue(Option.isSome(error) && error.value._tag === "ConfigurationError")
          assert.include(Cause.pretty(exit.cause), "capacity")
        }
      }))
  })
