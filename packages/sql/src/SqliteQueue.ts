/**
 * The persistent queue in an embedded SQLite file: no server, one process.
 *
 * Durability: the file is in WAL mode, and `sendMessage` returns once its message is committed.
 * - `synchronous: "full"` (the default): each commit is flushed to the disk (`fsync`) before it
 *   completes — a returned message survives the process being killed *and* a power loss or OS crash.
 * - `synchronous: "normal"`: commits reach the operating system, not the disk — a returned message
 *   survives the process being killed (even `SIGKILL`), but a power loss or OS crash may lose the last
 *   commits (never the file's consistency). Faster when commits are small.
 *
 * One process: the file is locked while the queue is open (`locking_mode = EXCLUSIVE`); a second
 * process opening it fails with a `ConfigurationError` (reason `"Locked"` in its `SqlQueueError`
 * cause) after `lockTimeout`. To share a queue between processes, use `PgQueue`.
 *
 * Driver: `@effect/sql-sqlite-node` (an optional peer dependency), imported when a queue is opened;
 * without it the layer fails with reason `"MissingDriver"`, naming the command that installs it.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql/SqlClient"
import type { ConfigurationError, MessageQueue } from "@stellanow/sdk"
import { MessageQueue as Queue } from "@stellanow/sdk"
import { Config, Duration, Effect, Layer, type Scope } from "effect"
import * as path from "node:path"
import { toQueueError } from "./internal/classify.js"
import * as Core from "./internal/core.js"
import * as Drivers from "./internal/drivers.js"
import * as Layers from "./internal/layers.js"
import type * as SqlMessageQueue from "./SqlMessageQueue.js"
import { type SqlQueueError, toConfigurationError } from "./SqlQueueError.js"

/**
 * Options of the SQLite queue.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options
  extends Omit<SqlMessageQueue.Options, "leaseDuration" | "pollInterval" | "table" | "storeName">
{
  /** The queue's file. Created with its tables on first use; it must hold nothing else. */
  readonly filename: string
  /**
   * `"full"`: a committed message survives a power loss; `"normal"`: it survives the process being
   * killed, not a power loss. Default `"full"`.
   */
  readonly synchronous?: "normal" | "full" | undefined
  /** How long opening waits for another process to release the file. Default 5 seconds. */
  readonly lockTimeout?: Duration.DurationInput | undefined
}

/**
 * Opens the queue in its file; closing the scope commits what is pending and releases the file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<MessageQueue.Service, SqlQueueError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* Core.validate(options)
    if (typeof options.filename !== "string" || options.filename.trim() === "" || options.filename === ":memory:") {
      return yield* Core.invalid("filename must be the path of a file")
    }
    const synchronous = options.synchronous ?? "full"
    if (synchronous !== "normal" && synchronous !== "full") {
      return yield* Core.invalid(`synchronous must be "normal" or "full", got ${JSON.stringify(synchronous)}`)
    }
    const lockTimeout = options.lockTimeout === undefined
      ? Duration.seconds(5)
      : yield* Effect.try({
        try: () => Duration.decode(options.lockTimeout!),
        catch: () => Core.invalid("lockTimeout is not a duration")
      })
    const filename = path.resolve(options.filename)
    const store = `SQLite file ${filename}`
    const SqliteClient = yield* Drivers.load(Drivers.sqlite, store)
    const client = yield* SqliteClient.make({ filename, disableWAL: true }).pipe(
      Effect.provide(Reactivity.layer),
      // better-sqlite3 throws when it cannot open the file at all (a missing directory, no permission).
      Effect.catchAllDefect((defect) => Effect.fail(toQueueError(store, "cannot open the queue", defect)))
    )
    const busyTimeout = Math.min(Math.round(Duration.toMillis(lockTimeout)), 2_147_483_647)
    yield* Effect.mapError(
      client.unsafe(`PRAGMA busy_timeout = ${busyTimeout}`),
      (error) => toQueueError(store, "cannot open the queue", error)
    )
    return yield* Core.make({ ...options, storeName: store }, {
      sqlitePragmas: ["PRAGMA journal_mode = WAL", `PRAGMA synchronous = ${synchronous.toUpperCase()}`]
    }).pipe(Effect.provideService(SqlClient, client))
  })

/**
 * The SQLite queue as the SDK's `MessageQueue`, for the `queue` option of `StellaNowLive.layer` and of
 * the `configure…Sdk` functions. Fails with a `ConfigurationError` (its `cause` a `SqlQueueError`)
 * when the file is corrupt, not a queue, read-only, on a full disk, or held by another process.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<MessageQueue.MessageQueue, ConfigurationError> =>
  Layer.scoped(Queue.MessageQueue, Effect.mapError(make(options), toConfigurationError))

/**
 * The SQLite queue with its options read from a `Config` (e.g.
 * `Config.all({ filename: Config.string("STELLANOW_QUEUE_FILE") })`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<MessageQueue.MessageQueue, ConfigurationError> => Layers.fromConfig(config, layer)
