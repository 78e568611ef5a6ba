/**
 * Latency: from `sendMessage` to the broker's PUBACK (the SDK's `Acknowledged` event), at a steady rate
 * of half the SDK's measured capacity on the user's path; and raw mqtt.js at the same rate, for reference.
 * Both send as a user would: the SDK a new message per event (the README's loop, with the Effect API),
 * raw mqtt.js an envelope built per message with `JSON.stringify`. Run in a child process of its own
 * (see `main.ts`).
 *
 * Allocation per message at that steady rate (`allocationMeter`, in `support.ts`) counts the whole
 * process: the SDK, mqtt.js, the pacing loop.
 */
import { Envelope, StellaNow } from "@stellanow/sdk"
import { Deferred, Effect, Stream } from "effect"
import * as mqtt from "mqtt"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { PhoneNumberModel, project, UserDetailsUpdateMessage } from "./messages.js"
import { allocationMeter, cpuMicros, percentile, round, run, sdkLayer } from "./support.js"
import { rawBody } from "./userPath.js"

export interface LatencyRun {
  readonly rate_per_s: number
  readonly messages: number
  readonly p50_ms: number
  readonly p99_ms: number
  readonly max_ms: number
  /** CPU of this process per message while sending at the rate (a process near 1 s/s is saturated). */
  readonly cpu_us_per_msg: number
  /** Bytes the process allocated per message while sending at the rate (see the module's comment). */
  readonly alloc_bytes_per_msg: number
  /** Collections during the run (of which full ones), their pauses in all, and the longest one. */
  readonly gcs: number
  readonly major_gcs: number
  readonly gc_pause_ms: number
  readonly gc_max_pause_ms: number
  /**
   * How late the event loop ran its timers (Node's `monitorEventLoopDelay`, 1 ms resolution): the
   * process's own stalls (GC, long synchronous work, the machine's CPU taken by others), which every
   * message sent or acknowledged meanwhile waits out, whatever the SDK does.
   */
  readonly loop_delay_p99_ms: number
  readonly loop_delay_max_ms: number
}

/** Starts measuring the event loop's delay; the returned function stops it and gives p99 and max, in ms. */
const stallMeter = () => {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  return () => {
    histogram.disable()
    return { p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6 }
  }
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

/** The latencies (in order of acknowledgement) after the first tenth of the run, the warm-up. */
const summarize = (
  rate: number,
  all: ReadonlyArray<number>,
  cpu: NodeJS.CpuUsage,
  allocation: ReturnType<ReturnType<typeof allocationMeter>>,
  loopDelay: { readonly p99: number; readonly max: number }
): LatencyRun => {
  const latencies = all.slice(Math.floor(all.length / 10))
  return {
    rate_per_s: round(rate),
    messages: latencies.length,
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    max_ms: round(latencies.reduce((a, b) => Math.max(a, b), 0), 2),
    cpu_us_per_msg: round(cpuMicros(cpu) / all.length, 1),
    alloc_bytes_per_msg: round(allocation.allocated / all.length),
    gcs: allocation.gcs,
    major_gcs: allocation.majorGcs,
    gc_pause_ms: round(allocation.pauseMs, 1),
    gc_max_pause_ms: round(allocation.maxPauseMs, 2),
    loop_delay_p99_ms: round(loopDelay.p99, 2),
    loop_delay_max_ms: round(loopDelay.max, 2)
  }
}

const sdkLatency = (brokerUrl: string, rate: number, seconds: number, maxInFlight: number): Promise<LatencyRun> => {
  const total = Math.round(rate * seconds)
  return run(
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.start
      // When each message still in flight was sent, by id; and the latencies in order of acknowledgement.
      const sentAt = new Map<string, number>()
      const latencies: Array<number> = []
      const done = yield* Deferred.make<void>()
      yield* (yield* sdk.subscribe).pipe(
        Stream.runForEach((event) =>
          Effect.sync(() => {
            if (event._tag !== "Acknowledged") return
            const at = sentAt.get(event.messageId)
            if (at === undefined) throw new Error(`an acknowledgement of an unknown message ${event.messageId}`)
            sentAt.delete(event.messageId)
            latencies.push(performance.now() - at)
            if (latencies.length === total) Deferred.doneUnsafe(done, Effect.void)
          })
        ),
        Effect.forkScoped
      )
      const cpu = process.cpuUsage()
      const allocation = allocationMeter()
      const stalls = stallMeter()
      yield* paced(rate, total, (i) =>
        Effect.suspend(() => {
          const at = performance.now()
          const message = new UserDetailsUpdateMessage({
            patron: "12345",
            user_id: `user_${i}`,
            phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
          })
          // The id is known once sendMessage returns, before the message can be published.
          return Effect.map(sdk.sendMessage(message), (id) => void sentAt.set(id, at))
        }))
      yield* Deferred.await(done).pipe(Effect.timeout("60 seconds"))
      const allocated = allocation()
      yield* sdk.stop()
      return summarize(rate, latencies, cpu, allocated, stalls())
    }).pipe(Effect.scoped, Effect.provide(sdkLayer(brokerUrl, { maxInFlight })))
  )
}

const rawLatency = async (brokerUrl: string, rate: number, seconds: number): Promise<LatencyRun> => {
  const total = Math.round(rate * seconds)
  const topic = Envelope.topicFor(project.organizationId)
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clean: true, reconnectPeriod: 0 })
  try {
    const latencies: Array<number> = []
    let allAcked: () => void = () => {}
    const done = new Promise<void>((resolve) => {
      allAcked = resolve
    })
    const cpu = process.cpuUsage()
    const allocation = allocationMeter()
    const stalls = stallMeter()
    await Effect.runPromise(paced(rate, total, (i) =>
      Effect.sync(() => {
        const at = performance.now()
        client.publish(topic, rawBody(project, i), { qos: 1 }, (error) => {
          if (error) throw error
          latencies.push(performance.now() - at)
          if (latencies.length === total) allAcked()
        })
      })))
    await done
    return summarize(rate, latencies, cpu, allocation(), stalls())
  } finally {
    await client.endAsync()
  }
}

export const latency = async (
  brokerUrl: string,
  options: { readonly rate: number; readonly seconds: number; readonly maxInFlight: number }
): Promise<LatencyResult> => {
  // A fresh process compiles the hot paths as it goes: two seconds of both first, not counted.
  await sdkLatency(brokerUrl, options.rate, 2, options.maxInFlight)
  await rawLatency(brokerUrl, options.rate, 2)
  const sdk = await sdkLatency(brokerUrl, options.rate, options.seconds, options.maxInFlight)
  const raw = await rawLatency(brokerUrl, options.rate, options.seconds)
  return { ...sdk, raw }
}
