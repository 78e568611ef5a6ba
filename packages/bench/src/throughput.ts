/**
 * Throughput: N QoS 1 events from `sendMessage` to the last PUBACK, against raw mqtt.js publishing the
 * same bytes with the same window of publishes in flight. SDK and raw runs alternate, round by round,
 * so a change of load on the machine hits both.
 */
import { Envelope, StellaNow } from "@stellanow/sdk"
import { Effect, Result } from "effect"
import * as mqtt from "mqtt"
import { project, sample, type UserDetailsUpdateMessage } from "./messages.js"
import { cpuMicros, median, progress, round, run, sdkLayer } from "./support.js"

export interface Run {
  readonly msgsPerSecond: number
  /** CPU time of this process per message, in microseconds (a steadier figure on a busy machine). */
  readonly cpuMicrosPerMessage: number
}

/** The SDK's two halves apart: queueing while stopped, then delivering the backlog. */
export interface Phases {
  /** CPU of `sendMessage` per message: validating, wrapping and queueing (and collecting the garbage). */
  readonly sendCpuMicrosPerMessage: number
  /** Delivery of `count` messages already queued, from `start` to the last PUBACK. */
  readonly drain: Run
}

export interface ThroughputResult {
  readonly messages: number
  readonly maxInFlight: number
  readonly rounds: ReadonlyArray<{ readonly sdk: Run; readonly raw: Run; readonly phases: Phases }>
  readonly sdk_msgs_per_s: number
  readonly raw_msgs_per_s: number
  /** Median SDK throughput over median raw throughput. */
  readonly ratio: number
  /** The lowest and highest SDK/raw ratio of a single round: how much the machine moved under the run. */
  readonly ratio_range: readonly [number, number]
  readonly sdk_cpu_us_per_msg: number
  readonly raw_cpu_us_per_msg: number
  /** Medians of the phases: what `sendMessage` costs, and how fast a queued backlog is delivered. */
  readonly sdk_send_cpu_us_per_msg: number
  readonly sdk_drain_msgs_per_s: number
  readonly sdk_drain_cpu_us_per_msg: number
  /** Median backlog delivery over median raw throughput. */
  readonly drain_ratio: number
}

/** The SDK: sends `count` messages from the pool, then waits until the broker acknowledged them all. */
export const runSdk = (
  brokerUrl: string,
  pool: ReadonlyArray<UserDetailsUpdateMessage>,
  count: number,
  maxInFlight: number
): Promise<Run> =>
  run(
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.start
      const cpu = process.cpuUsage()
      const started = performance.now()
      for (let i = 0; i < count; i++) yield* sdk.sendMessage(pool[i % pool.length]!)
      while ((yield* sdk.queueSize) > 0) yield* Effect.sleep("1 millis")
      const elapsed = performance.now() - started
      const used = cpuMicros(cpu)
      yield* sdk.stop()
      return { msgsPerSecond: (count / elapsed) * 1000, cpuMicrosPerMessage: used / count }
    }).pipe(Effect.provide(sdkLayer(brokerUrl, { maxInFlight, queueCapacity: Math.max(count, 100_000) })))
  )

/** The SDK in two phases: `count` messages queued before `start`, then delivered. */
export const runSdkPhases = (
  brokerUrl: string,
  pool: ReadonlyArray<UserDetailsUpdateMessage>,
  count: number,
  maxInFlight: number
): Promise<Phases> =>
  run(
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      const sendCpu = process.cpuUsage()
      for (let i = 0; i < count; i++) yield* sdk.sendMessage(pool[i % pool.length]!)
      const sendCpuMicrosPerMessage = cpuMicros(sendCpu) / count
      const cpu = process.cpuUsage()
      const started = performance.now()
      yield* sdk.start
      while ((yield* sdk.queueSize) > 0) yield* Effect.sleep("1 millis")
      const elapsed = performance.now() - started
      const used = cpuMicros(cpu)
      yield* sdk.stop()
      return {
        sendCpuMicrosPerMessage,
        drain: { msgsPerSecond: (count / elapsed) * 1000, cpuMicrosPerMessage: used / count }
      }
    }).pipe(Effect.provide(sdkLayer(brokerUrl, { maxInFlight, queueCapacity: Math.max(count, 100_000) })))
  )

