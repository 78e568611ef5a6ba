import { type MessageQueue, StoreError } from "@stellanow/sdk"
import { Effect } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { toQueueError, transaction } from "./classify.js"

/** The SQL dialects the queue runs on. */
export type Dialect = "sqlite" | "pg"

/**
 * The SQLite `application_id` of a queue file ("STNQ"): a file with another id, or with tables but
 * no id, is not ours and is left alone.
 */
export const applicationId = 0x53544e51

/** The names of a queue's table and of its migrations table, already quoted for SQL. */
export interface Names {
  readonly table: string
  readonly quoted: string
  readonly migrations: string
  readonly quotedMigrations: string
  readonly index: string
  /** The dead letters' table (unquoted: `sql(name)` quotes it). */
  readonly deadLetters: string
}

/** What both store modes (single-process and shared) are opened with. */
export interface StoreOptions {
  readonly sql: SqlClient.SqlClient
  readonly names: Names
  /** The store, named for errors and logs (never with a password). */
  readonly store: string
  readonly order: "fifo" | "lifo"
  readonly capacity: number
  readonly overflow: MessageQueue.OverflowPolicy
}

/** Table names: a plain identifier, short enough for the names derived from it. */
export const validTableName = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/

export const namesOf = (table: string): Names => ({
  table,
  quoted: `"${table}"`,
  migrations: `${table}_migrations`,
  quotedMigrations: `"${table}_migrations"`,
  index: `"${table}_claimed_by"`,
  deadLetters: `${table}_dead_letters`
})

interface Migration {
  readonly version: number
  readonly name: string
  readonly statements: (names: Names) => ReadonlyArray<string>
}

/**
 * The versioned schema, per dialect. A migration is never edited once released: changes are new
 * versions appended here.
 */
const migrations: Record<Dialect, ReadonlyArray<Migration>> = {
  sqlite: [{
    version: 1,
    name: "create_queue",
    statements: (n) => [
      `CREATE TABLE ${n.quoted} (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        event_name TEXT NOT NULL,
        body TEXT NOT NULL,
        wrapped_at INTEGER,
        enqueued_at INTEGER NOT NULL
      )`
    ]
  }, {
    version: 2,
    name: "create_dead_letters",
    statements: (n) => [
      `CREATE TABLE "${n.deadLetters}" (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        event_name TEXT NOT NULL,
        body TEXT NOT NULL,
        wrapped_at INTEGER,
        reason TEXT NOT NULL,
        dead_at INTEGER NOT NULL
      )`
    ]
  }],
  pg: [{
    version: 1,
    name: "create_queue",
    statements: (n) => [
      `CREATE TABLE ${n.quoted} (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id text NOT NULL,
        topic text NOT NULL,
        event_name text NOT NULL,
        body text NOT NULL,
        wrapped_at bigint,
        enqueued_at timestamptz NOT NULL DEFAULT now(),
        claimed_by text,
        lease_until timestamptz
      )`,
      `CREATE INDEX ${n.index} ON ${n.quoted} (claimed_by) WHERE claimed_by IS NOT NULL`
    ]
  }, {
    version: 2,
    name: "create_dead_letters",
    statements: (n) => [
      `CREATE TABLE "${n.deadLetters}" (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id text NOT NULL,
        topic text NOT NULL,
        event_name text NOT NULL,
        body text NOT NULL,
        wrapped_at bigint,
        reason text NOT NULL,
        dead_at bigint NOT NULL
      )`
    ]
  }]
}

/** The schema version this package writes. */
export const latestVersion = (dialect: Dialect): number => migrations[dialect].at(-1)!.version

const createMigrationsTable = (dialect: Dialect, n: Names) =>
  dialect === "pg"
    ? `CREATE TABLE IF NOT EXISTS ${n.quotedMigrations} (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`
    : `CREATE TABLE IF NOT EXISTS ${n.quotedMigrations} (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
      )`

/** What the store holds before the queue touches it. */
type Found =
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Queue"; readonly version: number }
  | { readonly _tag: "Foreign"; readonly detail: string }

const listNames = (names: ReadonlyArray<string>) =>
  names.slice(0, 5).map((name) => `"${name}"`).join(", ") + (names.length > 5 ? `, … (${names.length} in all)` : "")

