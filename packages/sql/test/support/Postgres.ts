/**
 * A real, throwaway PostgreSQL server for the tests: `initdb` in a temporary folder, started with
 * `pg_ctl` on a free loopback port, stopped and removed at the end. Debian's binaries
 * (`/usr/lib/postgresql/<version>/bin`, or `PG_BIN`). PostgreSQL refuses to run as root: as root the
 * server runs as the `postgres` OS user, which owns the folder.
 */
import { Effect, type Scope } from "effect"
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { freePorts } from "../../../sdk/test/support/Mosquitto.js"
import { notInstalled } from "../../../sdk/test/support/Programs.js"

const execFileAsync = promisify(execFile)

const HOST = "127.0.0.1"

/** The newest installed Debian PostgreSQL `bin` folder, or `PG_BIN`. */
export const binDir = (): string => {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN
  const root = "/usr/lib/postgresql"
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
    : []
  versions.sort((a, b) => Number(a) - Number(b))
  const newest = versions.at(-1)
  if (newest === undefined) throw notInstalled("PostgreSQL (initdb)", "postgresql", "in /usr/lib/postgresql/*/bin")
  return path.join(root, newest, "bin")
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

/** Runs a PostgreSQL program, as the `postgres` user when we are root. */
const command = (program: string, args: ReadonlyArray<string>): [string, Array<string>] => {
  const file = path.join(binDir(), program)
  return isRoot() ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, [...args]]
}

const run = async (program: string, args: ReadonlyArray<string>): Promise<string> => {
  const [file, argv] = command(program, args)
  try {
    const { stdout } = await execFileAsync(file, argv, { cwd: os.tmpdir() })
    return stdout
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message?: string }
    throw new Error(
      `${program} ${args.join(" ")} failed: ${e.message ?? String(error)}\n${e.stdout ?? ""}${e.stderr ?? ""}`
    )
  }
}

export interface Postgres {
  readonly port: number
  readonly dir: string
  /** `postgres://postgres@127.0.0.1:PORT/<database>` (trust authentication: no password). */
  url(database?: string): string
  /** Runs SQL with psql; returns its unaligned, tuples-only output. */
  psql(sql: string, database?: string): Promise<string>
  /** Creates a fresh database; returns its URL. */
  createDatabase(name: string): Promise<string>
  /** Stops the server (fast shutdown: sessions are closed). */
  stop(): Promise<void>
  /**
   * Stops the server synchronously, blocking this process's event loop until it is down (fast
   * shutdown): what a busy event loop meets when its database goes away.
   */
  stopBlocking(): void
  /** Starts it again on the same port, with the same data. */
  start(): Promise<void>
  dispose(): Promise<void>
}

const running = new Set<string>()
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once("exit", () => {
    for (const data of running) {
      const [file, argv] = command("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      try {
        execFileSync(file, argv, { stdio: "ignore" })
      } catch {
        // already stopped
      }
    }
  })
}

export const startPostgres = async (): Promise<Postgres> => {
  binDir() // a missing PostgreSQL fails here, with what to install, before anything is made
  installExitHook()
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "stellanow-pg-"))
  const data = path.join(dir, "data")
  try {
    if (isRoot()) await execFileAsync("chown", ["postgres:postgres", dir])
    await run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    let port = 0
    const start = () =>
      run("pg_ctl", [
        "-D",
        data,
        "-l",
        path.join(dir, "server.log"),
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=${HOST} -c max_connections=200`,
        "-w",
        "-t",
        "30",
        "start"
      ])
    for (let attempt = 1;; attempt++) {
      ;[port] = await freePorts(1) as [number]
      try {
        await start()
        break
      } catch (error) {
        // The port may have been taken between choosing and binding it.
        if (attempt >= 3) throw error
      }
    }
    running.add(data)
    const url = (database = "postgres") => `postgres://postgres@${HOST}:${port}/${database}`
    const psql = (sql: string, database = "postgres") =>
      run("psql", ["-h", HOST, "-p", `${port}`, "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .then((out) => out.trim())
    return {
      port,
      dir,
      url,
      psql,
      createDatabase: async (name) => {
        await psql(`CREATE DATABASE "${name}"`)
        return url(name)
      },
      stop: async () => {
        await run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"])
      },
      stopBlocking: () => {
        const [file, argv] = command("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"])
        execFileSync(file, argv, { stdio: "ignore", cwd: os.tmpdir() })
      },
      start: async () => {
        await start()
      },
      dispose: async () => {
        if (running.delete(data)) await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        await fsp.rm(dir, { recursive: true, force: true })
      }
    }
  } catch (error) {
    const log = await fsp.readFile(path.join(dir, "server.log"), "utf8").catch(() => "")
    await fsp.rm(dir, { recursive: true, force: true })
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- server log ---\n${log}`)
  }
}

/** A scoped server: started on acquire, stopped and removed on release. */
export const postgresResource: Effect.Effect<Postgres, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => startPostgres()),
  (server) => Effect.promise(() => server.dispose())
)
