/**
 * What a user of one store gets: the SDK and this package are packed, then installed outside the
 * workspace with the README's install line for that store (the `@stellanow/*` names replaced by the
 * tarballs). There
 * - SQLite's line installs no driver at all (the queue runs on Node's built-in `node:sqlite`), and a
 *   program importing both queues type-checks against the published declaration files
 *   (`skipLibCheck: false`), queues a message in its file, and gets the clear missing-driver error
 *   from `PgQueue`;
 * - PostgreSQL's line adds `@effect/sql-pg`, and the same program queues a message in the table.
 * The program runs on the Node running vitest, or on the `node` binary named by `STELLANOW_SMOKE_NODE`.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { query } from "./support/files.js"
import {
  compile,
  isInstalled,
  makeProject,
  packPackages,
  pgDriverRange,
  run,
  smokeNode,
  smokeNodeVersion,
  sqlDir,
  userEnv
} from "./support/Packed.js"
import { type Postgres, startPostgres } from "./support/Postgres.js"

const here = path.dirname(fileURLToPath(import.meta.url))

/**
 * The `npm install …` line of each `sh` block of the README's "Install" section, in order: SQLite's,
 * then PostgreSQL's.
 */
const installLines = async (): Promise<ReadonlyArray<ReadonlyArray<string>>> => {
  const readme = await fs.readFile(path.join(sqlDir, "README.md"), "utf8")
  const section = readme.split(/^## /m).find((part) => part.startsWith("Install\n"))
  expect(section, "the README has an Install section").toBeDefined()
  return [...section!.matchAll(/```sh\n([^\n]*)\n```/g)].map((match) =>
    match[1]!.replace(/#.*$/, "").trim().split(/\s+/)
  )
}

interface Outcome {
  readonly messageId: string
  readonly queueSize: number
  readonly other?: { readonly tag: string; readonly reason: string; readonly message: string }
}

let tmp: string
let tarballs: { readonly sdk: string; readonly sql: string }
/** The two projects, installed at the same time. */
let projects: { readonly sqlite: Promise<string>; readonly pg: Promise<string> }

/** Runs the README's line in a fresh project, the tarballs standing for the packages not yet published. */
const install = async (name: string, line: ReadonlyArray<string>): Promise<string> => {
  expect(line.slice(0, 2)).toEqual(["npm", "install"])
  const packages = line.slice(2)
  expect(packages).toContain("@stellanow/sdk")
  expect(packages).toContain("@stellanow/sdk-sql")
  expect(packages).toContain("effect")
  const project = await makeProject(
    path.join(tmp, name),
    packages.map((spec) =>
      spec === "@stellanow/sdk" ? tarballs.sdk : spec === "@stellanow/sdk-sql" ? tarballs.sql : spec
    )
  )
  const effect = JSON.parse(await fs.readFile(path.join(project, "node_modules/effect/package.json"), "utf8"))
  expect(effect.version, "effect").toMatch(/^4\.([1-9]|\d{2,})\./)
  await fs.copyFile(path.join(here, "package/main.ts"), path.join(project, "src/main.ts"))
  await compile(project)
  return project
}

const runApp = async (project: string, env: Record<string, string>): Promise<Outcome> => {
  const stdout = await run(smokeNode, ["dist/main.js"], { cwd: project, env: { ...userEnv, ...env } })
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Outcome
}

describe(`installed for one store (run on Node ${smokeNodeVersion()})`, () => {
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "stellanow-sql-install-"))
    const lines = await installLines()
    expect(lines).toHaveLength(2)
    tarballs = await packPackages(tmp)
    projects = { sqlite: install("sqlite-app", lines[0]!), pg: install("pg-app", lines[1]!) }
    // Each test awaits its project; until then a failed install must not count as an unhandled rejection.
    for (const project of Object.values(projects)) project.catch(() => undefined)
  }, 300_000)

  afterAll(async () => {
    if (tmp !== undefined) await fs.rm(tmp, { recursive: true, force: true })
  })

  it(
    "SQLite: no driver is installed, the program queues in the file, PgQueue names what to install",
    async () => {
      const project = await projects.sqlite
      for (const driver of ["@effect/sql-pg", "pg", "@effect/sql-sqlite-node", "better-sqlite3"]) {
        expect(await isInstalled(project, driver), driver).toBe(false)
      }

      const filename = path.join(tmp, "queue.db")
      const outcome = await runApp(project, {
        STORE: "sqlite",
        MISSING: "pg",
        QUEUE_FILE: filename,
        QUEUE_URL: "postgres://app@127.0.0.1:1/app"
      })
      expect(outcome.queueSize).toBe(1)
      const rows = await Effect.runPromise(
        query<{ readonly message_id: string }>(filename, "SELECT message_id FROM stellanow_queue")
      )
      expect(rows.map((row) => row.message_id)).toEqual([outcome.messageId])

      expect(outcome.other?.tag).toBe("StoreError")
      expect(outcome.other?.reason).toBe("MissingDriver")
      expect(outcome.other?.message).toContain("the PostgreSQL driver @effect/sql-pg is not available")
      expect(outcome.other?.message).toContain(`npm install @effect/sql-pg@${await pgDriverRange()}`)
    },
    300_000
  )

  describe("PostgreSQL", () => {
    let server: Postgres
    beforeAll(async () => {
      server = await startPostgres()
    })
    afterAll(() => server?.dispose())

    it("its driver is installed and the program queues in the table", async () => {
      const project = await projects.pg
      expect(await isInstalled(project, "@effect/sql-pg")).toBe(true)
      for (const driver of ["@effect/sql-sqlite-node", "better-sqlite3"]) {
        expect(await isInstalled(project, driver), driver).toBe(false)
      }

      const url = await server.createDatabase("installed")
      const outcome = await runApp(project, { STORE: "pg", QUEUE_URL: url, QUEUE_FILE: path.join(tmp, "unused.db") })
      expect(outcome.queueSize).toBe(1)
      expect(await server.psql("SELECT message_id FROM stellanow_queue", "installed")).toBe(outcome.messageId)
      expect(outcome.other).toBeUndefined()
    }, 300_000)
  })
})
