/**
 * The user's path, the headline: a new message made per event, exactly as the README's loop makes it (a
 * new `UserDetailsUpdateMessage` with a new `PhoneNumberModel`), sent with `await sdk.sendMessage` through
 * the Promise front door, and with the Effect API (`Effect.forEach` over `StellaNow.sendMessage`); against
 * raw mqtt.js building its envelope per message with `JSON.stringify`, QoS 1, the same window in flight.
 * Each run is timed from its first message made to the last PUBACK, and counts only once a QoS 1
 * subscriber on the same mosquitto has every one of its messages (`subscriber.ts`). The three alternate
 * round by round, in one process, so a change of load on the machine hits all of them.
 */
import { configureSdk, Envelope, Environment, StellaNow } from "@stellanow/sdk"
import { Effect } from "effect"
import * as mqtt from "mqtt"
import { PhoneNumberModel, UserDetailsUpdateMessage } from "./messages.js"
import type { Subscriber } from "./subscriber.js"
import { cpuMicros, median, progress, round, run, sdkLayer } from "./support.js"
import type { Run } from "./throughput.js"

export type Path = "sdk" | "effect" | "raw"

export interface UserPathResult {
  readonly messages: number
  readonly maxInFlight: number
  readonly rounds: ReadonlyArray<Record<Path, Run>>
  /** Medians over the rounds: the Promise front door, the Effect API, raw mqtt.js. */
  readonly sdk_msgs_per_s: number
  readonly effect_msgs_per_s: number
  readonly raw_msgs_per_s: number
  /** Median `await sdk.sendMessage` throughput over median raw throughput: the headline. */
  readonly ratio: number
  readonly effect_ratio: number
  /** The lowest and highest SDK/raw ratio of a single round. */
  readonly ratio_range: readonly [number, number]
  readonly sdk_cpu_us_per_msg: number
  readonly effect_cpu_us_per_msg: number
  readonly raw_cpu_us_per_msg: number
  /** Raw mqtt.js's CPU per message over the front door's: the ratio in CPU time, steadier on a busy machine. */
  readonly cpu_ratio: number
}

/** Each run its own organization, so its own topic: the subscriber counts each run's messages apart. */
const freshProject = () => ({
  organizationId: globalThis.crypto.randomUUID(),
  projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Starts the clock; the function it returns stops it, for `count` messages. */
const stopwatch = (count: number) => {
  const cpu = process.cpuUsage()
  const started = performance.now()
  return (): Run => {
    const elapsed = performance.now() - started
    return { msgsPerSecond: (count / elapsed) * 1000, cpuMicrosPerMessage: cpuMicros(cpu) / count }
  }
}

/** Times `body` (which sends `count` messages and waits for the last PUBACK), then checks the subscriber. */
const timed = async (
  subscriber: Subscriber,
  topic: string,
  count: number,
  body: () => Promise<void>
): Promise<Run> => {
  const stop = stopwatch(count)
  await body()
  const result = stop()
  await subscriber.waitFor(topic, count)
  return result
}

/** The README's plain async loop, through the Promise front door. */
export const runPromiseFrontDoor = async (
  brokerUrl: string,
  subscriber: Subscriber,
  count: number,
  maxInFlight: number
): Promise<Run> => {
  const project = freshProject()
  const sdk = configureSdk({
    auth: "none",
    environment: Environment.custom({ brokerUrl }),
    ...project,
    maxInFlight,
    queueCapacity: Math.max(count, 100_000),
    logLevel: "error",
    logger: { debug: () => {}, info: () => {}, warn: console.error, error: console.error }
  })
  try {
    await sdk.start()
    return await timed(subscriber, Envelope.topicFor(project.organizationId), count, async () => {
      for (let i = 0; i < count; i++) {
        const message = new UserDetailsUpdateMessage({
          patron: "12345",
          user_id: `user_${i}`,
          phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
        })
        await sdk.sendMessage(message) // queued; resolves with the message id
      }
      while ((await sdk.queueSize()) > 0) await sleep(1)
    })
  } finally {
    await sdk.close()
  }
}

/** The same loop with the Effect API: `Effect.forEach` over `StellaNow.sendMessage`. */
export const runEffectApi = (
  brokerUrl: string,
  subscriber: Subscriber,
  count: number,
  maxInFlight: number
): Promise<Run> => {
  const project = freshProject()
  const indices = Array.from({ length: count }, (_, i) => i)
  return run(
    Effect.gen(function*() {
      yield* StellaNow.start
      const stop = stopwatch(count)
      yield* Effect.forEach(indices, (i) =>
        StellaNow.sendMessage(
          new UserDetailsUpdateMessage({
            patron: "12345",
            user_id: `user_${i}`,
            phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
          })
        ), { discard: true })
      while ((yield* StellaNow.StellaNow.use((sdk) => sdk.queueSize)) > 0) yield* Effect.sleep("1 millis")
      const result = stop()
      yield* Effect.promise(() => subscriber.waitFor(Envelope.topicFor(project.organizationId), count))
      return result
    }).pipe(Effect.provide(sdkLayer(brokerUrl, { ...project, maxInFlight, queueCapacity: Math.max(count, 100_000) })))
  )
}

/**
 * Raw mqtt.js, as a careful user of it would send the same event: the envelope built per message with
 * `JSON.stringify` (a new message id and origin date each), QoS 1, `maxInFlight` awaiting their PUBACK.
 */
export const runRawPerMessage = async (
  brokerUrl: string,
  subscriber: Subscriber,
  count: number,
  maxInFlight: number
): Promise<Run> => {
  const project = freshProject()
  const topic = Envelope.topicFor(project.organizationId)
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clean: true, reconnectPeriod: 0 })
  try {
    return await timed(subscriber, topic, count, () =>
      new Promise<void>((resolve, reject) => {
        let next = 0
        let acknowledged = 0
        const fill = () => {
          while (next < count && next - acknowledged < maxInFlight) {
            client.publish(topic, rawBody(project, next++), { qos: 1 }, (error) => {
              if (error) return reject(error)
              if (++acknowledged === count) resolve()
              else fill()
            })
          }
        }
        fill()
      }))
  } finally {
    await client.endAsync()
  }
}

