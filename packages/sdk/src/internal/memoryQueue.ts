import { Effect, Option } from "effect"
import type { Envelope } from "../Envelope.js"
import type { OverflowPolicy, Service } from "../MessageQueue.js"
import { QueueError } from "../StellaNowError.js"
import { LeaseIndex } from "./leaseIndex.js"

/**
 * The in-memory queue behind `layerFifo` and `layerLifo`: a {@link LeaseIndex} with the capacity and
 * overflow policy applied to each offer.
 */
export const make = (
  order: "fifo" | "lifo",
  options: { readonly capacity: number; readonly overflow: OverflowPolicy }
): Effect.Effect<Service> =>
  Effect.sync(() => {
    const index = new LeaseIndex(order)
    let nextSequence = 0

    const offer = (envelope: Envelope): Effect.Effect<Option.Option<Envelope>, QueueError> =>
      Effect.suspend(() => {
        let dropped: Option.Option<Envelope> = Option.none()
        if (index.pending >= options.capacity) {
          if (options.overflow === "fail") {
            return Effect.fail(
              new QueueError({
                reason: "Full",
                messageId: envelope.messageId,
                capacity: options.capacity,
                detail: `the message queue is full (capacity ${options.capacity}); ` +
                  `message ${envelope.messageId} was not queued`
              })
            )
          }
          const oldest = options.overflow === "dropOldest" ? index.dropOldest() : undefined
          // When every message is already taken there is nothing older to drop: the new one goes.
          if (oldest === undefined) return Effect.succeed(Option.some(envelope))
          dropped = Option.some(oldest.envelope)
        }
        index.add({ envelope, sequence: nextSequence++ })
        return Effect.succeed(dropped)
      })

    return {
      order,
      overflow: options.overflow,
      persistent: false,
      offer,
      take: (max) => index.take(max),
      ack: (lease) => Effect.sync(() => void index.ack(lease)),
      nack: (lease) => Effect.sync(() => void index.nack(lease)),
      size: Effect.sync(() => index.pending)
    } satisfies Service
  })
