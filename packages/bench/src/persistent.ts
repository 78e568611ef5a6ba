/**
 * The persistent queues (`@stellanow/sdk-sql`'s SQLite and PostgreSQL queues) against the in-memory
 * queue: how fast `sendMessage` queues (one caller at a time, and 64 at once), and how fast a queue that
 * filled while disconnected is delivered once the SDK starts. Skipped ("n/a") when the package is not
 * there; PostgreSQL is skipped when it is not installed (a throwaway server is started with `initdb`,
 * as the sql package's tests do).
 */
import type { MessageQueue, StellaNowError } from "@stellanow/sdk"
import { StellaNow } from "@stellanow/sdk"
import { Effect, type Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { sample } from "./messages.js"
import { progress, round, run, sdkLayer } from "./support.js"
import { poolSize } from "./throughput.js"

/** What the benchmark uses of `@stellanow/sdk-sql`. */
export interface SqlQueues {
  readonly SqliteQueue: {
    readonly layer: (options: {
      readonly filename: string
      readonly synchronous?: "normal" | "full" | undefined
      readonly capacity?: number | undefined
    }) => Layer.Layer<MessageQueue.MessageQueue, StellaNowError.ConfigurationError>
  }
  readonly PgQueue: {
    readonly layer: (options: {
      readonly url: string
      readonly table: string
      readonly capacity?: number | undefined
    }) => Layer.Layer<MessageQueue.MessageQueue, StellaNowError.ConfigurationError | StellaNowError.StoreError>
  }
}

export interface QueueRun {
  readonly queue: string
  /** `sendMessage` calls completed per second, one caller at a time. */
  readonly enqueue_msgs_per_s: number
  /** The same with 64 callers at once. */
  readonly enqueue_concurrent_msgs_per_s: number
  /** Messages delivered per second, from `start` until the queue is empty. */
  readonly delivery_msgs_per_s: number
}

export interface PersistentResult {
  readonly messages: number
  readonly runs: ReadonlyArray<QueueRun>
}

/**
 * The persistent queue's headline figures: SQLite as documented by default (`synchronous: "full"`, every
 * returned `sendMessage` committed and flushed), `sendMessage` with 64 callers (the group commit's case),
 * and its delivery against the memory queue's in the same run.
 */
export interface SqliteSummary {
  readonly enqueue_per_s: number
  /** The same with `synchronous: "normal"` (survives the process being killed, not a power loss). */
  readonly enqueue_normal_per_s: number
  /** SQLite's delivery over the memory queue's. */
  readonly delivery_ratio: number
  /** PostgreSQL's, 64 callers, and its delivery over the memory queue's; null when it was not run. */
  readonly postgres_enqueue_per_s: number | null
  readonly postgres_delivery_ratio: number | null
}

export const summarize = (result: PersistentResult): SqliteSummary | null => {
  const find = (queue: string) => result.runs.find((run) => run.queue === queue)
  const memory = find("memory (FIFO)")
  const full = find("SQLite, synchronous full")
  const normal = find("SQLite, synchronous normal")
  const postgres = find("PostgreSQL")
  if (memory === undefined || full === undefined || normal === undefined) return null
  return {
    enqueue_per_s: full.enqueue_concurrent_msgs_per_s,
    enqueue_normal_per_s: normal.enqueue_concurrent_msgs_per_s,
    delivery_ratio: round(full.delivery_msgs_per_s / memory.delivery_msgs_per_s, 3),
    postgres_enqueue_per_s: postgres?.enqueue_concurrent_msgs_per_s ?? null,
    postgres_delivery_ratio: postgres === undefined
      ? null
      : round(postgres.delivery_msgs_per_s / memory.delivery_msgs_per_s, 3)
  }
}

const sqlEntry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../sql/src/index.ts")

/**
 * `@stellanow/sdk-sql`, or `undefined` when it is not in the workspace (yet). `specifier` loads another
 * build instead (`persistentAlone.ts`'s A/B runs).
 */
export const loadSqlQueues = async (specifier = "@stellanow/sdk-sql"): Promise<SqlQueues | undefined> => {
  if (!fs.existsSync(sqlEntry)) return undefined
  try {
    const module = (await import(specifier)) as Partial<SqlQueues>
    return module.SqliteQueue === undefined ? undefined : (module as SqlQueues)
  } catch (error) {
    progress(`persistent queue: cannot load @stellanow/sdk-sql (${String(error)})`)
    return undefined
  }
}

/** Measures one queue: `sendMessage` with 1 caller, then 64, each followed by delivery once started. */
export const measureQueue = (
  name: string,
  brokerUrl: string,
  messages: number,
  queue: () => Partial<Parameters<typeof sdkLayer>[1]>,
  /** Only the 64 callers' run (profiles): `enqueue_msgs_per_s` is then 0. */
  onlyConcurrent = false
): Promise<QueueRun> => {
  const pool = Array.from({ length: poolSize }, (_, i) => sample(i))
  const enqueue = (concurrency: number) =>
    run(
      Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        const started = performance.now()
        yield* Effect.forEach(
          Array.from({ length: messages }, (_, i) => i),
          (i) => sdk.sendMessage(pool[i % pool.length]!),
          { concurrency, discard: true }
        )
        const perSecond = (messages / (performance.now() - started)) * 1000
        yield* sdk.start
        const delivering = performance.now()
        while ((yield* sdk.queueSize) > 0) yield* Effect.sleep("1 millis")
        const delivered = (messages / (performance.now() - delivering)) * 1000
        yield* sdk.stop()
        return { perSecond, delivered }
      }).pipe(Effect.provide(sdkLayer(brokerUrl, { queueCapacity: messages, ...queue() })))
    )
  if (onlyConcurrent) {
    return enqueue(64).then((concurrent) => ({
      queue: name,
      enqueue_msgs_per_s: 0,
      enqueue_concurrent_msgs_per_s: round(concurrent.perSecond),
      delivery_msgs_per_s: round(concurrent.delivered)
    }))
  }
  return enqueue(1).then(async (sequential) => {
    const concurrent = await enqueue(64)
    const result = {
      queue: name,
      enqueue_msgs_per_s: round(sequential.perSecond),
      enqueue_concurrent_msgs_per_s: round(concurrent.perSecond),
      // Both runs deliver the same number of messages the same way: their mean.
      delivery_msgs_per_s: round((sequential.delivered + concurrent.delivered) / 2)
    }
    progress(`persistent queue: ${JSON.stringify(result)}`)
    return result
  })
}

