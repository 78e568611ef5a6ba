/**
 * The writer's `storeTimeout` under `TestClock`, with a commit that the test holds: an offer waits at
 * most `storeTimeout`; one still waiting for its batch is withdrawn (never committed), one in a commit
 * under way is reported as not known to be stored; offers settled before their deadline are not touched.
 * Logic only (the commit is a function of the test); the stores' own tests run it on real databases.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Envelope, QueueError } from "@stellanow/sdk"
import { Deferred, Effect, Exit, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import * as Writer from "../src/internal/writer.js"

const envelope = (n: number): Envelope.Envelope => ({
  messageId: `m${n}`,
  topic: "t",
  eventName: "e",
  body: "{}"
})

const settings = {
  capacity: 100,
  store: "test store",
  ackDelay: "1 second",
  closeTimeout: "1 second",
  storeTimeout: "10 seconds"
} as const

/** A writer whose first commit waits for `release`; every commit's offers are recorded. */
const heldWriter = Effect.gen(function*() {
  const release = yield* Deferred.make<void>()
  const committed: Array<ReadonlyArray<string>> = []
  const writer = yield* Writer.make((batch) =>
    Effect.gen(function*() {
      if (committed.length === 0) yield* Deferred.await(release)
      committed.push(batch.offers.map((offer) => offer.messageId))
      return batch.offers.map(() => ({ _tag: "Queued" as const, dropped: Option.none() }))
    }), settings)
  return { writer, release, committed }
})

const failureOf = (exit: Exit.Exit<unknown, QueueError>): QueueError => {
  assert.isTrue(Exit.isFailure(exit))
  return Option.getOrThrow(Exit.findErrorOption(exit as Exit.Exit<never, QueueError>))
}

describe("the writer's storeTimeout", () => {
  it.effect("fails an offer in a commit that hangs, withdraws one still waiting, after storeTimeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const { committed, release, writer } = yield* heldWriter
      const inCommit = yield* Effect.forkChild(writer.offer(envelope(1)))
      yield* TestClock.adjust("1 second")
      const waiting = yield* Effect.forkChild(writer.offer(envelope(2)))
      yield* TestClock.adjust("9 seconds")
      const first = failureOf(yield* Fiber.await(inCommit))
      assert.strictEqual(first.reason, "StoreFailed")
      assert.include(first.message, "is not known to be stored")
      // The second has a second left.
      assert.isUndefined(waiting.pollUnsafe())
      yield* TestClock.adjust("1 second")
      const second = failureOf(yield* Fiber.await(waiting))
      assert.strictEqual(second.reason, "StoreFailed")
      assert.include(second.message, "could not be stored")
      yield* Deferred.succeed(release, undefined)
      const third = yield* writer.offer(envelope(3))
      assert.isTrue(Option.isNone(third))
      // The withdrawn offer was never committed.
      assert.deepStrictEqual(committed.flat(), ["m1", "m3"])
    })))

  it.effect("an offer committed before its deadline completes, and is not failed later", () =>
    Effect.scoped(Effect.gen(function*() {
      const { release, writer } = yield* heldWriter
      yield* Deferred.succeed(release, undefined)
      const offered = yield* Effect.forkChild(writer.offer(envelope(1)))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(offered)
      assert.isTrue(Exit.isSuccess(exit))
      yield* TestClock.adjust("1 minute")
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(offered)))
    })))
})
