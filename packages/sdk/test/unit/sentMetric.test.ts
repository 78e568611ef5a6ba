import { assert, describe, it } from "@effect/vitest"
import { Metrics, StellaNow } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect, Metric } from "effect"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"

const message = (i: number) => new UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })

const count = (metric: Metric.Counter<number>) =>
  Effect.map(
    Metric.value(Metric.withAttributes(metric, { client_id: "memory-sink" }) as Metric.Counter<number>),
    (state) => state.count
  )

describe("stellanow_messages_sent_total", () => {
  // The drain counts a batch of publishes at once: the count must still be one per publish.
  it.effect("counts every publish of a batch, each once", () =>
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const sink = yield* Testing.MemorySink
      const [sent, acked] = [yield* count(Metrics.messagesSent), yield* count(Metrics.messagesAcked)]
      for (let i = 0; i < 25; i++) yield* sdk.sendMessage(message(i))
      yield* sdk.start
      while ((yield* count(Metrics.messagesAcked)) - acked < 25) yield* Effect.yieldNow
      assert.strictEqual((yield* sink.published).length, 25)
      assert.strictEqual((yield* count(Metrics.messagesSent)) - sent, 25)
    }).pipe(Effect.provide(Testing.layer({ maxInFlight: 10 }))))
})
