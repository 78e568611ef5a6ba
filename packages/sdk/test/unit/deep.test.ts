import { assert, describe, it } from "@effect/vitest"
import { Field, Message, Model, StellaNow, StellaNowSDK, ValidationError } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect, Result, Schema } from "effect"
import { expect } from "vitest"
import { PurchaseCompletedMessage, UserDetailsUpdateMessage } from "../fixtures/messages.js"

/** An object `levels` levels deep: `{ a: { a: … { a: 1 } } }` (one level: `{ a: 1 }`). */
const nested = (levels: number): Field.Json => {
  let value: Field.Json = 1
  for (let i = 0; i < levels; i++) value = { a: value }
  return value
}

const purchase = (extra: Field.Json) =>
  new PurchaseCompletedMessage({
    patron: "p",
    order_id: "o",
    amount: 1,
    completed_at: "2025-04-25T12:34:56.000000Z",
    extra
  })

/** A message made with a shallow value, then given a deep one (plain JavaScript can; TypeScript says readonly). */
const deepAfterMaking = (levels: number) => {
  const message = purchase(1)
  ;(message as { extra: unknown }).extra = nested(levels)
  return message
}

const thrown = (f: () => unknown): ValidationError => {
  try {
    f()
  } catch (error) {
    assert.instanceOf(error, ValidationError)
    return error as ValidationError
  }
  return assert.fail("expected a ValidationError")
}

const assertTooDeep = (error: ValidationError) => {
  assert.strictEqual(error.reason, "TooDeep")
  assert.strictEqual(error.field, "extra")
  assert.include(error.message, `event "purchase_completed", field "extra": `)
  assert.include(error.message, `more than 256 levels deep`)
}

/** A schema of a user's own that walks a value by recursion, without a limit. */
const depthOf = (value: unknown): number =>
  typeof value === "object" && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0
const Recursive = Schema.declare((u): u is unknown => depthOf(u) >= 0)

class Tree extends Message.Class<Tree>("Tree")({ event: "tree", entities: ["patron"], fields: { tree: Recursive } }) {}

class Holder extends Model.Class<Holder>("Holder")({ extra: Field.Any }) {}

class Held extends Message.Class<Held>("Held")({ event: "held", entities: ["patron"], fields: { holder: Holder } }) {}

describe("a value nested deeper than 256", () => {
  it("is the documented maximum", () => {
    assert.strictEqual(Field.maxDepth, 256)
  })

  it("is refused inside a model, naming the model and the field", () => {
    const error = thrown(() => new Holder({ extra: nested(100_000) }))
    assert.strictEqual(error.reason, "TooDeep")
    assert.include(error.message, `model "Holder", field "extra": nested more than 256 levels deep`)
    const held = new Held({ patron: "p", holder: new Holder({ extra: 1 }) })
    ;(held.holder as { extra: unknown }).extra = nested(100_000)
    const refused = Effect.runSync(Effect.result(
      Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        return yield* sdk.sendMessage(held)
      }).pipe(Effect.provide(Testing.layer()), Effect.scoped)
    ))
    assert.isTrue(Result.isFailure(refused))
    const failure = (refused as Result.Failure<never, ValidationError>).failure
    assert.instanceOf(failure, ValidationError)
    assert.strictEqual(failure.reason, "TooDeep")
    assert.strictEqual(failure.field, "holder.extra")
  })

  it("in a schema of the user's own that overflows the stack, is a ValidationError too", async () => {
    const error = thrown(() => new Tree({ patron: "p", tree: nested(100_000) }))
    assert.strictEqual(error.reason, "TooDeep")
    assert.strictEqual(error.event, "tree")
    const tree = new Tree({ patron: "p", tree: 1 })
    ;(tree as { tree: unknown }).tree = nested(100_000)
    await using sdk = new StellaNowSDK(Testing.layer(), { logLevel: "none" })
    await expect(sdk.sendMessage(tree)).rejects.toMatchObject({
      _tag: "ValidationError",
      reason: "TooDeep",
      event: "tree"
    })
  })

  for (const levels of [256 + 1, 10_000, 100_000]) {
    it(`is refused by the constructor with a ValidationError (${levels} levels)`, () => {
      assertTooDeep(thrown(() => purchase(nested(levels))))
    })
  }

  it("is accepted at the maximum depth, and goes on the wire as it is", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const deepest = nested(256)
      yield* sdk.sendMessage(purchase(deepest))
      yield* sdk.start
      const sink = yield* Testing.MemorySink
      while ((yield* sink.published).length < 1) yield* Effect.yieldNow
      const [envelope] = yield* sink.published
      assert.deepStrictEqual(JSON.parse(JSON.parse(envelope!.body).value.payload).extra, deepest)
    }).pipe(Effect.provide(Testing.layer()), Effect.runPromise))

  it.effect("is refused by sendMessage with a ValidationError, and what is queued stays queued", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.sendMessage(new UserDetailsUpdateMessage({ patron: "p", user_id: "u0" }))
      for (const levels of [256 + 1, 100_000]) {
        const result = yield* Effect.result(sdk.sendMessage(deepAfterMaking(levels)))
        assert.isTrue(Result.isFailure(result))
        assertTooDeep((result as Result.Failure<never, ValidationError>).failure)
      }
      assert.strictEqual(yield* sdk.queueSize, 1)
    }).pipe(Effect.provide(Testing.layer())))

  it("is refused by the Promise front door's sendMessage with a ValidationError", async () => {
    await using sdk = new StellaNowSDK(Testing.layer(), { logLevel: "none" })
    await sdk.sendMessage(new UserDetailsUpdateMessage({ patron: "p", user_id: "u0" }))
    const refused = sdk.sendMessage(deepAfterMaking(100_000))
    await expect(refused).rejects.toBeInstanceOf(ValidationError)
    await expect(sdk.sendMessage(deepAfterMaking(100_000))).rejects.toMatchObject({ reason: "TooDeep", field: "extra" })
    expect(await sdk.queueSize()).toBe(1)
  })

  it("leaves a shallow value's checks as strict as before: a value changed after making is checked again", async () => {
    const extra = { a: { b: 1 } }
    const message = purchase(extra)
    ;(extra.a as Record<string, unknown>).b = () => 1
    await using sdk = new StellaNowSDK(Testing.layer(), { logLevel: "none" })
    await expect(sdk.sendMessage(message)).rejects.toMatchObject({ reason: "InvalidField", field: "extra" })
  })
})
