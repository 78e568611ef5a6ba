/** Temporary folders and files for the SQLite tests, and what is in them. */
import type { ConfigurationError, MessageQueue, StoreError } from "@stellanow/sdk"
import { Cause, Effect, Exit, Layer, Option, type Scope } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SqliteClient from "../../src/internal/sqliteClient.js"

export const tempDir = (prefix = "stellanow-sqlite-") => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

/** Every file of a folder with its bytes: to check that a failed open changed nothing. */
export const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(
    fs.readdirSync(dir).sort().map((name) => [name, fs.readFileSync(path.join(dir, name)).toString("base64")])
  )

/** Runs statements on a SQLite file with a plain client (rollback journal, as most applications). */
export const sqlite = (filename: string, statements: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    for (const statement of statements) yield* sql.unsafe(statement)
  }).pipe(Effect.provide(SqliteClient.layer({ filename })), Effect.orDie)

/** Reads a SQLite file with a plain client. */
export const query = <A extends object>(filename: string, statement: string) =>
  Effect.flatMap(SqlClient, (sql) => sql.unsafe<A>(statement)).pipe(
    Effect.provide(SqliteClient.layer({ filename })),
    Effect.orDie
  )

/**
 * Builds a queue layer expecting it to fail with a `StoreError` (or, given `"ConfigurationError"`, with
 * that: an invalid option), and gives the error.
 */
export const openFailure = <Tag extends "StoreError" | "ConfigurationError" = "StoreError">(
  layer: Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError>,
  tag: Tag = "StoreError" as Tag
) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Effect.scoped(Layer.build(layer)))
    if (Exit.isSuccess(exit)) return yield* Effect.die(new Error("the queue opened, but should have failed"))
    const failure = Cause.findErrorOption(exit.cause)
    if (Option.isNone(failure)) {
      return yield* Effect.die(new Error(`expected a failure, got ${Cause.pretty(exit.cause)}`))
    }
    const error = failure.value
    if (error._tag !== tag) return yield* Effect.die(new Error(`expected a ${tag}, got ${String(error)}`))
    return error as Extract<StoreError | ConfigurationError, { readonly _tag: Tag }>
  })

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

/**
 * Makes a folder read-only for the scope — for root too, whom permissions do not stop: then also
 * immutable (`chattr +i`). Succeeds with whether it worked (a probe file cannot be created).
 */
export const readOnlyDir = (dir: string): Effect.Effect<boolean, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      fs.chmodSync(dir, 0o555)
      let immutable = false
      if (isRoot()) {
        try {
          execFileSync("chattr", ["+i", dir], { stdio: "ignore" })
          immutable = true
        } catch {
          // no chattr, or not allowed
        }
      }
      let ok = true
      try {
        fs.writeFileSync(path.join(dir, ".probe"), "")
        fs.rmSync(path.join(dir, ".probe"))
        ok = false
      } catch {
        // read-only indeed
      }
      return { ok, immutable }
    }),
    ({ immutable }) =>
      Effect.sync(() => {
        if (immutable) execFileSync("chattr", ["-i", dir], { stdio: "ignore" })
        fs.chmodSync(dir, 0o755)
      })
  ).pipe(Effect.map(({ ok }) => ok))

/**
 * Mounts a small tmpfs on `dir` for the scope (root with CAP_SYS_ADMIN only); succeeds with whether
 * it could.
 */
export const tmpfs = (dir: string, size: string): Effect.Effect<boolean, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      if (!isRoot()) return false
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" })
        return true
      } catch {
        return false
      }
    }),
    (mounted) => Effect.sync(() => mounted && execFileSync("umount", ["-l", dir], { stdio: "ignore" }))
  )

/** What this machine lets the tests do, probed once: make a read-only folder, mount a tmpfs. */
export const capabilities = (() => {
  const dir = tempDir("stellanow-probe-")
  try {
    const readOnly = Effect.runSync(Effect.scoped(readOnlyDir(dir)))
    const mount = Effect.runSync(Effect.scoped(tmpfs(dir, "64k")))
    return { readOnly, tmpfs: mount }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})()
