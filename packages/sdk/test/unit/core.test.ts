/**
 * The core's small values on their own: the `sendMessageAndWait` waiters, the drain's in-flight
 * bookkeeping and the drain itself over a sink whose outcomes the test reports, the start/stop
 * lifecycle, and `Sink.make`'s publisher built from an Effect `publish`. Time is `TestClock`'s.
 */
import { assert, describe, it } from "@effect/vitest"
import { DeadLetters, type Envelope, MessageQueue, Sink, StellaNowError } from "@stellanow/sdk"
import { Cause, Clock, Deferred, Effect, Exit, Fiber, Option, Scope, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import * as InFlight from "../../src/internal/inFlight.js"
import * as Lifecycle from "../../src/internal/lifecycle.js"
import * as Waiters from "../../src/internal/waiters.js"
import { manualSink, settleFibers, startDrain } from "../support/ManualDrain.js"

const envelope = (i: number): Envelope.Envelope => ({
  messageId: `m${i}`,
  topic: "in/test",
  eventName: "test",
  body: `{"i":${i}}`
})
const lease = (i: number): MessageQueue.Lease => ({ envelope: envelope(i), sequence: i })

const lost = (messageId: string) =>
  Exit.fail(new StellaNowError.PublishError({ reason: "ConnectionLost", messageId, detail: "the test dropped it" }))

describe("Waiters", () => {
  it.effect("settles a waiter once: a second outcome for the same message is ignored", () =>
    Effect.gen(function*() {
      const waiters = Waiters.make()
      const waiter = waiters.register("a")
      waiters.acknowledged("a")
      waiters.settle("a", Exit.succeed("late"))
      waiters.acknowledged("no waiter")
      assert.isFalse(waiters.has("a"))
      assert.strictEqual(yield* Deferred.await(waiter), "a")
    }))

  it.effect("settleAll settles every waiter left, and none that was forgotten", () =>
    Effect.gen(function*() {
      const waiters = Waiters.make()
      const a = waiters.register("a")
      const b = waiters.register("b")
      const c = waiters.register("c")
      waiters.settle("a", Exit.succeed("a"))
      waiters.forget("c")
      waiters.settleAll(Exit.succeed("closed"))
      assert.strictEqual(yield* Deferred.await(a), "a")
      assert.strictEqual(yield* Deferred.await(b), "closed")
      assert.isFalse(yield* Deferred.isDone(c))
      assert.isFalse(waiters.has("b"))
    }))
})

describe("InFlight", () => {
  it.effect("has room below the maximum and is idle at zero, as of the last recount", () =>
    Effect.gen(function*() {
      const inFlight = yield* InFlight.make(2, yield* Clock.Clock)
      const isOpen = (wait: Effect.Effect<void>) =>
        Effect.gen(function*() {
          const waiting = yield* Effect.forkChild(wait)
          yield* settleFibers
          const done = waiting.pollUnsafe() !== undefined
          yield* Fiber.interrupt(waiting)
          return done
        })
      const [one, two] = [lease(1), lease(2)]
      inFlight.add(one, undefined)
      inFlight.add(two, undefined)
      assert.isTrue(yield* isOpen(inFlight.room), "not recounted yet")
      assert.strictEqual(inFlight.recount(), 2)
      assert.isFalse(yield* isOpen(inFlight.room))
      assert.isFalse(yield* isOpen(inFlight.idle))
      assert.isTrue(inFlight.remove(one, Exit.void))
      inFlight.recount()
      assert.isTrue(yield* isOpen(inFlight.room))
      assert.isTrue(inFlight.remove(two, Exit.void))
      inFlight.recount()
      assert.isTrue(yield* isOpen(inFlight.idle))
    }))

  it.effect("removes a message once, and gives back exactly the ones not removed, in publish order", () =>
    Effect.gen(function*() {
      const inFlight = yield* InFlight.make(10, yield* Clock.Clock)
      const leases = [1, 2, 3, 4, 5].map(lease)
      for (const l of leases) inFlight.add(l, undefined)
      assert.isTrue(inFlight.remove(leases[1]!, Exit.void))
      assert.isFalse(inFlight.remove(leases[1]!, Exit.void))
      assert.isTrue(inFlight.remove(leases[3]!, Exit.void))
      assert.deepStrictEqual(inFlight.leases(), [leases[0], leases[2], leases[4]])
      assert.strictEqual(inFlight.size(), 3)
    }))

  it.effect("outcomes are taken all at once, and waiting resumes only on a new one", () =>
    Effect.gen(function*() {
      const outcomes = yield* InFlight.makeOutcomes
      assert.isTrue(Option.isNone(yield* Effect.timeoutOption(outcomes.await, 0)))
      outcomes.push(lease(1), Exit.void)
      outcomes.push(lease(2), lost("m2"))
      yield* outcomes.await
      assert.deepStrictEqual(outcomes.takeAll().map(([l]) => l.sequence), [1, 2])
      assert.isTrue(Option.isNone(yield* Effect.timeoutOption(outcomes.await, 0)))
      assert.deepStrictEqual(outcomes.takeAll(), [])
    }))
})

describe("Drain", () => {
  it.effect("acknowledges, retries and, once stopped, gives back exactly what is unsettled, in place", () =>
    Effect.gen(function*() {
      const { published, reported, sink } = yield* manualSink
      const queue = yield* MessageQueue.makeMemory("fifo")
      for (let i = 1; i <= 5; i++) yield* queue.offer(envelope(i))
      const acknowledged: Array<string> = []
      const { drain, scope } = yield* startDrain(queue, sink, acknowledged, { maxInFlight: 3 })
      yield* settleFibers
      assert.deepStrictEqual(published, ["m1", "m2", "m3"], "at most 3 in flight")

      reported.get("m1")!(Exit.void)
      reported.get("m2")!(lost("m2"))
      yield* settleFibers
      assert.deepStrictEqual(acknowledged, ["m1"])
      // Two settled, so two more taken (which two depends on when the taking fiber ran).
      assert.strictEqual(published.length, 5)

      yield* Fiber.interrupt(drain.taking)
      yield* Scope.close(scope, Exit.void)
      yield* drain.finish
      assert.strictEqual(yield* queue.size, 4)
      const left = yield* queue.take(10)
      assert.deepStrictEqual(left.map((l) => l.envelope.messageId), ["m2", "m3", "m4", "m5"])
      // An outcome reported after the drain finished settles nothing twice.
      reported.get("m3")!(Exit.void)
      assert.deepStrictEqual(acknowledged, ["m1"])
    }))
})

const refused = (messageId: string, reason: "Rejected" | "Timeout" = "Rejected") =>
  Exit.fail(
    new StellaNowError.PublishError({
      reason,
      messageId,
      ...(reason === "Rejected" ? { reasonCode: 0x87 } : {}),
      detail: "refused by the test"
    })
  )

describe("Drain's refusals", () => {
  it.effect("counts refusals, not lost connections; dead-letters at maxAttempts, once, and moves on", () =>
    Effect.gen(function*() {
      const { published, reported, sink } = yield* manualSink
      const queue = yield* MessageQueue.makeMemory("fifo")
      yield* queue.offer(envelope(1))
      const deadLetters = yield* DeadLetters.makeMemory()
      const told: Array<string> = []
      const { scope } = yield* startDrain(queue, sink, [], {
        maxInFlight: 1,
        maxAttempts: 3,
        deadLetters,
        deadLettered: (lease, reason) => Effect.sync(() => told.push(`${lease.envelope.messageId}: ${reason}`))
      })
      /** Settles the last publish of m1 with `exit`, then lets the drain take it again (after its pause). */
      const answer = (exit: Exit.Exit<void, StellaNowError.PublishError>) =>
        Effect.gen(function*() {
          reported.get("m1")!(exit)
          yield* settleFibers
          yield* TestClock.adjust("1 second")
          yield* settleFibers
        })
      yield* settleFibers
      yield* answer(refused("m1"))
      yield* answer(lost("m1"))
      yield* answer(lost("m1"))
      yield* answer(refused("m1", "Timeout"))
      assert.deepStrictEqual(told, [], "two refusals and two lost connections: still queued")
      assert.deepStrictEqual(published, ["m1", "m1", "m1", "m1", "m1"])
      yield* answer(refused("m1"))
      assert.strictEqual(told.length, 1)
      assert.match(told[0]!, /^m1: refused by the test \(refused 3 times\)$/)
      const letters = yield* deadLetters.list
      assert.deepStrictEqual(letters.map((l) => l.envelope.messageId), ["m1"])
      // m1 left the queue, which moves on to the next message.
      assert.strictEqual(yield* queue.size, 0)
      yield* queue.offer(envelope(2))
      yield* settleFibers
      assert.deepStrictEqual(published.slice(5), ["m2"])
      yield* Scope.close(scope, Exit.void)
    }))
})

describe("DeadLetters.layerMemory", () => {
  it.effect("keeps at most its capacity, forgetting the oldest", () =>
    Effect.gen(function*() {
      const letters = yield* DeadLetters.makeMemory({ capacity: 2 })
      for (let i = 1; i <= 3; i++) yield* letters.put(envelope(i), `r${i}`)
      assert.strictEqual(yield* letters.size, 2)
      assert.deepStrictEqual((yield* letters.list).map((l) => [l.envelope.messageId, l.reason]), [["m2", "r2"], [
        "m3",
        "r3"
      ]])
    }))
})

describe("Lifecycle", () => {
  it.effect("abandon makes the start waiting give up, and only that one", () =>
    Effect.gen(function*() {
      const lifecycle = yield* Lifecycle.make
      lifecycle.abandon() // nothing waits: nothing happens
      const waiting = yield* Effect.forkChild(lifecycle.abandonable(Effect.as(Effect.sleep("1 minute"), "ready")))
      yield* settleFibers
      lifecycle.abandon()
      assert.strictEqual(yield* Fiber.join(waiting), "stopped")
      const next = yield* Effect.forkChild(lifecycle.abandonable(Effect.as(Effect.sleep("1 minute"), "ready")))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(next), "ready")
    }))
})

