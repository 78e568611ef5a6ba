import { ConfigurationError, DeadLetters, MessageQueue, StoreError } from "@stellanow/sdk"
import { Context, Duration, Effect, type Scope } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import * as os from "node:os"
import type { Options } from "../SqlMessageQueue.js"
import * as DeadLetterStore from "./deadLetterStore.js"
import * as PgStore from "./pgStore.js"
import { namesOf, validTableName } from "./schema.js"
import * as SqliteStore from "./sqliteStore.js"

/** How long an operation waits for a store that is unavailable, by default (`storeTimeout`). */
export const defaultStoreTimeout = "5 seconds"

/** The default table name. */
export const defaultTable = "stellanow_queue"

/** An invalid option. */
export const invalid = (detail: string) =>
  new ConfigurationError({ reason: "InvalidOption", detail: `message queue: invalid option: ${detail}` })

/** A duration option, decoded: undecodable input (a typo in a string, a wrong type) is an invalid option. */
export const duration = (value: Duration.Input, name: string): Effect.Effect<Duration.Duration, ConfigurationError> =>
  Effect.fromOption(Duration.fromInput(value), () => invalid(`${name} is not a duration`))

/** A duration option: positive and finite. */
export const positiveDuration = (
  value: Duration.Input | undefined,
  fallback: Duration.Input,
  name: string
): Effect.Effect<Duration.Duration, ConfigurationError> =>
  Effect.flatMap(
    duration(value ?? fallback, name),
    (d) =>
      Duration.isGreaterThan(d, Duration.zero) && Duration.isFinite(d)
        ? Effect.succeed(d)
        : Effect.fail(invalid(`${name} must be a positive, finite duration, got ${Duration.format(d)}`))
  )

/** How a client names its store in messages: the file, or user@host:port/database (never a password). */
const describeClient = (sql: SqlClient, dialect: "sqlite" | "pg", table: string): string => {
  const config = (sql as unknown as { readonly config?: Record<string, unknown> }).config ?? {}
  if (dialect === "sqlite") {
    return typeof config.filename === "string" ? `SQLite file ${config.filename}` : "SQLite database"
  }
  const host = typeof config.host === "string"
    ? config.host
    : typeof config.path === "string"
    ? config.path
    : "localhost"
  const port = typeof config.port === "number" ? `:${config.port}` : ""
  const user = typeof config.username === "string" ? `${config.username}@` : ""
  const database = typeof config.database === "string" ? `/${config.database}` : ""
  return `PostgreSQL ${user}${host}${port}${database}, table "${table}"`
}

/** The options, checked. */
export interface Valid {
  readonly order: "fifo" | "lifo"
  readonly capacity: number
  readonly overflow: MessageQueue.OverflowPolicy
  readonly table: string
  readonly closeTimeout: Duration.Duration
  readonly storeTimeout: Duration.Duration
  readonly ackDelay: Duration.Duration
  readonly leaseDuration: Duration.Duration
  readonly pollInterval: Duration.Duration
}

/** Checks every option, before anything is opened. */
export const validate = (options: Options): Effect.Effect<Valid, ConfigurationError> =>
  Effect.gen(function*() {
    const { capacity, overflow } = yield* Effect.mapError(
      MessageQueue.validateOptions(options),
      (error) => invalid(error.detail)
    )
    const order = options.order ?? "fifo"
    if (order !== "fifo" && order !== "lifo") {
      return yield* invalid(`order must be "fifo" or "lifo", got ${JSON.stringify(order)}`)
    }
    const table = options.table ?? defaultTable
    if (typeof table !== "string" || !validTableName.test(table)) {
      return yield* invalid(
        `table must be a plain identifier of at most 48 characters ([A-Za-z_][A-Za-z0-9_]*), got ${
          JSON.stringify(table)
        }`
      )
    }
    return {
      order,
      capacity,
      overflow,
      table,
      closeTimeout: yield* positiveDuration(options.closeTimeout, "5 seconds", "closeTimeout"),
      storeTimeout: yield* positiveDuration(options.storeTimeout, defaultStoreTimeout, "storeTimeout"),
      ackDelay: yield* positiveDuration(options.ackDelay, "100 millis", "ackDelay"),
      leaseDuration: yield* positiveDuration(options.leaseDuration, "30 seconds", "leaseDuration"),
      pollInterval: yield* positiveDuration(options.pollInterval, "250 millis", "pollInterval")
    }
  })

/** A SQL queue and its dead letters, which live in the same database. */
export interface Opened {
  readonly queue: MessageQueue.Service
  readonly deadLetters: DeadLetters.Service
}

/** Both services, as a layer provides them. */
export const contextOf = (opened: Opened): Context.Context<MessageQueue.MessageQueue | DeadLetters.DeadLetters> =>
  Context.make(MessageQueue.MessageQueue, opened.queue).pipe(
    Context.add(DeadLetters.DeadLetters, opened.deadLetters)
  )

/** Opens the queue on the `SqlClient` in context (see `SqlMessageQueue.make`). */
export const make = (
  options: Options,
  internal: { readonly sqlitePragmas?: ReadonlyArray<string> | undefined } = {}
): Effect.Effect<MessageQueue.Service, StoreError | ConfigurationError, SqlClient | Scope.Scope> =>
  Effect.map(open(options, internal), (opened) => opened.queue)

/** Opens the queue on the `SqlClient` in context, and its dead letters (created by its migrations). */
export const open = (
  options: Options,
  internal: { readonly sqlitePragmas?: ReadonlyArray<string> | undefined } = {}
): Effect.Effect<Opened, StoreError | ConfigurationError, SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const valid = yield* validate(options)
    const dialect = sql.onDialectOrElse({
      sqlite: () => "sqlite" as const,
      pg: () => "pg" as const,
      orElse: () => undefined
    })
    if (dialect === undefined) {
      return yield* new StoreError({
        reason: "Unsupported",
        store: "message queue",
        detail: "the SQL client is neither SQLite nor PostgreSQL"
      })
    }
    const store = options.storeName ?? describeClient(sql, dialect, valid.table)
    const names = namesOf(valid.table)
    const queue = dialect === "sqlite"
      ? yield* SqliteStore.make({ ...valid, sql, names, store, pragmas: internal.sqlitePragmas })
      : yield* PgStore.make({
        ...valid,
        sql,
        names,
        store,
        instanceId: `${os.hostname()}/${process.pid}/${globalThis.crypto.randomUUID().slice(0, 8)}`
      })
    return { queue, deadLetters: DeadLetterStore.make(sql, names, store) }
  }).pipe(Effect.withSpan("SqlMessageQueue.open"))