/** The wire envelope of the README's message number `i` (WIRE.md §1), built with `JSON.stringify`. */
export const rawBody = (project: { organizationId: string; projectId: string }, i: number): string =>
  JSON.stringify({
    key: {
      organizationId: project.organizationId,
      projectId: project.projectId,
      entityId: "12345",
      entityTypeDefinitionId: "patron"
    },
    value: {
      metadata: {
        messageId: globalThis.crypto.randomUUID(),
        messageOriginDateUTC: new Date().toISOString().replace("Z", "000Z"),
        eventTypeDefinitionId: "user_details_update",
        entityTypeIds: [{ entityTypeDefinitionId: "patron", entityId: "12345" }]
      },
      payload: JSON.stringify({ user_id: `user_${i}`, phone_number: { country_code: 44, number: 753594 + i } })
    }
  })

const runners: Record<Path, typeof runRawPerMessage> = {
  sdk: runPromiseFrontDoor,
  effect: runEffectApi,
  raw: runRawPerMessage
}

export const userPath = async (
  brokerUrl: string,
  subscriber: Subscriber,
  options: { readonly messages: number; readonly rounds: number; readonly maxInFlight: number }
): Promise<UserPathResult> => {
  const { maxInFlight, messages: count } = options
  const order: ReadonlyArray<Path> = ["sdk", "effect", "raw"]
  // A warm-up of each, not counted: the JIT, the broker's first connections.
  for (const path of order) await runners[path](brokerUrl, subscriber, Math.min(count, 5_000), maxInFlight)
  const rounds: Array<Record<Path, Run>> = []
  for (let i = 0; i < options.rounds; i++) {
    // Rotate which goes first, so a drift in the machine's load favours none.
    const runs: Partial<Record<Path, Run>> = {}
    for (let k = 0; k < order.length; k++) {
      const path = order[(i + k) % order.length]!
      runs[path] = await runners[path](brokerUrl, subscriber, count, maxInFlight)
    }
    const done = runs as Record<Path, Run>
    rounds.push(done)
    progress(
      `user path round ${i + 1}/${options.rounds}: await sdk.sendMessage ${round(done.sdk.msgsPerSecond)}/s, ` +
        `Effect API ${round(done.effect.msgsPerSecond)}/s, raw ${round(done.raw.msgsPerSecond)}/s`
    )
  }
  const rate = (path: Path) => median(rounds.map((r) => r[path].msgsPerSecond))
  const cpu = (path: Path) => round(median(rounds.map((r) => r[path].cpuMicrosPerMessage)), 1)
  const roundRatios = rounds.map((r) => r.sdk.msgsPerSecond / r.raw.msgsPerSecond)
  return {
    messages: count,
    maxInFlight,
    rounds,
    sdk_msgs_per_s: round(rate("sdk")),
    effect_msgs_per_s: round(rate("effect")),
    raw_msgs_per_s: round(rate("raw")),
    ratio: round(rate("sdk") / rate("raw"), 3),
    effect_ratio: round(rate("effect") / rate("raw"), 3),
    ratio_range: [round(Math.min(...roundRatios), 2), round(Math.max(...roundRatios), 2)],
    sdk_cpu_us_per_msg: cpu("sdk"),
    effect_cpu_us_per_msg: cpu("effect"),
    raw_cpu_us_per_msg: cpu("raw"),
    cpu_ratio: round(cpu("raw") / cpu("sdk"), 3)
  }
}
