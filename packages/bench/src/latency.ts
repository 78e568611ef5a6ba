/**
 * Latency: from `sendMessage` to the broker's PUBACK (the SDK's `Acknowledged` event), at a steady rate
 * of half the SDK's measured capacity; and raw mqtt.js at the same rate, for reference.
 */
import { Envelope, StellaNow } from "@stellanow/sdk"
import { Deferred, Effect, Exit, Stream } from "effect"
import * as mqtt from "mqtt"
import { project, sample } from "./messages.js"
import { percentile, round, run, sdkLayer } from "./support.js"
import { bodiesOf, poolSize } from "./throughput.js"

export interface LatencyRun {
  readonly rate_per_s: number
  readonly messages: number
  readonly p50_ms: number
  readonly p99_ms: number
  readonly max_ms: number
}

export interface LatencyResult extends LatencyRun {
  readonly raw: LatencyRun
}

/** Calls `send(i)` at `rate` per second for `seconds`, catching up every millisecond. */
const paced = <E, R>(
  rate: number,
  total: number,
  send: (i: number) => Effect.Effect<void, E, R>
): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    const started = performance.now()
    let sent = 0
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate))
      while (sent < due) yield* send(sent++)
      yield* Effect.sleep("1 millis")
    }
  })

/** Latencies of the messages sent after the first tenth of the run (the warm-up). */
const summarize = (
  rate: number,
  sentAt: ReadonlyArray<number>,
  ackedAt: ReadonlyArray<number | undefined>
): LatencyRun => {
  const skip = Math.floor(sentAt.length / 10)
  const latencies: Array<number> = []
  for (let i = skip; i < sentAt.length; i++) {
    const acked = ackedAt[i]
    if (acked === undefined) throw new Error(`message ${i} was never acknowledged`)
    latencies.push(acked - sentAt[i]!)
  }
  return {
    rate_per_s: round(rate),
    messages: latencies.length,
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    max_ms: round(latencies.reduce((a, b) => Math.max(a, b), 0), 2)
  }
}

const sdkLatency = (brokerUrl: string, rate: number, seconds: number, maxInFlight: number): Promise<LatencyRun> => {
  const total = Math.round(rate * seconds)
  const pool = Array.from({ length: poolSize }, (_, i) => sample(i))
  return run(
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.start
      const sentAt: Array<number> = []
      const ackedAt: Array<number | undefined> = []
      const index = new Map<string, number>()
      const early = new Map<string, number>()
      const done = yield* Deferred.make<void>()
      let acknowledged = 0
      yield* (yield* sdk.subscribe).pipe(
        Stream.runForEach((event) =>
          Effect.sync(() => {
            if (event._tag !== "Acknowledged") return
            const now = performance.now()
            const i = index.get(event.messageId)
            // An acknowledgement may beat the bookkeeping of its own send.
            if (i === undefined) early.set(event.messageId, now)
            else ackedAt[i] = now
            if (++acknowledged === total) Deferred.unsafeDone(done, Exit.void)
          })
        ),
        Effect.forkScoped
      )
      yield* paced(rate, total, (i) =>
        Effect.gen(function*() {
          const at = performance.now()
          const id = yield* sdk.sendMessage(pool[i % pool.length]!)
          sentAt[i] = at
          const acked = early.get(id)
          if (acked === undefined) index.set(id, i)
          else ackedAt[i] = acked
        }))
      yield* Deferred.await(done).pipe(Effect.timeout("60 seconds"))
      yield* sdk.stop()
      return summarize(rate, sentAt, ackedAt)
    }).pipe(Effect.scoped, Effect.provide(sdkLayer(brokerUrl, { maxInFlight })))
  )
}

const rawLatency = async (brokerUrl: string, rate: number, seconds: number): Promise<LatencyRun> => {
  const total = Math.round(rate * seconds)
  const bodies = bodiesOf(Array.from({ length: poolSize }, (_, i) => sample(i)))
  const topic = Envelope.topicFor(project.organizationId)
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clean: true, reconnectPeriod: 0 })
  try {
    const sentAt: Array<number> = []
    const ackedAt: Array<number | undefined> = []
    let acknowledged = 0
    let allAcked: () => void = () => {}
    const done = new Promise<void>((resolve) => {
      allAcked = resolve
    })
    await Effect.runPromise(paced(rate, total, (i) =>
      Effect.sync(() => {
        sentAt[i] = performance.now()
        client.publish(topic, bodies[i % bodies.length]!, { qos: 1 }, (error) => {
          if (error) throw error
          ackedAt[i] = performance.now()
          if (++acknowledged === total) allAcked()
        })
      })))
    await done
    return summarize(rate, sentAt, ackedAt)
  } finally {
    await client.endAsync()
  }
}

export const latency = async (
  brokerUrl: string,
  options: { readonly rate: number; readonly seconds: number; readonly maxInFlight: number }
): Promise<LatencyResult> => {
  const sdk = await sdkLatency(brokerUrl, options.rate, options.seconds, options.maxInFlight)
  const raw = await rawLatency(brokerUrl, options.rate, options.seconds)
  return { ...sdk, raw }
}
