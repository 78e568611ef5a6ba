/**
 * Memory: heap bytes per message queued while the broker is down. Runs in a child process started
 * with `--expose-gc`, so the heap is measured after full collections and nothing else is in it.
 */
import { Envelope, StellaNow } from "@stellanow/sdk"
import { Effect, Fiber, Result, Stream } from "effect"
import { startMosquitto } from "../../sdk/test/support/Mosquitto.js"
import { project, sample } from "./messages.js"
import { progress, round, run, sdkLayer } from "./support.js"
import { poolSize } from "./throughput.js"

export interface MemoryRun {
  readonly queued: number
  readonly heap_bytes: number
  readonly bytes_per_queued_message: number
}

const collect = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("the memory benchmark needs node --expose-gc")
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

/** Bytes of the sample message's envelope on the wire. */
export const envelopeBytes = (): number => {
  const envelope = Envelope.wrapWith(sample(0), project, {
    messageId: globalThis.crypto.randomUUID(),
    originDate: "2025-04-25T12:34:56.789012Z"
  })
  if (Result.isFailure(envelope)) throw envelope.failure
  return Buffer.byteLength(envelope.success.body)
}

/** Connects, stops the broker, then queues `count` messages and measures what the heap grew by. */
export const measure = async (count: number): Promise<MemoryRun> => {
  const broker = await startMosquitto()
  try {
    return await run(
      Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        yield* sdk.start
        const down = yield* (yield* sdk.subscribe).pipe(
          Stream.filter((event) => event._tag === "ConnectionChanged" && event.state._tag === "Disconnected"),
          Stream.runHead,
          Effect.forkChild
        )
        yield* Effect.promise(() => broker.stop())
        yield* Fiber.join(down)
        // Messages made up front and sent over and over (each send is a new envelope with its own id), so
        // the heap's growth is the queue's alone.
        const messages = Array.from({ length: poolSize }, (_, i) => sample(i))
        const before = collect()
        for (let i = 0; i < count; i++) {
          yield* sdk.sendMessage(messages[i % messages.length]!)
          if (i % 250_000 === 249_999) progress(`memory: ${i + 1} queued`)
        }
        const after = collect()
        const queued = yield* sdk.queueSize
        if (queued !== count) throw new Error(`${queued} queued, expected ${count}`)
        return {
          queued,
          heap_bytes: after - before,
          bytes_per_queued_message: round((after - before) / count, 1)
        }
      }).pipe(
        Effect.scoped,
        Effect.provide(
          // The byte budget (128 MiB by default) would drop most of a million messages: raised to
          // measure the heap per queued message, not the budget.
          sdkLayer(broker.url("mqtt"), { queueCapacity: count, queueCapacityBytes: 4 * 1024 ** 3 })
        )
      )
    )
  } finally {
    await broker.dispose()
  }
}
