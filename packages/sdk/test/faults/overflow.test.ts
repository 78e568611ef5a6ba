/**
 * A flood of `sendMessage` while the broker is down: the queue holds its bound — a count, and for the
 * in-memory queue a byte budget — the overflow policy drops exactly what it says (counted by `Dropped`
 * events; a send whose own message was dropped fails with a `QueueError` `"Dropped"`, one refused with
 * `"Full"`), what is kept goes out once the broker is back, and the heap stays bounded however long the
 * flood.
 */
import { assert, describe, it } from "@effect/vitest"
import { configureSdk, Envelope, Environment, type MessageQueue, QueueError } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect, Fiber, References, Result } from "effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as Messages from "../fixtures/messages.js"
import { mosquittoResource } from "../support/Mosquitto.js"
import { buildSdk, delivered, faultLayer, lost, message, network, project, record, send } from "./support.js"

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
          // Sends refused: the queue was full ("fail"), or the policy dropped the new message ("dropNewest").
          const refused: Array<string> = []
          for (let i = 0; i < flood; i++) {
            const sent = yield* Effect.result(sdk.sendMessage(message(i)))
            if (Result.isSuccess(sent)) accepted.push(sent.success)
            else if (sent.failure instanceof QueueError) {
              refused.push(`${sent.failure.reason} ${sent.failure.messageId}`)
            } else return yield* Effect.die(sent.failure)
          }
          assert.strictEqual(yield* sdk.queueSize, capacity)
          const expectedDrops = overflow === "fail" ? 0 : flood - capacity
          yield* events.until(() => events.dropped.length >= expectedDrops)
          assert.strictEqual(events.dropped.length, expectedDrops)
          // A send resolves only for a message that was queued.
          assert.strictEqual(accepted.length, overflow === "dropOldest" ? flood : capacity)
          assert.strictEqual(refused.length, overflow === "dropOldest" ? 0 : flood - capacity)
          const refusedAs = overflow === "fail" ? "Full" : "Dropped"
          assert.isTrue(refused.every((entry) => entry.startsWith(`${refusedAs} `)))
          // dropOldest keeps the newest messages; dropNewest and fail keep the first ones.
          const kept = overflow === "dropOldest" ? accepted.slice(-capacity) : accepted
          const keptSet = new Set(kept)
          assert.isTrue(events.dropped.every((id) => !keptSet.has(id)))
          if (overflow === "dropOldest") assert.deepStrictEqual(events.dropped, accepted.slice(0, expectedDrops))
          if (overflow === "dropNewest") {
            assert.deepStrictEqual(events.dropped.map((id) => `Dropped ${id}`), refused)
          }

          yield* Effect.promise(() => broker.start())
          yield* Fiber.join(starting)
          yield* delivered(subscriber, kept)
          yield* events.drained
          assert.isTrue(events.dropped.every((id) => !subscriber.counts.has(id)))
          console.log(
            `[faults] overflow ${overflow}: ${flood} sent, ${events.dropped.length} dropped, ${refused.length} refused, ` +
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

  it.live(
    "dropNewest on a full queue: the send whose message is dropped fails with a QueueError \"Dropped\"",
    () =>
      Effect.gen(function*() {
        const { broker, subscriber } = yield* network
        yield* Effect.promise(() => broker.stop())
        const sdk = yield* buildSdk(faultLayer(broker.url("mqtt"), { queueCapacity: 3, overflow: "dropNewest" }))
        const starting = yield* Effect.forkChild(sdk.start)
        const kept = yield* send(sdk, 0, 3)
        const refused = yield* Effect.flip(sdk.sendMessage(message(3)))
        assert.instanceOf(refused, QueueError)
        assert.strictEqual(refused.reason, "Dropped")
        assert.isString(refused.messageId)
        assert.notInclude(kept, refused.messageId)
        assert.strictEqual(yield* sdk.queueSize, 3)
        yield* Effect.promise(() => broker.start())
        yield* Fiber.join(starting)
        yield* delivered(subscriber, kept)
        assert.isFalse(subscriber.counts.has(refused.messageId ?? "no message id"))
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
    60_000
  )

  it.live(
    "dropNewest on a full queue: the Promise front door's sendMessage rejects with a QueueError",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource()
        yield* Effect.promise(() => broker.stop())
        const sdk = configureSdk({
          auth: "none",
          environment: Environment.custom({ brokerUrl: broker.url("mqtt") }),
          ...project,
          queueCapacity: 3,
          overflow: "dropNewest",
          logLevel: "none"
        })
        yield* Effect.addFinalizer(() => Effect.promise(() => sdk.close({ timeoutMs: 0 })))
        for (let i = 0; i < 3; i++) yield* Effect.promise(() => sdk.sendMessage(message(i)))
        const refused = yield* Effect.promise(() => sdk.sendMessage(message(3)).then(() => undefined, (error) => error))
        assert.instanceOf(refused, QueueError)
        assert.strictEqual((refused as QueueError).reason, "Dropped")
        assert.strictEqual(yield* Effect.promise(() => sdk.queueSize()), 3)
      }),
    60_000
  )
})

describe("the in-memory queue's byte budget while the broker is down", () => {
  const MiB = 1024 * 1024
  const budget = 8 * MiB
  // One string, shared by every message: the test holds no more than the SDK does.
  const big = "x".repeat(MiB)
  const bigMessage = () => new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: big })

  for (const overflow of policies) {
    it.live(
      `${overflow}: 300 messages of 1 MiB into a budget of 8 MiB, 7 kept and delivered`,
      () =>
        Effect.gen(function*() {
          const { broker, subscriber } = yield* network
          yield* Effect.promise(() => broker.stop())
          const sdk = yield* buildSdk(faultLayer(broker.url("mqtt"), {
            queueCapacityBytes: budget,
            maxMessageBytes: 2 * MiB,
            overflow,
            startTimeout: "60 seconds"
          }))
          const bytes = (yield* Envelope.wrap(bigMessage(), project)).byteLength!
          assert.isAbove(bytes, MiB)
          const fit = Math.floor(budget / bytes)
          assert.strictEqual(fit, 7)
          const events = yield* record(sdk)
          const starting = yield* Effect.forkChild(sdk.start)
          const accepted: Array<string> = []
          const refused: Array<string> = []
          for (let i = 0; i < 300; i++) {
            const sent = yield* Effect.result(sdk.sendMessage(bigMessage()))
            if (Result.isSuccess(sent)) accepted.push(sent.success)
            else if (sent.failure instanceof QueueError) refused.push(sent.failure.reason)
            else return yield* Effect.die(sent.failure)
          }
          assert.strictEqual(yield* sdk.queueSize, fit)
          assert.strictEqual(accepted.length, overflow === "dropOldest" ? 300 : fit)
          assert.deepStrictEqual(
            refused,
            overflow === "dropOldest"
              ? []
              : Array.from({ length: 300 - fit }, () => overflow === "fail" ? "Full" : "Dropped")
          )
          const expectedDrops = overflow === "fail" ? 0 : 300 - fit
          yield* events.until(() => events.dropped.length >= expectedDrops)
          assert.strictEqual(events.dropped.length, expectedDrops)
          const kept = accepted.slice(-fit)
          yield* Effect.promise(() => broker.start())
          yield* Fiber.join(starting)
          yield* delivered(subscriber, kept)
          yield* events.drained
          assert.strictEqual(lost(subscriber, kept), 0)
          assert.isTrue(events.dropped.every((id) => !subscriber.counts.has(id)))
        }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
      120_000
    )
  }
})
