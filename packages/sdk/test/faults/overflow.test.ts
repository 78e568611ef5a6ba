/**
 * A flood of `sendMessage` while the broker is down: the queue holds its bound, the overflow policy
 * drops exactly what it says (counted by `Dropped` events, or refused with a `QueueError` `"Full"`),
 * what is kept goes out once the broker is back, and the heap stays bounded however long the flood.
 */
import { assert, describe, it } from "@effect/vitest"
import { type MessageQueue, QueueError } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect, Fiber, References, Result } from "effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { buildSdk, delivered, faultLayer, message, network, record } from "./support.js"

const capacity = 1_000
const flood = 10_000

/** Heap in use after full collections (V8's `gc`, exposed for this process). */
const heapUsed = () => {
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as () => void
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

const policies: ReadonlyArray<MessageQueue.OverflowPolicy> = ["dropOldest", "dropNewest", "fail"]

describe("overflow while the broker is down", () => {
  for (const overflow of policies) {
    it.live(
      `${overflow}: ${flood} sends into a queue of ${capacity}, exact drops, the rest delivered`,
      () =>
        Effect.gen(function*() {
          const { broker, subscriber } = yield* network
          yield* Effect.promise(() => broker.stop())
          const sdk = yield* buildSdk(
            faultLayer(broker.url("mqtt"), { queueCapacity: capacity, overflow, startTimeout: "60 seconds" })
          )
          const events = yield* record(sdk)
          const starting = yield* Effect.forkChild(sdk.start)
          const accepted: Array<string> = []
          let refused = 0
          for (let i = 0; i < flood; i++) {
            const sent = yield* Effect.result(sdk.sendMessage(message(i)))
            if (Result.isSuccess(sent)) accepted.push(sent.success)
            else if (sent.failure instanceof QueueError && sent.failure.reason === "Full") refused++
            else return yield* Effect.die(sent.failure)
          }
          assert.strictEqual(yield* sdk.queueSize, capacity)
          const expectedDrops = overflow === "fail" ? 0 : flood - capacity
          yield* events.until(() => events.dropped.length >= expectedDrops)
          assert.strictEqual(events.dropped.length, expectedDrops)
          assert.strictEqual(refused, overflow === "fail" ? flood - capacity : 0)
          // dropOldest keeps the newest messages; dropNewest and fail keep the first ones.
          const kept = overflow === "dropOldest" ? accepted.slice(-capacity) : accepted.slice(0, capacity)
          const keptSet = new Set(kept)
          assert.isTrue(events.dropped.every((id) => !keptSet.has(id)))
          if (overflow === "dropOldest") assert.deepStrictEqual(events.dropped, accepted.slice(0, expectedDrops))
          if (overflow === "dropNewest") assert.deepStrictEqual(events.dropped, accepted.slice(capacity))

          yield* Effect.promise(() => broker.start())
          yield* Fiber.join(starting)
          yield* delivered(subscriber, kept)
          yield* events.drained
          assert.isTrue(events.dropped.every((id) => !subscriber.counts.has(id)))
          console.log(
            `[faults] overflow ${overflow}: ${flood} sent, ${events.dropped.length} dropped, ${refused} refused, ` +
              `${kept.length} delivered, ${subscriber.duplicates()} duplicate deliveries`
          )
        }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
      60_000
    )
  }

  it.effect(
    "the heap stays bounded: 100,000 sends into a queue of 1,000 keep about 1,000 messages",
    () =>
      Effect.gen(function*() {
        const sdk = yield* buildSdk(
          Testing.layer({ mode: "down", queueOptions: { capacity, overflow: "dropOldest" } })
        )
        // Made up front and sent over and over: each send is a new envelope, and the heap measures the SDK.
        const messages = Array.from({ length: capacity }, (_, i) => message(i))
        for (const sample of messages) yield* sdk.sendMessage(sample)
        const before = heapUsed()
        for (let i = capacity; i < 100_000; i++) yield* sdk.sendMessage(messages[i % capacity]!)
        const grown = heapUsed() - before
        console.log(`[faults] overflow heap: ${(grown / 2 ** 20).toFixed(2)} MiB grown over 99,000 more sends`)
        // Had the queue kept every message (some 1 KiB of heap each), it would have grown by about 100 MiB.
        assert.isBelow(grown, 8 * 2 ** 20)
        assert.strictEqual(yield* sdk.queueSize, capacity)
      }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")),
    60_000
  )
})
