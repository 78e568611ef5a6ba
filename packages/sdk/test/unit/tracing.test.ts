/**
 * Per-message spans: made, with their attributes, under a tracer that collects them; under Effect's
 * default tracer, not made, and the caller's own span is left alone.
 */
import { assert, describe, it } from "@effect/vitest"
import { StellaNow } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect } from "effect"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"
import { makeSpanCapture } from "../support/SpanCapture.js"

const message = (i: number) => new UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })

const untilPublished = (count: number) =>
  Effect.gen(function*() {
    const sink = yield* Testing.MemorySink
    while ((yield* sink.published).length < count) yield* Effect.yieldNow
  })

describe("per-message spans", () => {
  it.effect("are made under a collecting tracer, with the message id and event", () => {
    const { spans, tracer } = makeSpanCapture()
    return Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.start
      const ids = [yield* sdk.sendMessage(message(0)), yield* sdk.sendMessage(message(1))]
      yield* untilPublished(2)
      while ((yield* sdk.queueSize) > 0) yield* Effect.yieldNow
      const waited = yield* sdk.sendMessageAndWait(message(2))
      const expected: Record<string, ReadonlyArray<string>> = {
        "StellaNow.sendMessage": ids,
        "StellaNow.sendMessageAndWait": [waited],
        "StellaNow.publish": [...ids, waited]
      }
      for (const [name, messageIds] of Object.entries(expected)) {
        const made = spans.filter((span) => span.name === name)
        assert.deepStrictEqual(made.map((span) => span.attributes.get("stellanow.message_id")), [...messageIds], name)
        assert.isTrue(made.every((span) => span.attributes.get("stellanow.event") === "user_details_update"))
        assert.isTrue(made.every((span) => span.exit !== undefined), `every ${name} span ended`)
      }
    }).pipe(Effect.provide(Testing.layer()), Effect.withTracer(tracer))
  })

  it.effect("are not made under Effect's default tracer, and the caller's span is not annotated", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const [parent, id] = yield* Effect.gen(function*() {
        const parent = yield* Effect.currentSpan
        return [parent, yield* sdk.sendMessage(message(0))] as const
      }).pipe(Effect.withSpan("caller"))
      assert.isString(id)
      // Annotating "the current span" without a span of its own would have marked the caller's.
      assert.deepStrictEqual([...parent.attributes.keys()], [])
    }).pipe(Effect.provide(Testing.layer())))
})
