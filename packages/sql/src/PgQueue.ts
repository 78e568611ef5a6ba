/**
 * The persistent queue in PostgreSQL: one table shared by every instance of the application, so that
 * many processes (or machines) drain one durable outbox.
 *
 * - Durability: `sendMessage` returns once its message is committed by the server (with PostgreSQL's
 *   defaults, `synchronous_commit = on`, that is flushed to the server's disk).
 * - Sharing: instances claim the messages they take with `FOR UPDATE SKIP LOCKED` and a lease
 *   (`leaseDuration`) they extend while alive, so no message is delivered twice in normal operation.
 *   When an instance dies, its messages are taken by another once their leases expire — again with
 *   their original message ids, so the platform can de-duplicate.
 * - Capacity counts the whole table, across instances.
 *
 * The driver, `@effect/sql-pg`, is an optional peer dependency, imported when a queue opens: install it
 * to use this module (`npm install @effect/sql-pg`); without it, opening fails with reason
 * `"MissingDriver"`.
 *
 * @since 0.1.0
 */
import type { ConfigurationError, DeadLetters, MessageQueue, StoreError } from "@stellanow/sdk"
import { type Config, type Duration, Effect, Layer, Redacted, type Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import type { ConnectionOptions } from "node:tls"
import { toQueueError } from "./internal/classify.js"
import * as Core from "./internal/core.js"
import * as Drivers from "./internal/drivers.js"
import * as Layers from "./internal/layers.js"
import type * as SqlMessageQueue from "./SqlMessageQueue.js"

/**
 * Options of the PostgreSQL queue: where the server is (a `url`, or its parts), and the queue's own.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<SqlMessageQueue.Options, "storeName"> {
  /** `postgres://user:password@host:port/database`; kept redacted. Parts given beside it override it. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** The server's host name or address. Default `localhost`. */
  readonly host?: string | undefined
  /** The server's port. Default 5432. */
  readonly port?: number | undefined
  /** The database. Default: the user's name. */
  readonly database?: string | undefined
  /** The user to connect as. */
  readonly username?: string | undefined
  /** The user's password; kept redacted, never shown in errors or logs. */
  readonly password?: string | Redacted.Redacted<string> | undefined
  /** TLS to the server: `true`, or Node's TLS options (a CA, …). */
  readonly ssl?: boolean | ConnectionOptions | undefined
  /** How long connecting may take. Default 5 seconds. */
  readonly connectTimeout?: Duration.Input | undefined
  /** Connections in the pool at most. Default 10. */
  readonly maxConnections?: number | undefined
  /** Shown in `pg_stat_activity`. Default `"@stellanow/sdk-sql"`. */
  readonly applicationName?: string | undefined
}

const redacted = (value: string | Redacted.Redacted<string> | undefined) =>
  value === undefined ? undefined : Redacted.isRedacted(value) ? value : Redacted.make(value)

/** user@host:port/database, from the options and the URL — never the password. */
const describe = (options: Options, table: string): string | undefined => {
  let fromUrl: { user?: string; host?: string; port?: string; database?: string } = {}
  const url = redacted(options.url)
  if (url !== undefined) {
    try {
      const parsed = new URL(Redacted.value(url))
      if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") return undefined
      fromUrl = {
        user: decodeURIComponent(parsed.username),
        host: parsed.hostname,
        port: parsed.port,
        database: decodeURIComponent(parsed.pathname.replace(/^\//, ""))
      }
    } catch {
      return undefined
    }
  }
  const user = options.username ?? fromUrl.user ?? ""
  const host = options.host ?? (fromUrl.host || "localhost")
  const port = options.port !== undefined ? String(options.port) : fromUrl.port || "5432"
  const database = options.database ?? (fromUrl.database || user || "postgres")
  return `PostgreSQL ${user === "" ? "" : `${user}@`}${host}:${port}/${database}, table "${table}"`
}

/**
 * Connects and opens the queue (creating its table on first use); closing the scope commits what is
 * pending, gives this instance's claims back to the others and closes the pool.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<MessageQueue.Service, StoreError | ConfigurationError, Scope.Scope> =>
  Effect.map(open(options), (opened) => opened.queue)

/** Opens the queue and its dead letters. */
const open = (options: Options): Effect.Effect<Core.Opened, StoreError | ConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    const { table } = yield* Core.validate(options)
    const store = describe(options, table)
    if (store === undefined) {
      // The URL is not echoed: it may hold a password.
      return yield* Core.invalid("url is not a postgres:// or postgresql:// URL")
    }
    const connectTimeout = yield* Core.positiveDuration(options.connectTimeout, "5 seconds", "connectTimeout")
    const url = redacted(options.url)
    const password = redacted(options.password)
    const PgClient = yield* Drivers.load(Drivers.pg, store)
    const client = yield* PgClient.make({
      ...(url === undefined ? {} : { url }),
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.database === undefined ? {} : { database: options.database }),
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(password === undefined ? {} : { password }),
      ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
      connectTimeout,
      maxConnections: options.maxConnections ?? 10,
      applicationName: options.applicationName ?? "@stellanow/sdk-sql"
    }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError((error) => toQueueError(store, "cannot connect", error)),
      Effect.catchDefect((defect) => Effect.fail(toQueueError(store, "cannot connect", defect)))
    )
    return yield* Core.open({ ...options, storeName: store }).pipe(Effect.provideService(SqlClient, client))
  })

/**
 * The PostgreSQL queue as the SDK's `MessageQueue`, for the `queue` option of `StellaNowLive.layer` and
 * of the `configure…Sdk` functions. Fails with a `StoreError` when the server cannot be reached or
 * refuses, or the table is not a queue of ours; with a `ConfigurationError` for an invalid option.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<MessageQueue.MessageQueue | DeadLetters.DeadLetters, ConfigurationError | StoreError> =>
  Layer.effectContext(Effect.map(open(options), Core.contextOf))

/**
 * The PostgreSQL queue with its options read from a `Config`, e.g.
 * `{ url: Config.Redacted("STELLANOW_QUEUE_URL") }`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Wrap<Options>
): Layer.Layer<MessageQueue.MessageQueue | DeadLetters.DeadLetters, ConfigurationError | StoreError> =>
  Layers.fromConfig(config, layer)