const inspectSqlite = (sql: SqlClient.SqlClient, n: Names): Effect.Effect<Found, SqlError> =>
  Effect.gen(function*() {
    const [header] = yield* sql.unsafe<{ application_id: number }>("PRAGMA application_id")
    const objects = yield* sql.unsafe<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    )
    const id = header?.application_id ?? 0
    const tables = objects.map((o) => o.name)
    if (id !== applicationId) {
      if (id === 0 && tables.length === 0) return { _tag: "Empty" } as const
      return {
        _tag: "Foreign",
        detail: id !== 0
          ? `the file belongs to another application (SQLite application_id ${id})`
          : `the file holds another database (tables ${listNames(tables)}), not a StellaNow queue`
      } as const
    }
    if (!tables.includes(n.migrations)) {
      return tables.includes(n.table)
        ? { _tag: "Foreign", detail: `its table "${n.table}" has no migrations table "${n.migrations}"` } as const
        : { _tag: "Queue", version: 0 } as const
    }
    return { _tag: "Queue", version: yield* currentVersion(sql, n) } as const
  })

const inspectPg = (sql: SqlClient.SqlClient, n: Names): Effect.Effect<Found, SqlError> =>
  Effect.gen(function*() {
    // One opener at a time per table name, across every process sharing the database.
    yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`@stellanow/sdk-sql:${n.table}`}))`
    const [found] = yield* sql<{ queue: string | null; migrations: string | null }>`SELECT
      to_regclass(${n.quoted})::text AS queue,
      to_regclass(${n.quotedMigrations})::text AS migrations`
    if (found?.migrations === null || found?.migrations === undefined) {
      return found?.queue === null || found?.queue === undefined
        ? { _tag: "Empty" } as const
        : {
          _tag: "Foreign",
          detail: `a table "${n.table}" exists that was not created by @stellanow/sdk-sql ` +
            `(no "${n.migrations}" table); choose another table name`
        } as const
    }
    return { _tag: "Queue", version: yield* currentVersion(sql, n) } as const
  })

const currentVersion = (sql: SqlClient.SqlClient, n: Names) =>
  Effect.map(
    sql.unsafe<{ version: number | string | null }>(`SELECT max(version) AS version FROM ${n.quotedMigrations}`),
    ([row]) => Number(row?.version ?? 0)
  )

const probe = (sql: SqlClient.SqlClient, n: Names) =>
  sql.unsafe(`SELECT seq, message_id, topic, event_name, body, wrapped_at, enqueued_at FROM ${n.quoted} WHERE 1 = 0`)

/** What the store holds, failing unless it is empty or a queue this package can open. */
export const verify = (
  sql: SqlClient.SqlClient,
  dialect: Dialect,
  n: Names,
  store: string
): Effect.Effect<{ readonly empty: boolean; readonly version: number }, StoreError> =>
  Effect.gen(function*() {
    const found = yield* (dialect === "pg" ? inspectPg(sql, n) : inspectSqlite(sql, n))
    if (found._tag === "Foreign") {
      return yield* new StoreError({
        reason: "Foreign",
        store,
        detail: `cannot open the queue: ${found.detail}; nothing was changed`
      })
    }
    const version = found._tag === "Empty" ? 0 : found.version
    const latest = latestVersion(dialect)
    if (version > latest) {
      return yield* new StoreError({
        reason: "Incompatible",
        store,
        detail: `cannot open the queue: its schema is at version ${version}, written by a newer ` +
          `@stellanow/sdk-sql (this one knows versions up to ${latest}); nothing was changed`
      })
    }
    return { empty: found._tag === "Empty", version }
  }).pipe(Effect.mapError((error) => toQueueError(store, "cannot open the queue", error)))

/**
 * Creates or upgrades the queue's tables in one transaction, after checking that the store holds
 * nothing but a queue of ours. Never drops nor deletes anything.
 */
export const migrate = (
  sql: SqlClient.SqlClient,
  dialect: Dialect,
  n: Names,
  store: string
): Effect.Effect<void, StoreError> =>
  Effect.gen(function*() {
    const { empty, version } = yield* verify(sql, dialect, n, store)
    if (empty && dialect === "sqlite") yield* sql.unsafe(`PRAGMA application_id = ${applicationId}`)
    if (version === 0) yield* sql.unsafe(createMigrationsTable(dialect, n))
    for (const migration of migrations[dialect]) {
      if (migration.version <= version) continue
      for (const statement of migration.statements(n)) yield* sql.unsafe(statement)
      yield* sql.unsafe(
        `INSERT INTO ${n.quotedMigrations} (version, name) VALUES (${migration.version}, '${migration.name}')`
      )
      yield* Effect.logInfo(`created the queue "${n.table}" at version ${migration.version} (${migration.name})`)
    }
    yield* Effect.mapError(probe(sql, n), (cause) =>
      new StoreError({
        reason: "Foreign",
        store,
        detail: `cannot open the queue: the table "${n.table}" lacks the queue's columns; nothing was changed`,
        cause
      }))
  }).pipe((body) =>
    transaction(sql, body, { store, action: "cannot open the queue", rollbackAfterFailure: dialect === "sqlite" })
  )
