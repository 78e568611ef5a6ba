/**
 * The persistent-queue section alone, for A/B runs and CPU profiles:
 *
 *   node [--cpu-prof] --import tsx src/persistentAlone.ts [messages] [rounds] [queues] [A.js,B.js]
 *
 * (in packages/bench, after building the packages). `queues` is a comma-separated list of `memory`,
 * `full`, `normal`, `pg` (default `memory,full,normal`). With builds to compare (paths of
 * `@stellanow/sdk-sql` entry points, e.g. a copy of an older `dist/index.js` inside packages/sql so that
 * it resolves the same dependencies), each round runs every build in turn, starting with a different one.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { startMosquitto } from "../../sdk/test/support/Mosquitto.js"
import { loadSqlQueues, measureQueue, type QueueRun, type SqlQueues } from "./persistent.js"
import { progress } from "./support.js"

const [messages = "5000", rounds = "3", queueList = "memory,full,normal", builds = ""] = process.argv.slice(2)
const count = Number(messages)
/** `PERSISTENT_ONLY_64=1`: only the 64 callers' runs (for profiles of the group commit). */
const onlyConcurrent = process.env["PERSISTENT_ONLY_64"] === "1"
const specifiers = builds === "" ? ["@stellanow/sdk-sql"] : builds.split(",").map((b) => pathToFileURL(b).href)
const loaded: Array<SqlQueues> = []
for (const specifier of specifiers) {
  const sql = await loadSqlQueues(specifier)
  if (sql === undefined) throw new Error(`cannot load ${specifier}`)
  loaded.push(sql)
}
const broker = await startMosquitto({ extraConfig: "max_queued_messages 0\n" })
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stellanow-bench-"))
const postgres = queueList.includes("pg")
  ? await (await import("../../sql/test/support/Postgres.js")).startPostgres()
  : undefined
let files = 0
const queueOf = (sql: SqlQueues, queue: string) => () => {
  if (queue === "memory") return {}
  if (queue === "pg") {
    return { queue: sql.PgQueue.layer({ url: postgres!.url(), table: `bench_${files++}`, capacity: count }) }
  }
  const synchronous = queue as "full" | "normal"
  return {
    queue: sql.SqliteQueue.layer({ filename: path.join(dir, `q-${files++}.db`), synchronous, capacity: count })
  }
}
const results: Record<string, Array<QueueRun>> = {}
try {
  for (let r = 0; r < Number(rounds); r++) {
    for (let k = 0; k < loaded.length; k++) {
      const b = (r + k) % loaded.length
      for (const queue of queueList.split(",")) {
        const run = await measureQueue(
          `${queue} build ${b}`,
          broker.url("mqtt"),
          count,
          queueOf(loaded[b]!, queue),
          onlyConcurrent
        )
        ;(results[run.queue] ??= []).push(run)
      }
    }
  }
} finally {
  await postgres?.dispose()
  await broker.dispose()
  fs.rmSync(dir, { recursive: true, force: true })
}
const median = (values: Array<number>) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
for (const [name, runs] of Object.entries(results)) {
  progress(
    `${name}: enqueue 1 ${median(runs.map((r) => r.enqueue_msgs_per_s))}/s, 64 ` +
      `${median(runs.map((r) => r.enqueue_concurrent_msgs_per_s))}/s, delivery ` +
      `${median(runs.map((r) => r.delivery_msgs_per_s))}/s (${
        runs.map((r) => r.enqueue_concurrent_msgs_per_s).join(", ")
      })`
  )
}