export const persistent = async (
  brokerUrl: string,
  options: { readonly messages: number }
): Promise<PersistentResult | undefined> => {
  const sql = await loadSqlQueues()
  if (sql === undefined) return undefined
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stellanow-bench-"))
  let files = 0
  const sqlite = (synchronous: "normal" | "full") => () => ({
    queue: sql.SqliteQueue.layer({
      filename: path.join(dir, `queue-${files++}.db`),
      synchronous,
      capacity: options.messages
    })
  })
  try {
    const runs = [
      await measureQueue("memory (FIFO)", brokerUrl, options.messages, () => ({})),
      await measureQueue("SQLite, synchronous full", brokerUrl, options.messages, sqlite("full")),
      await measureQueue("SQLite, synchronous normal", brokerUrl, options.messages, sqlite("normal"))
    ]
    const postgres = await measurePostgres(sql, brokerUrl, options.messages)
    return { messages: options.messages, runs: postgres === undefined ? runs : [...runs, postgres] }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The PostgreSQL queue on a throwaway server, each run on a table of its own; undefined when not installed. */
const measurePostgres = async (
  sql: SqlQueues,
  brokerUrl: string,
  messages: number
): Promise<QueueRun | undefined> => {
  const { startPostgres } = await import("../../sql/test/support/Postgres.js")
  let server: Awaited<ReturnType<typeof startPostgres>>
  try {
    server = await startPostgres()
  } catch (error) {
    progress(`persistent queue: PostgreSQL skipped (${String(error).split("\n")[0]})`)
    return undefined
  }
  try {
    let tables = 0
    return await measureQueue("PostgreSQL", brokerUrl, messages, () => ({
      queue: sql.PgQueue.layer({ url: server.url(), table: `bench_${tables++}`, capacity: messages })
    }))
  } finally {
    await server.dispose()
  }
}
