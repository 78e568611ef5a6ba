/**
 * The user path's costs apart, in a child process of its own (`child.ts costs`), no broker involved:
 *
 * - `construct_us`: making one seed message with its model, as the README's loop does
 *   (`new UserDetailsUpdateMessage({ …, phone_number: new PhoneNumberModel(…) })`), validation included.
 * - `send_effect_us`: one `StellaNow.sendMessage` of a message made up front, in `Effect.forEach`
 *   (validating the payload again as it encodes it, the id and date, the envelope's JSON, queueing).
 * - `send_facade_us`: one `await sdk.sendMessage` of the same, through the Promise front door.
 * - `send_us`: the front door's cost over the Effect API's (`send_facade_us - send_effect_us`).
 *
 * The SDK is not started, so nothing is delivered meanwhile: each figure is this process's CPU time
 * (user and system, its GC threads included) per call over a batch, the median of several batches (a
 * fresh SDK each, so the queue's growth is the same for all). CPU time rather than wall time: on a
 * machine shared with other work, a batch's wall time also counts the moments the process waited for a
 * core. The wall-time medians are kept beside (`*_wall_us`).
 */
import { configureSdk, Environment, StellaNow } from "@stellanow/sdk"
import { Effect } from "effect"
import { PhoneNumberModel, project, sample, UserDetailsUpdateMessage } from "./messages.js"
import { allocationMeter, cpuMicros, median, round, run, sdkLayer } from "./support.js"
import { poolSize } from "./throughput.js"

export interface Costs {
  readonly construct_us: number
  readonly construct_wall_us: number
  readonly send_facade_wall_us: number
  readonly send_effect_wall_us: number
  /** Bytes allocated per message made, and per `StellaNow.sendMessage` of one made up front. */
  readonly construct_alloc_bytes: number
  readonly send_alloc_bytes: number
  readonly send_facade_us: number
  readonly send_effect_us: number
  readonly send_us: number
}

/** Nothing listens there: the SDK is never started. */
const brokerUrl = "mqtt://127.0.0.1:9"
const batch = 20_000
const warmUps = 2
const batches = 9

/** What one call cost, over a batch: CPU and wall time, in microseconds. */
interface PerCall {
  readonly cpu: number
  readonly wall: number
}

/** Starts both clocks; the returned function stops them and divides by the batch. */
const clocks = () => {
  const cpu = process.cpuUsage()
  const started = performance.now()
  return (): PerCall => ({ cpu: cpuMicros(cpu) / batch, wall: ((performance.now() - started) * 1000) / batch })
}

/** Keeps what the loops make reachable, so the JIT cannot leave the construction out. */
let kept: unknown

/** Microseconds per message made, over one batch. */
const constructBatch = (): PerCall => {
  const stop = clocks()
  for (let i = 0; i < batch; i++) {
    kept = new UserDetailsUpdateMessage({
      patron: "12345",
      user_id: `user_${i}`,
      phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
    })
  }
  return stop()
}

const pool = Array.from({ length: poolSize }, (_, i) => sample(i))

/** Microseconds per `await sdk.sendMessage`, over one batch into a fresh, unstarted SDK. */
const facadeBatch = async (): Promise<PerCall> => {
  const sdk = configureSdk({
    auth: "none",
    environment: Environment.custom({ brokerUrl }),
    ...project,
    queueCapacity: batch,
    logLevel: "none"
  })
  try {
    await sdk.queueSize() // builds the layer, outside the timing
    const stop = clocks()
    for (let i = 0; i < batch; i++) await sdk.sendMessage(pool[i % pool.length]!)
    return stop()
  } finally {
    await sdk.close({ timeoutMs: 0 })
  }
}

const indices = Array.from({ length: batch }, (_, i) => i)

/** Microseconds per `StellaNow.sendMessage` in `Effect.forEach`, over one batch into a fresh, unstarted SDK. */
const effectBatch = (): Promise<PerCall> =>
  run(
    Effect.gen(function*() {
      const stop = clocks()
      yield* Effect.forEach(indices, (i) => StellaNow.sendMessage(pool[i % pool.length]!), { discard: true })
      return stop()
    }).pipe(Effect.provide(sdkLayer(brokerUrl, { queueCapacity: batch })))
  )

export const costs = async (): Promise<Costs> => {
  const construct: Array<PerCall> = []
  const facade: Array<PerCall> = []
  const effect: Array<PerCall> = []
  for (let i = 0; i < warmUps + batches; i++) {
    // Alternated, so a change of load on the machine hits each alike.
    const c = constructBatch()
    const f = await facadeBatch()
    const e = await effectBatch()
    if (i < warmUps) continue
    construct.push(c)
    facade.push(f)
    effect.push(e)
  }
  void kept
  const cpu = (runs: ReadonlyArray<PerCall>) => median(runs.map((run) => run.cpu))
  const wall = (runs: ReadonlyArray<PerCall>) => round(median(runs.map((run) => run.wall)), 2)
  const sendFacade = cpu(facade)
  const sendEffect = cpu(effect)
  const constructing = allocationMeter()
  constructBatch()
  const constructAlloc = constructing().allocated / batch
  const sending = allocationMeter()
  await effectBatch()
  // One batch includes building and releasing the SDK: a second one, less the first, is the sends alone.
  const sendAlloc = sending().allocated
  const sendingTwo = allocationMeter()
  await effectBatch()
  await effectBatch()
  const sendTwoAlloc = sendingTwo().allocated
  return {
    construct_us: round(cpu(construct), 2),
    construct_wall_us: wall(construct),
    send_facade_wall_us: wall(facade),
    send_effect_wall_us: wall(effect),
    construct_alloc_bytes: round(constructAlloc),
    send_alloc_bytes: round((sendTwoAlloc - sendAlloc) / batch),
    send_facade_us: round(sendFacade, 2),
    send_effect_us: round(sendEffect, 2),
    send_us: round(sendFacade - sendEffect, 2)
  }
}
