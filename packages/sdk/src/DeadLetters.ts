/**
 * Dead letters: messages the broker refused `maxAttempts` times (an MQTT 5 PUBACK with a reason code of
 * 0x80 or more, a "packet too large", or a PUBACK that never came while later ones did). The SDK keeps
 * each one here, then takes it out of the queue so the messages behind it go out. A dead letter is
 * never sent again by the SDK: read them with {@link Service.list} to inspect or resend them yourself.
 *
 * The SDK uses the `DeadLetters` service in its context if there is one (the SQL queues of
 * `@stellanow/sdk-sql` provide one that keeps them in their database), else {@link layerMemory}'s.
 *
 * @since 0.2.0
 * @packageDocumentation
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Envelope } from "./Envelope.js"
import * as Check from "./internal/options.js"
import type { ConfigurationError, StoreError } from "./StellaNowError.js"

/**
 * A message taken out of the queue because the broker refused it.
 *
 * @since 0.2.0
 * @category models
 */
export interface DeadLetter {
  /** The message, as it was queued (its message id included). */
  readonly envelope: Envelope
  /** Why, in words: the broker's last refusal and its reason code. */
  readonly reason: string
  /** When it was dead-lettered (epoch milliseconds). */
  readonly at: number
}

/**
 * The dead-letter store's interface. A persistent one fails with a `StoreError` when its store cannot
 * be used; the SDK then keeps the message queued and tries again at its next refusal.
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** Keeps a dead letter. */
  readonly put: (envelope: Envelope, reason: string) => Effect.Effect<void, StoreError>
  /** The dead letters kept, oldest first. */
  readonly list: Effect.Effect<ReadonlyArray<DeadLetter>, StoreError>
  /** How many dead letters are kept. */
  readonly size: Effect.Effect<number, StoreError>
}

/**
 * The dead-letter store's service tag.
 *
 * @since 0.2.0
 * @category services
 */
export class DeadLetters extends Context.Service<DeadLetters, Service>()("@stellanow/sdk/DeadLetters") {}

/**
 * How many dead letters the in-memory store keeps by default.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultCapacity = 1_000

/**
 * Options of the in-memory store.
 *
 * @since 0.2.0
 * @category models
 */
export interface MemoryOptions {
  /** How many dead letters to keep at most; beyond it the oldest is forgotten. Default 1,000. */
  readonly capacity?: number | undefined
}

/**
 * Makes an in-memory dead-letter store: bounded, the oldest forgotten beyond `capacity`, lost with the
 * process.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory = (options: MemoryOptions = {}): Effect.Effect<Service, ConfigurationError> =>
  Effect.gen(function*() {
    const capacity = yield* Check.count(options.capacity, defaultCapacity, "dead-letter capacity")
    const letters: Array<DeadLetter> = []
    return {
      put: (envelope, reason) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          letters.push({ envelope, reason, at })
          if (letters.length > capacity) letters.shift()
        }),
      list: Effect.sync(() => letters.slice()),
      size: Effect.sync(() => letters.length)
    } satisfies Service
  })

/**
 * The in-memory dead-letter store, the SDK's default: at most 1,000 dead letters unless `capacity`
 * says otherwise, the oldest forgotten first; lost with the process.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<DeadLetters, ConfigurationError> =>
  Layer.effect(DeadLetters, makeMemory(options))
