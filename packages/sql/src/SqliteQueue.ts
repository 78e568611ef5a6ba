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
 * process opening it fails with a `StoreError` (reason `"Locked"`) after `lockTimeout`. To share a queue between processes, use `PgQueue`.
 *
 * The driver is Node's built-in SQLite (`node:sqlite`, Node 22.13 and later): nothing to install, no
 * native build. A new file is created readable and writable by its owner only (`0600`), as are its
 * `-wal` and `-shm` files.
 *
 * @since 0.1.0
 */
import type { ConfigurationError, DeadLetters, MessageQueue } from "@stellanow/sdk"
import { StoreError } from "@stellanow/sdk"
import { type Config, Duration, Effect, Layer, type Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import * as fs from "node:fs"
import * as path from "node:path"
import { toQueueError } from "./internal/classify.js"
import * as Core from "./internal/core.js"
import * as Drivers from "./internal/drivers.js"
import * as Layers from "./internal/layers.js"
import * as SqliteClient from "./internal/sqliteClient.js"
import type * as SqlMessageQueue from "./SqlMessageQueue.js"

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
  readonly lockTimeout?: Duration.Input | undefined
}

/**
 * Opens the queue in its file; closing the scope commits what is pending and releases the file.
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
    yield* Core.validate(options)
    if (typeof options.filename !== "string" || options.filename.trim() === "" || options.filename === ":memory:") {
      return yield* Core.invalid("filename must be the path of a file")
    }
    const synchronous = options.synchronous ?? "full"
    if (synchronous !== "normal" && synchronous !== "full") {
      return yield* Core.invalid(`synchronous must be "normal" or "full", got ${JSON.stringify(synchronous)}`)
    }
    const lockTimeout = yield* Core.duration(options.lockTimeout ?? Duration.seconds(5), "lockTimeout")
    const filename = path.resolve(options.filename)
    const store = `SQLite file ${filename}`
    if (!fs.existsSync(path.dirname(filename))) {
      // Checked apart: SQLite says only "unable to open database file".
      return yield* new StoreError({
        reason: "Unreachable",
        store,
        detail: "cannot open the queue: its directory does not exist"
      })
    }
    const driver = yield* Drivers.load(Drivers.sqlite, store)
    const client = yield* SqliteClient.make(driver, {
      filename,
      busyTimeout: Duration.toMillis(lockTimeout)
    }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError((error) => toQueueError(store, "cannot open the queue", error))
    )
    return yield* Core.open({ ...options, storeName: store }, {
      sqlitePragmas: ["PRAGMA journal_mode = WAL", `PRAGMA synchronous = ${synchronous.toUpperCase()}`]
    }).pipe(Effect.provideService(SqlClient, client))
  })

/**
 * The SQLite queue as the SDK's `MessageQueue`, for the `queue` option of `StellaNowLive.layer` and of
 * the `configure…Sdk` functions. Fails with a `StoreError` when the file is corrupt, not a queue,
 * read-only, on a full disk, or held by another process; with a `ConfigurationError` for an invalid
 * option.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<MessageQueue.MessageQueue | DeadLetters.DeadLetters, ConfigurationError | StoreError> =>
  Layer.effectContext(Effect.map(open(options), Core.contextOf))

/**
 * The SQLite queue with its options read from a `Config` (e.g.
 * `{ filename: Config.String("STELLANOW_QUEUE_FILE") }`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Wrap<Options>
): Layer.Layer<MessageQueue.MessageQueue | DeadLetters.DeadLetters, ConfigurationError | StoreError> =>
  Layers.fromConfig(config, layer)
