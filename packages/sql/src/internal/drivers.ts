/**
 * The database drivers, imported when a queue of their store is opened. Each is an optional peer
 * dependency: an application installs the driver of the store it uses only, so PostgreSQL users do not
 * build SQLite's native module and SQLite users do not get `pg`. A static import would make both
 * mandatory for everyone.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Effect } from "effect"
import { SqlQueueError } from "../SqlQueueError.js"

/** An optional driver package: how to import it, and what to tell the user to install. */
export interface Driver<A> {
  /** The store it serves, for people. */
  readonly store: "SQLite" | "PostgreSQL"
  readonly packageName: string
  /** The npm version range this release works with: the peer dependency's, in a form a shell takes as is. */
  readonly versions: string
  readonly load: () => Promise<A>
}

/** `@effect/sql-sqlite-node`: better-sqlite3, a native module. */
export const sqlite: Driver<typeof SqliteClient> = {
  store: "SQLite",
  packageName: "@effect/sql-sqlite-node",
  versions: "0.53",
  load: () => import("@effect/sql-sqlite-node/SqliteClient")
}

/** `@effect/sql-pg`: `pg`, plain JavaScript. */
export const pg: Driver<typeof PgClient> = {
  store: "PostgreSQL",
  packageName: "@effect/sql-pg",
  versions: "0.53",
  load: () => import("@effect/sql-pg/PgClient")
}

/** The command that installs a driver, at the versions this release works with. */
export const installCommand = (driver: Driver<unknown>): string =>
  `npm install ${driver.packageName}@${driver.versions}`

const codeOf = (error: unknown): string | undefined => {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined
  return typeof code === "string" ? code : undefined
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/** Why importing a driver failed, as the queue's error: a missing package names the command that installs it. */
export const loadError = (driver: Driver<unknown>, store: string, error: unknown): SqlQueueError => {
  const code = codeOf(error)
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
    // Node names the missing package: the driver itself, or one of its own dependencies.
    const driverMissing = messageOf(error).includes(`'${driver.packageName}'`)
    return new SqlQueueError({
      reason: "MissingDriver",
      store,
      detail: driverMissing
        ? `the ${driver.store} driver is not installed: ${installCommand(driver)}`
        : `the ${driver.store} driver ${driver.packageName} is incomplete (${messageOf(error)}): ` +
          `reinstall it with ${installCommand(driver)}`,
      code,
      cause: error
    })
  }
  return new SqlQueueError({
    reason: "Failed",
    store,
    detail: `the ${driver.store} driver ${driver.packageName} cannot be loaded: ${messageOf(error)}`,
    ...(code === undefined ? {} : { code }),
    cause: error
  })
}

/** Imports a driver (Node caches it after the first time), or fails saying what to install. */
export const load = <A>(driver: Driver<A>, store: string): Effect.Effect<A, SqlQueueError> =>
  Effect.tryPromise({
    try: () => driver.load(),
    catch: (error) => loadError(driver, store, error)
  })
