/**
 * The crash test: a process queues 20,000 messages while the broker is down, and is killed with
 * SIGKILL in the middle of delivering them once the broker is up; a new process on the same store
 * delivers every message id the first one was told was queued. A subscriber counts losses (must be
 * none) and duplicates (reported). On SQLite and on PostgreSQL.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Mosquitto, startMosquitto, subscribe } from "../../sdk/test/support/Mosquitto.js"
import { SqliteQueue } from "../src/index.js"
import { tally, waitForAll, waitForCount } from "./support/Counting.js"
import { openFailure } from "./support/files.js"
import { type Postgres, startPostgres } from "./support/Postgres.js"
import { type SdkProcessConfig, spawnSdkProcess } from "./support/SdkProcess.js"

const COUNT = 20_000

let dir: string
let server: Postgres
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stellanow-crash-"))
  server = await startPostgres()
})
afterAll(async () => {
  await server?.dispose()
  fs.rmSync(dir, { recursive: true, force: true })
})

const crashTest = async (
  store: SdkProcessConfig["store"],
  whileFirstRuns: () => Promise<void> = async () => {}
) => {
  const broker: Mosquitto = await startMosquitto()
  try {
    await broker.stop()
    const brokerUrl = broker.url("mqtt")
    // 1. Queue everything while the broker is down.
    const first = spawnSdkProcess({ store, brokerUrl, mode: "queue", count: COUNT })
    await first.waitFor(/^queued-all /)
    const told = [...first.queued]
    expect(told.length).toBe(COUNT)
    await whileFirstRuns()
    // 2. The broker comes up; delivery starts; SIGKILL in the middle of it.
    await broker.start()
    const subscriber = await subscribe(brokerUrl, "in/#")
    try {
      first.send("start")
      await waitForCount(subscriber, Math.floor(COUNT * 0.3), 60_000)
      await first.kill("SIGKILL")
      const atKill = subscriber.messages.length
      expect(atKill).toBeLessThan(COUNT)
      // 3. A new process on the same store delivers the rest.
      const second = spawnSdkProcess({ store, brokerUrl, mode: "deliver" })
      await second.waitFor(/^opened$/)
      second.send("start")
      await second.waitFor(/^started$/)
      await waitForAll(subscriber, told, 90_000).catch((error) => {
        throw new Error(`${error.message}\n--- second process ---\n${second.stderr()}`)
      })
      second.send("stop")
      const stopped = await second.waitFor(/^stopped /)
      await second.exited
      const result = tally(subscriber, told)
      console.log(
        `crash test on ${store.kind}: ${result.expected} queued, killed after ${atKill} delivered; ` +
          `received ${result.received}, lost ${result.lost}, duplicates ${result.duplicates}; second process: ${stopped}`
      )
      expect(result.lost).toBe(0)
      expect(stopped.split(" ")[1]).toBe("0")
      return result
    } finally {
      await subscriber.close()
    }
  } finally {
    await broker.dispose()
  }
}

describe("crash: SIGKILL mid-delivery, then a new process on the same store", () => {
  it("SQLite: nothing lost", async () => {
    const filename = path.join(dir, "crash.db")
    await crashTest({ kind: "sqlite", filename }, async () => {
      // While the first process lives, the file is its own: a second opener gets a clear error.
      const error = await Effect.runPromise(openFailure(SqliteQueue.layer({ filename, lockTimeout: "50 millis" })))
      expect(error.reason).toBe("Locked")
    })
  }, 120_000)

  it("PostgreSQL: nothing lost; the dead process's messages are taken over after their lease", async () => {
    const url = await server.createDatabase("crash")
    await crashTest({ kind: "pg", url, table: "crash_queue", leaseDuration: "2 seconds" })
  }, 120_000)
})
