/**
 * The outgoing buffer: where messages wait between `sendMessage` and the broker's acknowledgement.
 * A message leaves the queue only when the broker acknowledged it; a failed or interrupted publish
 * puts it back where it was, with its original message id.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Envelope } from "./Envelope.js"
import * as MemoryQueue from "./internal/memoryQueue.js"
import * as Check from "./internal/options.js"
import type { ConfigurationError, QueueError } from "./StellaNowError.js"

/**
 * A message taken from the queue for publishing. It stays accounted for until it is acknowledged
 * (`ack`) or given back (`nack`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Lease {
  readonly envelope: Envelope
  /** The message's position: its order of arrival in this queue. */
  readonly sequence: number
}

/**
 * What to do with a new message when the queue is full: it holds `capacity` messages, or (in-memory
 * queues) the new one would take it over its byte budget, `capacityBytes`.
 * - `"dropOldest"`: make room by dropping the oldest waiting messages, as many as needed (the default:
 *   fresh events win); when the messages being sent leave no room, the new one is dropped instead;
 * - `"dropNewest"`: drop the new message;
 * - `"fail"`: refuse the new message with a `QueueError` (`"Full"`).
 *
 * Every drop is counted and logged at warn. When the new message is the one dropped, `sendMessage`
 * fails with a `QueueError` (`"Dropped"`).
 *
 * @since 0.1.0
 * @category models
 */
export type OverflowPolicy = "dropOldest" | "dropNewest" | "fail"

/**
 * The queue's interface. Implementations: {@link layerFifo}, {@link layerLifo} in memory, and the
 * persistent queues of `@stellanow/sdk-sql`.
 *
 * Storage failures are typed: every operation may fail with a `QueueError` of reason `"StoreFailed"`
 * whose `cause` is the `StoreError` (a database that is down, a full disk), after at most the store's
 * own bounded wait (`storeTimeout` in `@stellanow/sdk-sql`). The in-memory queues never fail so. The
 * SDK rides such failures out: a failed `take` is retried with the SDK's backoff (logged at warn once
 * per outage), a failed `ack` is retried (at worst the message is delivered twice), a failed `nack`
 * leaves the message to the store (a PostgreSQL lease expires and the message is taken again).
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Which message is taken first. */
  readonly order: "fifo" | "lifo"
  /** The overflow policy, for metrics and logs. */
  readonly overflow?: OverflowPolicy | undefined
  /**
   * Whether queued messages outlive the process (a persistent store), so that closing the SDK can say
   * whether the messages it leaves behind are lost. Left out: unknown.
   */
  readonly persistent?: boolean | undefined
  /**
   * Adds a message. Succeeds with the messages the overflow policy dropped to make room, oldest first
   * (possibly the new one itself, then alone); empty when none. Fails with a `QueueError`: `"Full"`
   * under the `"fail"` policy, `"StoreFailed"` when a persistent queue cannot store it.
   */
  readonly offer: (envelope: Envelope) => Effect.Effect<ReadonlyArray<Envelope>, QueueError>
  /**
   * Takes up to `max` messages in queue order, waiting until there is at least one; fails with a
   * `QueueError` (`"StoreFailed"`) when the store cannot be read.
   */
  readonly take: (max: number) => Effect.Effect<ReadonlyArray<Lease>, QueueError>
  /**
   * The broker acknowledged the message: it leaves the queue for good. Fails with a `QueueError`
   * (`"StoreFailed"`) when the store cannot record it: the message stays stored.
   */
  readonly ack: (lease: Lease) => Effect.Effect<void, QueueError>
  /**
   * The publish failed or was interrupted: the message goes back to where it was. Fails with a
   * `QueueError` (`"StoreFailed"`) when the store cannot record it: the message stays taken until the
   * store gives it back (a PostgreSQL lease expires).
   */
  readonly nack: (lease: Lease) => Effect.Effect<void, QueueError>
  /** Messages not yet acknowledged: waiting plus taken. Fails with a `QueueError` when the store cannot count. */
  readonly size: Effect.Effect<number, QueueError>
}

/**
 * The outgoing buffer's service tag.
 *
 * @since 0.1.0
 * @category services
 */
export class MessageQueue extends Context.Service<MessageQueue, Service>()("@stellanow/sdk/MessageQueue") {}

/**
 * Options of the bounded queues.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How many unacknowledged messages the queue holds at most. Default 100,000. */
  readonly capacity?: number | undefined
  /** What to do when it is full. Default `"dropOldest"`. */
  readonly overflow?: OverflowPolicy | undefined
}

/**
 * Options of the in-memory queues: those of every bounded queue, and a byte budget.
 *
 * @since 0.2.0
 * @category models
 */
export interface MemoryOptions extends Options {
  /**
   * How many bytes of messages (their envelopes in UTF-8) the queue holds at most, counting those being
   * sent. The overflow policy applies to whichever of `capacity` and `capacityBytes` is reached first.
   * Default 128 MiB ({@link defaultCapacityBytes}).
   */
  readonly capacityBytes?: number | undefined
}

/**
 * The default capacity of the bounded queues.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultCapacity = 100_000

/**
 * The default byte budget of the in-memory queues: 128 MiB. Ordinary events stay bounded by the
 * count (100,000 envelopes of the seed's 509 bytes are under 50 MiB), while large messages can no
 * longer fill the heap: V8 keeps an ASCII string at a byte a character, so the queue holds at most
 * about this much, which a service in a 512 MiB container survives.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultCapacityBytes = 128 * 1024 * 1024

/**
 * Checks queue options, failing with a `ConfigurationError` that names the bad one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validateOptions = (
  options: Options = {}
): Effect.Effect<{ readonly capacity: number; readonly overflow: OverflowPolicy }, ConfigurationError> =>
  Effect.gen(function*() {
    const capacity = yield* Check.count(options.capacity, defaultCapacity, "queue capacity")
    const overflow = options.overflow ?? "dropOldest"
    if (!["dropOldest", "dropNewest", "fail"].includes(overflow)) {
      return yield* Check.invalid(
        `queue overflow policy must be "dropOldest", "dropNewest" or "fail", got ${JSON.stringify(overflow)}`
      )
    }
    return { capacity, overflow }
  })

/**
 * Checks the options of an in-memory queue, failing with a `ConfigurationError` that names the bad one.
 *
 * @since 0.2.0
 * @category constructors
 */
export const validateMemoryOptions = (
  options: MemoryOptions = {}
): Effect.Effect<
  { readonly capacity: number; readonly capacityBytes: number; readonly overflow: OverflowPolicy },
  ConfigurationError
> =>
  Effect.gen(function*() {
    const valid = yield* validateOptions(options)
    const capacityBytes = yield* Check.count(options.capacityBytes, defaultCapacityBytes, "queue capacityBytes")
    return { ...valid, capacityBytes }
  })

/**
 * Makes an in-memory queue.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (
  order: "fifo" | "lifo",
  options?: MemoryOptions
): Effect.Effect<Service, ConfigurationError> =>
  Effect.flatMap(validateMemoryOptions(options), (valid) => MemoryQueue.make(order, valid))

/**
 * An in-memory, bounded, first-in-first-out queue. Its contents are lost when the process dies.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFifo = (options?: MemoryOptions): Layer.Layer<MessageQueue, ConfigurationError> =>
  Layer.effect(MessageQueue, makeMemory("fifo", options))

/**
 * An in-memory, bounded, last-in-first-out queue: the newest message goes out first.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLifo = (options?: MemoryOptions): Layer.Layer<MessageQueue, ConfigurationError> =>
  Layer.effect(MessageQueue, makeMemory("lifo", options))
