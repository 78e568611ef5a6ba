/**
 * Throughput of the persistent queues, against the in-memory queue:
 *
 * - enqueue: `offer` of N messages sent concurrently (what a burst of `sendMessage` does), and one at a
 *   time awaited (each its own commit);
 * - send: `sendMessage` of N messages, 1,000 at a time (validation and wrapping included);
 * - delivery: N queued messages published to a local mosquitto by the SDK until every PUBACK is in.
 *
 * Run: `pnpm tsx --tsconfig ../../tsconfig.json bench/queue.ts` from `packages/sql` (mosquitto and, for
 * PostgreSQL, Debian's postgresql installed). `BENCH_N` sets N (default 20,000).
 */
import { Environment, Message, MessageQueue, StellaNow, StellaNowLive } from "@stellanow/sdk"
import type { ConfigurationError, StoreError } from "@stellanow/sdk"
import { PgQueue, SqliteQueue } from "@stellanow/sdk-sql"
import { Effect, Latch, type Layer, References, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { startMosquitto } from "../../sdk/test/support/Mosquitto.js"
import { startPostgres } from "../test/support/Postgres.js"

const N = Number(process.env.BENCH_N ?? 20_000)
const project = {
  organizationId: "5c4f4b8a-3a6e-4d7e-9f51-0d2c2f1b6a11",
  projectId: "9a1d7e52-8c3b-4f0a-b6de-2f7c1e9d4b33"
}
type QueueLayer = Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError>

const envelope = (i: number) => ({
  messageId: globalThis.crypto.randomUUID(),
  topic: "in/bench",
  eventName: "bench_event",
  body: JSON.stringify({ i, padding: "x".repeat(300) })
})

const rate = (count: number, ms: number) => `${Math.round(count / (ms / 1000)).toLocaleString("en")}/s`

const enqueue = (name: string, layer: QueueLayer) =>
  Effect.gen(function*() {
    const queue = yield* MessageQueue.MessageQueue
    const envelopes = Array.from({ length: N }, (_, i) => envelope(i))
    let start = Date.now()
    yield* Effect.forEach(envelopes, (e) => queue.offer(e), { concurrency: 1_000, discard: true })
    const burst = Date.now() - start
    const sequentialCount = Math.min(2_000, N)
    start = Date.now()
    for (let i = 0; i < sequentialCount; i++) yield* queue.offer(envelope(i))
    const sequential = Date.now() - start
    console.log(
      `enqueue  ${name.padEnd(26)} burst ${rate(N, burst).padStart(10)}   one at a time ${
        rate(sequentialCount, sequential).padStart(9)
      }`
    )
  }).pipe(Effect.provide(layer))

const message = (i: number) =>
  Message.raw({
    eventName: "bench_event",
    entities: [{ entityTypeDefinitionId: "patron", entityId: "p1" }],
    payload: JSON.stringify({ i, padding: "x".repeat(300) })
  })

const sdkLayer = (brokerUrl: string, layer: QueueLayer) =>
  StellaNowLive.layer({
    ...project,
    auth: "none",
    environment: Environment.custom({ brokerUrl }),
    queue: layer,
    reconnectSchedule: Schedule.spaced("100 millis")
  })

/** `sendMessage` (validation, wrapping and queueing) of N messages, 1,000 at a time, the SDK not started. */
const send = (name: string, brokerUrl: string, layer: QueueLayer) =>
  Effect.gen(function*() {
    const sdk = yield* StellaNow.StellaNow
    const messages = Array.from({ length: N }, (_, i) => message(i))
    const start = Date.now()
    yield* Effect.forEach(messages, (m) => sdk.sendMessage(m), { concurrency: 1_000, discard: true })
    console.log(
      `send     ${name.padEnd(26)} ${rate(N, Date.now() - start).padStart(10)}   (sendMessage, 1,000 concurrent)`
    )
  }).pipe(Effect.provide(sdkLayer(brokerUrl, layer)))

const deliver = (name: string, brokerUrl: string, layer: QueueLayer) =>
  Effect.gen(function*() {
    const sdk = yield* StellaNow.StellaNow
    yield* Effect.forEach(Array.from({ length: N }, (_, i) => message(i)), (m) => sdk.sendMessage(m), {
      concurrency: 1_000,
      discard: true
    })
    let acknowledged = 0
    const done = yield* Latch.make(false)
    yield* (yield* sdk.subscribe).pipe(
      Stream.runForEach((event) =>
        Effect.suspend(() => event._tag === "Acknowledged" && ++acknowledged === N ? done.open : Effect.void)
      ),
      Effect.forkScoped
    )
    const start = Date.now()
    yield* sdk.start
    yield* done.await
    const ms = Date.now() - start
    console.log(`deliver  ${name.padEnd(26)} ${rate(N, ms).padStart(10)}   (${N} messages in ${ms} ms)`)
    yield* sdk.stop()
  }).pipe(Effect.scoped, Effect.provide(sdkLayer(brokerUrl, layer)))

const main = Effect.gen(function*() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stellanow-bench-"))
  const broker = yield* Effect.promise(() => startMosquitto())
  const pg = yield* Effect.promise(() => startPostgres())
  const pgUrl = yield* Effect.promise(() => pg.createDatabase("bench"))
  let files = 0
  const sqlite = (synchronous: "full" | "normal") =>
    SqliteQueue.layer({ filename: path.join(dir, `q${files++}.db`), synchronous, capacity: 10 * N })
  let tables = 0
  const postgres = () => PgQueue.layer({ url: pgUrl, table: `bench_${tables++}`, capacity: 10 * N })
  const memory = () => MessageQueue.layerFifo({ capacity: 10 * N })
  try {
    console.log(`N = ${N}, ${os.cpus().length} CPU(s), Node ${process.version}`)
    yield* enqueue("memory", memory())
    yield* enqueue("sqlite synchronous=full", sqlite("full"))
    yield* enqueue("sqlite synchronous=normal", sqlite("normal"))
    yield* enqueue("postgresql", postgres())
    const url = broker.url("mqtt")
    yield* send("memory", url, memory())
    yield* send("sqlite synchronous=full", url, sqlite("full"))
    yield* send("sqlite synchronous=normal", url, sqlite("normal"))
    yield* send("postgresql", url, postgres())
    yield* deliver("memory", url, memory())
    yield* deliver("sqlite synchronous=full", url, sqlite("full"))
    yield* deliver("sqlite synchronous=normal", url, sqlite("normal"))
    yield* deliver("postgresql", url, postgres())
    yield* deliver("memory (again)", url, memory())
  } finally {
    yield* Effect.promise(() => broker.dispose())
    yield* Effect.promise(() => pg.dispose())
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

Effect.runPromise(main.pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))).catch((error) => {
  console.error(error)
  process.exit(1)
})