describe("Sink.make", () => {
  it.effect("builds a publisher from an Effect publish: outcomes reported, in-flight ones ended with the scope", () =>
    Effect.gen(function*() {
      const sink = Sink.make({
        clientId: "effect-only",
        destination: "effect://test",
        state: yield* SubscriptionRef.make<Sink.ConnectionState>(Sink.ConnectionState.Idle()),
        run: Effect.never,
        awaitReady: Effect.void,
        publish: (envelope) =>
          envelope.messageId === "m2"
            ? Effect.fail(new StellaNowError.PublishError({ reason: "NotConnected", messageId: "m2", detail: "down" }))
            : Effect.sleep(envelope.messageId === "m3" ? "1 hour" : "1 second")
      })
      const scope = yield* Scope.make()
      const publish = yield* Scope.provide(sink.publisher, scope)
      const outcomes = new Map<string, Exit.Exit<void, StellaNowError.PublishError>>()
      for (const i of [1, 2, 3]) publish(envelope(i), (exit) => outcomes.set(`m${i}`, exit))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Exit.isSuccess(outcomes.get("m1")!))
      assert.isTrue(Exit.isFailure(outcomes.get("m2")!))
      assert.isFalse(outcomes.has("m3"))
      yield* Scope.close(scope, Exit.void)
      const m3 = outcomes.get("m3")!
      assert.isTrue(Exit.isFailure(m3) && Cause.hasInterruptsOnly(m3.cause))
    }))
})
