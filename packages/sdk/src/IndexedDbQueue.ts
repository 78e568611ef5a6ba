/**
 * The persistent queue for web pages: messages wait in the browser's IndexedDB, so those queued while
 * offline, or not yet acknowledged when the page is reloaded or closed, are sent after the next load
 * (at least once: one taken but not acknowledged before the reload is sent again, with its message id).
 *
 * Like the SQLite queue, the database is the durable copy and the page keeps an index of its messages
 * in memory: `sendMessage` returns once its message is committed; acknowledgements are committed
 * together within 100 ms (and when the SDK is closed), so a reload right after one may send that
 * message again. One page at a time:
 * the queue holds a Web Lock named after its database while open, so a second tab of the same site
 * waits for the first (at most `lockTimeout`) instead of sending the same messages. No Node.js API is
 * used; where there is no IndexedDB (Node.js), opening fails with a `StoreError` (`"Unsupported"`).
 *
 * @since 0.2.0
 * @packageDocumentation
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Envelope } from "./Envelope.js"
import * as Store from "./internal/indexedDbStore.js"
import { LeaseIndex } from "./internal/leaseIndex.js"
import * as Check from "./internal/options.js"
import * as WebLock from "./internal/webLock.js"
import * as MessageQueue from "./MessageQueue.js"
import { type ConfigurationError, QueueError, StoreError } from "./StellaNowError.js"

/**
 * Options of the IndexedDB queue.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options extends MessageQueue.Options {
  /** Which message is taken first. Default `"fifo"`. */
  readonly order?: "fifo" | "lifo" | undefined
  /** The IndexedDB database holding the queue (one queue per database). Default `"stellanow-queue"`. */
  readonly database?: string | undefined
  /**
   * `"relaxed"`: a committed message survives a reload, the tab closing and the browser crashing, not
   * an OS crash or power loss; `"strict"`: it survives those too, each commit waiting for the disk.
   * Default `"relaxed"` (what browsers do by default).
   */
  readonly durability?: "strict" | "relaxed" | undefined
  /** How long opening waits for another tab of the same site to close the queue. Default 5 seconds. */
  readonly lockTimeout?: Duration.Input | undefined
}

/**
 * The default database name.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultDatabase = "stellanow-queue"

interface Valid {
  readonly order: "fifo" | "lifo"
  readonly capacity: number
  readonly overflow: MessageQueue.OverflowPolicy
  readonly database: string
  readonly durability: "strict" | "relaxed"
  readonly lockTimeout: Duration.Duration
}

const validate = (options: Options): Effect.Effect<Valid, ConfigurationError> =>
  Effect.gen(function*() {
    const { capacity, overflow } = yield* MessageQueue.validateOptions(options)
    const order = options.order ?? "fifo"
    if (order !== "fifo" && order !== "lifo") {
      return yield* Check.invalid(`queue order must be "fifo" or "lifo", got ${JSON.stringify(order)}`)
    }
    const database = options.database ?? defaultDatabase
    if (typeof database !== "string" || database === "") {
      return yield* Check.invalid(`queue database must be a non-empty name, got ${JSON.stringify(database)}`)
    }
    const durability = options.durability ?? "relaxed"
    if (durability !== "strict" && durability !== "relaxed") {
      return yield* Check.invalid(`queue durability must be "strict" or "relaxed", got ${JSON.stringify(durability)}`)
    }
    const lockTimeout = yield* Check.duration(options.lockTimeout, "5 seconds", "queue lockTimeout")
    return { order, capacity, overflow, database, durability, lockTimeout }
  })

/** Holds the queue's Web Lock for the scope: no other tab of the site opens it meanwhile. */
const holdLock = (valid: Valid, store: string): Effect.Effect<void, StoreError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        WebLock.acquire(`@stellanow/sdk/IndexedDbQueue:${valid.database}`, Duration.toMillis(valid.lockTimeout)),
      catch: (cause) =>
        new StoreError({
          reason: "Locked",
          store,
          detail: `cannot open the queue: another tab or worker of this site held it for ${
            Duration.format(valid.lockTimeout)
          }`,
          cause
        })
    }),
    (release) => Effect.sync(() => release?.())
  )

