/**
 * `sendMessage` into a queue alone, the SDK not started (no broker): rate and this process's CPU per
 * message, 64 callers, one new queue a round. For A/B runs of the persistent queues' enqueue path and
 * for CPU profiles:
 *
 *   node [--cpu-prof] --import tsx src/enqueueAlone.ts memory|normal|full [messages] [rounds] [sql entry]
 *
 * (in packages/bench, after building the packages; `sql entry` loads another build of
 * `@stellanow/sdk-sql`, e.g. a copy of an older `dist` inside packages/sql, so that it resolves the same
 * dependencies).
 */
import { StellaNow } from "@stellanow/sdk"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { sample } from "./messages.js"
import { loadSqlQueues } from "./persistent.js"
import { progress, round, run, sdkLayer } from "./support.js"

const [kind = "normal", messages = "5000", rounds = "10", build = ""] = process.argv.slice(2)
const count = Number(messages)
const sql = await loadSqlQueues(build === "" ? undefined : pathToFileURL(build).href)
if (sql === undefined) throw new Error("cannot load @stellanow/sdk-sql")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stellanow-enqueue-"))
const pool = Array.from({ length: 1000 }, (_, i) => sample(i))
const results: Array<string> = []
try {
  for (let r = 0; r < Number(rounds); r++) {
    const queue = kind === "memory" ? {} : {
      queue: sql.SqliteQueue.layer({
        filename: path.join(dir, `q${r}.db`),
        synchronous: kind as "normal" | "full",
        capacity: count
      })
    }
    results.push(
      await run(
        Effect.gen(function*() {
          const sdk = yield* StellaNow.StellaNow
          const cpu = process.cpuUsage()
          const started = performance.now()
          yield* Effect.forEach(
            Array.from({ length: count }, (_, i) => i),
            (i) => sdk.sendMessage(pool[i % pool.length]!),
            { concurrency: 64, discard: true }
          )
          const perSecond = (count / (performance.now() - started)) * 1000
          const used = process.cpuUsage(cpu)
          return `${round(perSecond)}/s ${round((used.user + used.system) / count, 1)} µs`
        }).pipe(Effect.provide(sdkLayer("mqtt://127.0.0.1:1", { queueCapacity: count, ...queue })))
      )
    )
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
progress(`${kind}${build === "" ? "" : ` (${build})`}: ${results.join(" | ")}`)
