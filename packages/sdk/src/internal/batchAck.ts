import type * as Effect from "effect/Effect"
import type { Lease } from "../MessageQueue.js"

/**
 * Acknowledgements of a whole batch in one call, for the queues that can make them and cannot fail
 * (the in-memory ones). The drain otherwise makes an effect, and a handler for its failure, per
 * message acknowledged.
 *
 * Kept by the queue's own `ack` function rather than as a member of the queue: a queue made by
 * spreading another (`{ ...memory, ack: guarded }`, as a test or a decorator does) replaces `ack`
 * and so loses the batch, where a copied member would bypass the `ack` it meant to wrap.
 */
const batches = new WeakMap<object, (leases: ReadonlyArray<Lease>) => Effect.Effect<void>>()

/** Records that `ackAll` acknowledges a batch exactly as `ack` would each of its messages. */
export const register = (ack: object, ackAll: (leases: ReadonlyArray<Lease>) => Effect.Effect<void>): void => {
  batches.set(ack, ackAll)
}

/** The batch acknowledgement of a queue's `ack`, if it has one. */
export const of = (ack: object): ((leases: ReadonlyArray<Lease>) => Effect.Effect<void>) | undefined => batches.get(ack)