/** Opens the database for the scope, and reads the messages it holds. */
const openStore = (valid: Valid, store: string) =>
  Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => Store.open(valid.database),
        catch: (error) => Store.storeError(store, "cannot open the queue", error)
      }),
      (db) => Effect.sync(() => db.close())
    )
    const stored = yield* Effect.tryPromise({
      try: () => Store.load(db),
      catch: (error) => Store.storeError(store, "cannot read the queue", error)
    })
    if (stored.length > 0) yield* Effect.logInfo(`opened with ${stored.length} message(s) waiting`)
    if (stored.length > valid.capacity) {
      yield* Effect.logWarning(
        `the queue holds ${stored.length} messages, more than its capacity of ${valid.capacity}; ` +
          "none is deleted, and new messages follow the overflow policy"
      )
    }
    return { db, stored }
  })

const full = (envelope: Envelope, capacity: number) =>
  new QueueError({
    reason: "Full",
    messageId: envelope.messageId,
    capacity,
    detail: `the message queue is full (capacity ${capacity}); message ${envelope.messageId} was not queued`
  })

const notStored = (envelope: Envelope, store: string, error: unknown) => {
  const cause = Store.storeError(store, "cannot store the message", error)
  return new QueueError({
    reason: "StoreFailed",
    messageId: envelope.messageId,
    detail: `message ${envelope.messageId} was not queued: ${cause.message}`,
    cause
  })
}

/**
 * Opens the queue in its database; closing the scope commits the last acknowledgements, closes the
 * database and lets another tab open it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<MessageQueue.Service, StoreError | ConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    const valid = yield* validate(options)
    const store = Store.describe(valid.database)
    yield* holdLock(valid, store)
    const { db, stored } = yield* openStore(valid, store)
    const index = new LeaseIndex(valid.order)
    for (const lease of stored) index.add(lease)
    // Sequences keep growing across loads: the next one follows the last stored.
    let nextSequence = stored.length === 0 ? 0 : stored[stored.length - 1]!.sequence + 1
    // Committed messages become takeable in the order they were offered.
    const writer = new Store.Writer(db, valid.durability, (puts) => puts.forEach((lease) => index.add(lease)))
    yield* Effect.addFinalizer(() => Effect.promise(() => writer.flush()))
    const pending = () => index.pending + writer.storing

    const offer = (envelope: Envelope): Effect.Effect<ReadonlyArray<Envelope>, QueueError> =>
      Effect.suspend(() => {
        let dropped: MessageQueue.Lease | undefined
        if (pending() >= valid.capacity) {
          if (valid.overflow === "fail") return Effect.fail(full(envelope, valid.capacity))
          dropped = valid.overflow === "dropOldest" ? index.dropOldest() : undefined
          // Every message is taken or being stored: nothing older to drop, the new one goes.
          if (dropped === undefined) return Effect.succeed([envelope])
        }
        const lease = { envelope, sequence: nextSequence++ }
        const written = writer.write(lease, dropped === undefined ? [] : [dropped.sequence])
        return Effect.tryPromise({ try: () => written, catch: (error) => notStored(envelope, store, error) }).pipe(
          Effect.tapError(() => Effect.sync(() => dropped !== undefined && index.putBack(dropped))),
          Effect.as(dropped === undefined ? [] : [dropped.envelope])
        )
      })

    return {
      order: valid.order,
      overflow: valid.overflow,
      persistent: true,
      offer,
      take: (max) => index.take(max),
      // The delete is committed within 100 ms; until then a reload sends the message again.
      ack: (lease) => Effect.sync(() => void (index.ack(lease) && writer.write(undefined, [lease.sequence]))),
      nack: (lease) => Effect.sync(() => void index.nack(lease)),
      size: Effect.sync(pending)
    } satisfies MessageQueue.Service
  }).pipe(Effect.annotateLogs({ module: "IndexedDbQueue" }))

/**
 * The IndexedDB queue as the SDK's `MessageQueue`, for the `queue` option of `StellaNowLive.layer` and
 * of the `configure…Sdk` functions. Fails with a `StoreError` when IndexedDB is missing or refused
 * (`"Unsupported"`), another tab holds the queue past `lockTimeout` (`"Locked"`), or the database
 * holds something else (`"Foreign"`); with a `ConfigurationError` for an invalid option.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError> =>
  Layer.effect(MessageQueue.MessageQueue, make(options))
