/**
 * The one error of the persistent queues: what went wrong with the store, in words that name the
 * file or the server (never a password), with the driver's error kept as `cause`.
 *
 * When a queue cannot be opened, the layer fails with the SDK's `ConfigurationError` whose `cause` is
 * a `SqlQueueError`; when a message cannot be stored later (a full disk), `offer` dies with one.
 *
 * @since 0.1.0
 */
import { ConfigurationError } from "@stellanow/sdk"
import { Schema } from "effect"

/**
 * Why the store failed.
 * - `"Corrupt"`: the file is not a SQLite database, or its pages are damaged.
 * - `"Foreign"`: the file or table holds something other than a StellaNow queue.
 * - `"Incompatible"`: the queue was created by a newer version of this package.
 * - `"Locked"`: another process holds the SQLite file.
 * - `"ReadOnly"`: the file, its directory or the database cannot be written.
 * - `"DiskFull"`: no room left to store.
 * - `"Unreachable"`: the database server cannot be reached, or a directory is missing.
 * - `"Refused"`: the server refused the connection (credentials, database, privileges).
 * - `"Unsupported"`: the SQL client is neither SQLite nor PostgreSQL.
 * - `"MissingDriver"`: the store's driver package (`@effect/sql-sqlite-node` for SQLite,
 *   `@effect/sql-pg` for PostgreSQL, optional peer dependencies) is not installed; the detail gives the
 *   command that installs it.
 * - `"InvalidOption"`: an option of the queue is invalid.
 * - `"Failed"`: anything else.
 *
 * @since 0.1.0
 * @category models
 */
export const Reason = Schema.Literal(
  "Corrupt",
  "Foreign",
  "Incompatible",
  "Locked",
  "ReadOnly",
  "DiskFull",
  "Unreachable",
  "Refused",
  "Unsupported",
  "MissingDriver",
  "InvalidOption",
  "Failed"
)

/**
 * @since 0.1.0
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * The store of a persistent queue failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class SqlQueueError extends Schema.TaggedError<SqlQueueError>("@stellanow/sdk-sql/SqlQueueError")(
  "SqlQueueError",
  {
    reason: Reason,
    /** The store, for people: `SQLite file /var/lib/app/queue.db`, `PostgreSQL app@db:5432/app, table q`. */
    store: Schema.String,
    /** What happened, in words. */
    detail: Schema.String,
    /** The driver's error code, when there is one (`SQLITE_FULL`, `ECONNREFUSED`, `53100`). */
    code: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `${this.store}: ${this.detail}`
  }

  /** Whether trying again later may succeed: the server was unreachable, or the file busy. */
  get isTransient(): boolean {
    return this.reason === "Unreachable" || this.reason === "Locked"
  }
}

/**
 * The error a queue layer fails with when it cannot open its store: the SDK's `ConfigurationError`,
 * whose `cause` is the {@link SqlQueueError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const toConfigurationError = (error: SqlQueueError): ConfigurationError =>
  new ConfigurationError({ reason: "InvalidOption", detail: error.message, cause: error })
