/**
 * A persistent `MessageQueue` on `effect/sql`: messages are rows of a table, so those queued survive
 * the process. One implementation for both stores the package supports:
 *
 * - **SQLite** — one process owns the file (it is locked while open). The rows are the durable copy and
 *   the process keeps an index of them in memory: taking a message costs no I/O.
 * - **PostgreSQL** — the table is the queue, shared by every process that opens it. Each instance claims
 *   the messages it takes with a lease it keeps extending while alive; a dead instance's messages are
 *   taken over once its leases expire.
 *
 * In both, `offer` joins a group commit and completes once its message is committed; a message leaves
 * the table only when acknowledged; the same capacity and overflow policies as the in-memory queues
 * apply, counting waiting and taken messages.
 *
 * @since 0.1.0
 */
import type { ConfigurationError, DeadLetters, StoreError } from "@stellanow/sdk"
import { MessageQueue } from "@stellanow/sdk"
import type { Duration, Scope } from "effect"
import { Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import * as Core from "./internal/core.js"

/**
 * Options of a persistent queue.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends MessageQueue.Options {
  /** Which message is taken first. Default `"fifo"`. */
  readonly order?: "fifo" | "lifo" | undefined
  /**
   * The queue's table (`[A-Za-z_][A-Za-z0-9_]*`, at most 48 characters); its migrations are recorded in
   * `<table>_migrations`. Default `"stellanow_queue"`.
   */
  readonly table?: string | undefined
  /**
   * PostgreSQL: how long a taken message stays claimed by this instance without news from it. The
   * instance extends its leases every third of it while alive; once a lease expired (the instance died
   * or lost the database), another instance takes the message. Default 30 seconds.
   */
  readonly leaseDuration?: Duration.Input | undefined
  /**
   * PostgreSQL: how often an idle instance looks for messages queued by others or released by an
   * expired lease. Its own messages wake it at once. Default 250 milliseconds.
   */
  readonly pollInterval?: Duration.Input | undefined
  /**
   * How long an acknowledged message may stay in the table before its delete is committed: deletes are
   * committed together — with the next messages queued, per ten thousand (SQLite) or thousand
   * (PostgreSQL), or this long after the first. A crash before that commit delivers those messages
   * again (at least once). Default 100 milliseconds.
   */
  readonly ackDelay?: Duration.Input | undefined
  /** How long closing may take to commit what is pending. Default 5 seconds. */
  readonly closeTimeout?: Duration.Input | undefined
  /**
   * How long an operation waits for the store while it is unavailable (a database that is down or
   * slow): `sendMessage` waits at most this long for its message to be committed, then fails with a
   * `QueueError` (`"StoreFailed"`) whose cause is a `StoreError` — `"Timeout"` (the commit may still
   * land, and the message is then delivered), or what the store failed with. Counting the queue and
   * giving a message back wait as long at most. Default 5 seconds.
   */
  readonly storeTimeout?: Duration.Input | undefined
  /** Names the store in messages and logs. Default: the file, or the server, database and table. */
  readonly storeName?: string | undefined
}

/**
 * The default table name.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTable: string = Core.defaultTable

/**
 * Opens the queue on the `SqlClient` in context: checks and migrates its tables, then serves the
 * `MessageQueue` interface until the scope closes (when what is pending is committed). Fails with a
 * `StoreError` saying why the store cannot be used, or a `ConfigurationError` for an invalid option;
 * never deletes stored data to recover.
 *
 * On SQLite it takes the file for this process (`PRAGMA locking_mode = EXCLUSIVE`) and leaves the
 * journal mode and `synchronous` as the client set them; `SqliteQueue.layer` sets both.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<MessageQueue.Service, StoreError | ConfigurationError, SqlClient | Scope.Scope> => Core.make(options)

/**
 * The persistent queue as the SDK's `MessageQueue`, on the `SqlClient` provided to it. Fails with a
 * `StoreError` when the store cannot be used, a `ConfigurationError` for an invalid option.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<MessageQueue.MessageQueue | DeadLetters.DeadLetters, ConfigurationError | StoreError, SqlClient> =>
  Layer.effectContext(Effect.map(Core.open(options), Core.contextOf))