/** Raw mqtt.js: publishes `count` bodies from the pool at QoS 1, keeping `maxInFlight` awaiting their PUBACK. */
export const runRaw = async (
  brokerUrl: string,
  bodies: ReadonlyArray<string>,
  count: number,
  maxInFlight: number
): Promise<Run> => {
  const topic = Envelope.topicFor(project.organizationId)
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clean: true, reconnectPeriod: 0 })
  try {
    const cpu = process.cpuUsage()
    const started = performance.now()
    await new Promise<void>((resolve, reject) => {
      let next = 0
      let acknowledged = 0
      const fill = () => {
        while (next < count && next - acknowledged < maxInFlight) {
          client.publish(topic, bodies[next++ % bodies.length]!, { qos: 1 }, (error) => {
            if (error) return reject(error)
            if (++acknowledged === count) resolve()
            else fill()
          })
        }
      }
      fill()
    })
    const elapsed = performance.now() - started
    const used = cpuMicros(cpu)
    return { msgsPerSecond: (count / elapsed) * 1000, cpuMicrosPerMessage: used / count }
  } finally {
    await client.endAsync()
  }
}

/** How many distinct messages the benchmarks make up front and send over and over. */
export const poolSize = 1_000

/** The envelope bodies of `messages`, as the SDK would send them. */
export const bodiesOf = (messages: ReadonlyArray<UserDetailsUpdateMessage>): Array<string> =>
  messages.map((message) => {
    const envelope = Envelope.wrapWith(message, project, {
      messageId: globalThis.crypto.randomUUID(),
      originDate: new Date().toISOString().replace("Z", "000Z")
    })
    if (Result.isFailure(envelope)) throw envelope.failure
    return envelope.success.body
  })

export const throughput = async (
  brokerUrl: string,
  options: { readonly messages: number; readonly rounds: number; readonly maxInFlight: number }
): Promise<ThroughputResult> => {
  // A pool of messages made up front and sent over and over (each send makes its own envelope and id), and
  // their bodies for raw mqtt.js: neither side's heap fills with thousands of messages an application
  // would have made and dropped one by one.
  const pool = Array.from({ length: poolSize }, (_, i) => sample(i))
  const bodies = bodiesOf(pool)
  const count = options.messages
  // A warm-up of each, not counted: the JIT, the broker's first connections.
  const warmUp = Math.min(count, 5_000)
  await runSdk(brokerUrl, pool, warmUp, options.maxInFlight)
  await runRaw(brokerUrl, bodies, warmUp, options.maxInFlight)
  const rounds: Array<{ sdk: Run; raw: Run; phases: Phases }> = []
  for (let i = 0; i < options.rounds; i++) {
    // Alternate which goes first, so a drift in the machine's load favours neither.
    let sdk: Run, raw: Run
    if (i % 2 === 0) {
      sdk = await runSdk(brokerUrl, pool, count, options.maxInFlight)
      raw = await runRaw(brokerUrl, bodies, count, options.maxInFlight)
    } else {
      raw = await runRaw(brokerUrl, bodies, count, options.maxInFlight)
      sdk = await runSdk(brokerUrl, pool, count, options.maxInFlight)
    }
    const phases = await runSdkPhases(brokerUrl, pool, count, options.maxInFlight)
    rounds.push({ sdk, raw, phases })
    progress(
      `throughput round ${i + 1}/${options.rounds}: sdk ${round(sdk.msgsPerSecond)}/s, raw ${
        round(raw.msgsPerSecond)
      }/s; backlog delivery ${round(phases.drain.msgsPerSecond)}/s`
    )
  }
  const sdkMedian = median(rounds.map((r) => r.sdk.msgsPerSecond))
  const rawMedian = median(rounds.map((r) => r.raw.msgsPerSecond))
  const drainMedian = median(rounds.map((r) => r.phases.drain.msgsPerSecond))
  const roundRatios = rounds.map((r) => r.sdk.msgsPerSecond / r.raw.msgsPerSecond)
  return {
    messages: options.messages,
    maxInFlight: options.maxInFlight,
    rounds,
    sdk_msgs_per_s: round(sdkMedian),
    raw_msgs_per_s: round(rawMedian),
    ratio: round(sdkMedian / rawMedian, 3),
    ratio_range: [round(Math.min(...roundRatios), 2), round(Math.max(...roundRatios), 2)],
    sdk_cpu_us_per_msg: round(median(rounds.map((r) => r.sdk.cpuMicrosPerMessage)), 1),
    raw_cpu_us_per_msg: round(median(rounds.map((r) => r.raw.cpuMicrosPerMessage)), 1),
    sdk_send_cpu_us_per_msg: round(median(rounds.map((r) => r.phases.sendCpuMicrosPerMessage)), 1),
    sdk_drain_msgs_per_s: round(drainMedian),
    sdk_drain_cpu_us_per_msg: round(median(rounds.map((r) => r.phases.drain.cpuMicrosPerMessage)), 1),
    drain_ratio: round(drainMedian / rawMedian, 3)
  }
}
