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

/** @since 0.1.0 */
export * as SqlQueueError from "./SqlQueueError.js"
