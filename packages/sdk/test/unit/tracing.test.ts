/**
 * Per-message spans: made, with their attributes, under a tracer that collects them; under Effect's
 * default tracer, not made, and the caller's own span is left alone.
 */
import { assert, describe, it } from "@effect/vitest"
import { StellaNow } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect, Tracer } from "effect"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"

const message = (i: number) => new UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })

/** A tracer that keeps every span it makes. */
const capturing = () => {
  const spans: Array<{ readonly name: string; readonly attributes: Map<string, unknown>; ended: boolean }> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const record = { name, attributes: new Map<string, unknown>(), ended: false }
      spans.push(record)
      return {
        _tag: "Span",
        name,
        spanId: `span${spans.length}`,
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: record.attributes,
        links,
        sampled: true,
        kind,
        end: () => {
          record.ended = true
        },
        attribute: (key, value) => void record.attributes.set(key, value),
        event: () => {},
        addLinks: () => {}
      }
    },
    context: (f) => f()
  })
  return { spans, tracer }
}

const untilPublished = (count: number) =>
  Effect.gen(function*() {
    const sink = yield* Testing.MemorySink
    while ((yield* sink.published).length < count) yield* Effect.yieldNow()
  })

describe("per-message spans", () => {
  it.effect("are made under a collecting tracer, with the message id and event", () => {
    const { spans, tracer } = capturing()
    return Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.start
      const ids = [yield* sdk.sendMessage(message(0)), yield* sdk.sendMessage(message(1))]
      yield* untilPublished(2)
      while ((yield* sdk.queueSize) > 0) yield* Effect.yieldNow()
      for (const name of ["StellaNow.sendMessage", "StellaNow.publish"]) {
        const made = spans.filter((span) => span.name === name)
        assert.deepStrictEqual(made.map((span) => span.attributes.get("stellanow.message_id")), ids, name)
        assert.isTrue(made.every((span) => span.attributes.get("stellanow.event") === "user_details_update"))
        assert.isTrue(made.every((span) => span.ended), `every ${name} span ended`)
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
