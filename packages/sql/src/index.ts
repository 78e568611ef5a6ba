/**
 * Persistent message queues for the StellaNow SDK: embedded SQLite, or a PostgreSQL outbox shared by
 * many instances.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as PgQueue from "./PgQueue.js"

/** @since 0.1.0 */
export * as SqliteQueue from "./SqliteQueue.js"

/** @since 0.1.0 */
export * as SqlMessageQueue from "./SqlMessageQueue.js"

/**
 * The error a queue's store fails with (`reason`, `store`, `detail`, `code`): the SDK's `StoreError`,
 * exported here too for `instanceof` and `catchTag` next to the queues.
 *
 * @since 0.2.0
 */
export { StoreError } from "@stellanow/sdk"
