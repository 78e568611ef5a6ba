/**
 * A `SqlClient` over Node's built-in SQLite (`node:sqlite`, `DatabaseSync`): one connection, used by one
 * fiber at a time, with its statements prepared once and cached.
 *
 * Why our own: Effect 4's Node SQLite driver (`@effect/sql-sqlite-node`) exists only as 4.0.0 betas that
 * import `effect/unstable/sql/...`, paths `effect` 4.1 no longer has; Effect's own next driver is this
 * same design over `node:sqlite` (which this module follows). `node:sqlite` needs no native build and
 * nothing to install. Like every synchronous SQLite binding, a statement blocks the event loop while it
 * runs, and so does waiting for a lock (`busyTimeout`).
 */
import { Context, Effect, Layer, type Scope, Semaphore, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as SqlClient from "effect/sql/SqlClient"
import type { Connection } from "effect/sql/SqlConnection"
import { classifySqliteError, ConnectionError, SqlError } from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"
import * as fs from "node:fs"
import type * as NodeSqlite from "node:sqlite"

/** The `node:sqlite` module, imported by the caller (it is absent before Node 22.13 without a flag). */
export type Driver = typeof NodeSqlite

/** Options of the client. */
export interface Options {
  readonly filename: string
  /** How long a statement waits for a lock another connection holds, in milliseconds. Default 5,000. */
  readonly busyTimeout?: number | undefined
  /**
   * The permissions of the file when this client creates it (SQLite gives its `-wal` and `-shm` files
   * the same). Default `0o600`: owner only, as the queue holds messages.
   */
  readonly mode?: number | undefined
}

/** Prepared statements kept per connection: the queue uses a few dozen distinct ones. */
const cacheSize = 200

/** SQLite's largest busy timeout (a C int of milliseconds). */
const maxBusyTimeout = 2_147_483_647

/** A driver failure as `effect/sql`'s `SqlError`, the thrown error kept as its cause. */
const sqlError = (cause: unknown, message: string, operation: string): SqlError => {
  // `node:sqlite` gives SQLite's result code as `errcode`; `effect/sql`'s classifier reads `errno`.
  const errcode = typeof cause === "object" && cause !== null ? (cause as { errcode?: unknown }).errcode : undefined
  const withErrno = typeof errcode === "number" && !("errno" in (cause as object))
    ? Object.assign(cause as object, { errno: errcode })
    : cause
  return new SqlError({ reason: classifySqliteError(withErrno, { message, operation }) })
}

/** Values SQLite cannot bind as they are. */
const bindable = (params: ReadonlyArray<unknown>): Array<NodeSqlite.SQLInputValue> =>
  params.map((value) =>
    value === undefined ? null : typeof value === "boolean" ? (value ? 1 : 0) : value as NodeSqlite.SQLInputValue
  )

/**
 * Creates the file, owner-only, when it does not exist yet: SQLite would create it with the process's
 * default permissions. A file that exists is left as it is.
 */
const createFile = (filename: string, mode: number): Effect.Effect<void, SqlError> =>
  Effect.try({
    try: () => {
      try {
        fs.closeSync(fs.openSync(filename, "wx", mode))
      } catch (error) {
        if ((error as { code?: unknown }).code !== "EEXIST") throw error
      }
    },
    catch: (cause) =>
      new SqlError({ reason: new ConnectionError({ cause, message: "Failed to create the file", operation: "open" }) })
  })

/** One open database as `effect/sql`'s `Connection`. */
const makeConnection = (db: NodeSqlite.DatabaseSync): Connection => {
  const prepared = new Map<string, NodeSqlite.StatementSync>()

  const prepare = (sql: string): NodeSqlite.StatementSync => {
    const cached = prepared.get(sql)
    if (cached !== undefined) {
      // Most recently used last: the first entry is the one to evict.
      prepared.delete(sql)
      prepared.set(sql, cached)
      return cached
    }
    const statement = db.prepare(sql)
    if (prepared.size >= cacheSize) prepared.delete(prepared.keys().next().value!)
    prepared.set(sql, statement)
    return statement
  }

  /** Runs a statement: its rows, or `[]` for one that returns none. */
  const rows = (statement: () => NodeSqlite.StatementSync, params: ReadonlyArray<unknown>) =>
    Effect.withFiber<ReadonlyArray<any>, SqlError>((fiber) =>
      Effect.try({
        try: () => {
          const prepared = statement()
          prepared.setReadBigInts(Context.get(fiber.context, SqlClient.SafeIntegers))
          return prepared.all(...bindable(params))
        },
        catch: (cause) => sqlError(cause, "Failed to execute statement", "execute")
      })
    )

  const values = (statement: () => NodeSqlite.StatementSync, params: ReadonlyArray<unknown>) =>
    Effect.map(
      rows(statement, params),
      // Rows keep the columns' order (`setReturnArrays` would be cheaper, but Node 22 lacks it).
      (records): ReadonlyArray<ReadonlyArray<unknown>> => records.map((record) => Object.values(record))
    )

  const transformed = (
    effect: Effect.Effect<ReadonlyArray<any>, SqlError>,
    transformRows: (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
  ) => transformRows === undefined ? effect : Effect.map(effect, transformRows)

  return {
    execute: (sql, params, transformRows) => transformed(rows(() => prepare(sql), params), transformRows),
    executeUnprepared: (sql, params, transformRows) =>
      transformed(rows(() => db.prepare(sql), params ?? []), transformRows),
    executeRaw: (sql, params) =>
      Effect.try({
        try: () => prepare(sql).run(...bindable(params)),
        catch: (cause) => sqlError(cause, "Failed to execute statement", "execute")
      }),
    executeValues: (sql, params) => values(() => prepare(sql), params),
    executeValuesUnprepared: (sql, params) => values(() => db.prepare(sql), params),
    // SQLite reads synchronously: the rows are read at once, then streamed.
    executeStream: (sql, params, transformRows) =>
      Stream.fromIterableEffect(transformed(rows(() => prepare(sql), params), transformRows))
  }
}

/**
 * Opens the database (creating its file owner-only) for the scope; fails with a `SqlError` whose cause
 * is the driver's error when it cannot be opened.
 */
export const make = (
  driver: Driver,
  options: Options
): Effect.Effect<SqlClient.SqlClient, SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function*() {
    yield* createFile(options.filename, options.mode ?? 0o600)
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new driver.DatabaseSync(options.filename),
        catch: (cause) => sqlError(cause, "Failed to open the database", "open")
      }),
      (db) => Effect.sync(() => db.close())
    )
    const busyTimeout = Math.min(maxBusyTimeout, Math.max(0, Math.round(options.busyTimeout ?? 5_000)))
    yield* Effect.try({
      try: () => db.exec(`PRAGMA busy_timeout = ${busyTimeout}`),
      catch: (cause) => sqlError(cause, "Failed to open the database", "open")
    })
    const connection = makeConnection(db)
    // `isTransaction` is Node 22.16's and later: without it, effect/sql tells from ROLLBACK's error.
    const isTransaction = "isTransaction" in db ? () => db.isTransaction : undefined
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore: yield* Semaphore.make(1),
      isTransaction
    })
    const client = yield* SqlClient.make({
      ...acquirers,
      compiler: Statement.makeCompilerSqlite(),
      driver: "sqlite",
      // Takes the write lock at once: a transaction that reads, then writes, never meets SQLITE_BUSY.
      beginTransaction: "BEGIN IMMEDIATE",
      spanAttributes: [["db.system.name", "sqlite"]]
    })
    // Where the queue finds the file's name for its messages, as on Effect's own SQLite clients.
    return Object.assign(client, { config: { filename: options.filename } })
  })

/** The client as a layer, for tests and tools: `SqlClient` on the file. */
export const layer = (options: Options): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.effect(
    SqlClient.SqlClient,
    Effect.flatMap(Effect.promise(() => import("node:sqlite")), (driver) => make(driver, options))
  ).pipe(Layer.provide(Reactivity.layer))
