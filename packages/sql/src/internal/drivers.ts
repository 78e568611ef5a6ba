/**
 * The database drivers, imported when a queue of their store is opened, so that an application loads
 * (and installs) only the one it uses:
 *
 * - SQLite: Node's built-in `node:sqlite` — nothing to install, but absent before Node 22.13 (22.5 to
 *   22.12 have it behind `--experimental-sqlite`);
 * - PostgreSQL: `@effect/sql-pg`, an optional peer dependency (plain JavaScript). A static import would
 *   make it mandatory for SQLite users, and its types part of this package's.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import { StoreError } from "@stellanow/sdk"
import { Effect } from "effect"
import type * as NodeSqlite from "node:sqlite"

/** A driver: how to import it, and what to tell the user when it cannot be. */
export interface Driver<A> {
  /** The store it serves, for people. */
  readonly store: "SQLite" | "PostgreSQL"
  readonly name: string
  /** What makes it available, for the error when it is not. */
  readonly remedy: string
  readonly load: () => Promise<A>
}

/** Node's built-in SQLite. */
export const sqlite: Driver<typeof NodeSqlite> = {
  store: "SQLite",
  name: "node:sqlite",
  remedy: `it is built into Node 22.13 and later (this is Node ${process.versions.node}); ` +
    "Node 22.5 to 22.12 need the flag --experimental-sqlite",
  load: () => import("node:sqlite")
}

/** `@effect/sql-pg`: PostgreSQL's wire protocol in plain JavaScript. */
export const pg: Driver<typeof PgClient> = {
  store: "PostgreSQL",
  name: "@effect/sql-pg",
  remedy: "install it: npm install @effect/sql-pg@^4.0.5",
  load: () => import("@effect/sql-pg/PgClient")
}

const codeOf = (error: unknown): string | undefined => {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined
  return typeof code === "string" ? code : undefined
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

const missingCodes = new Set(["ERR_MODULE_NOT_FOUND", "MODULE_NOT_FOUND", "ERR_UNKNOWN_BUILTIN_MODULE"])

/** Why importing a driver failed, as the queue's error: a missing one says how to get it. */
export const loadError = (driver: Driver<unknown>, store: string, error: unknown): StoreError => {
  const code = codeOf(error)
  if (code !== undefined && missingCodes.has(code)) {
    return new StoreError({
      reason: "MissingDriver",
      store,
      detail: `the ${driver.store} driver ${driver.name} is not available (${messageOf(error)}): ${driver.remedy}`,
      code,
      cause: error
    })
  }
  return new StoreError({
    reason: "Failed",
    store,
    detail: `the ${driver.store} driver ${driver.name} cannot be loaded: ${messageOf(error)}`,
    ...(code === undefined ? {} : { code }),
    cause: error
  })
}

/** Imports a driver (Node caches it after the first time), or fails saying how to get it. */
export const load = <A>(driver: Driver<A>, store: string): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({ try: () => driver.load(), catch: (error) => loadError(driver, store, error) })
