import * as Effect from "effect/Effect"
import type { Envelope } from "../Envelope.js"
import type { Lease, OverflowPolicy, Service } from "../MessageQueue.js"
import { QueueError } from "../StellaNowError.js"
import * as BatchAck from "./batchAck.js"
import { LeaseIndex } from "./leaseIndex.js"
import { bodyBytes } from "./messageSize.js"

/** The bounds of an in-memory queue and what to do when an offer would break them. */
export interface Bounds {
  readonly capacity: number
  readonly capacityBytes: number
  readonly overflow: OverflowPolicy
}

/**
 * The in-memory queue behind `layerFifo` and `layerLifo`: a {@link LeaseIndex} with the capacity, the
 * byte budget and the overflow policy applied to each offer. The bytes of every message not yet
 * acknowledged (waiting or taken) are counted, as the messages are.
 */
export const make = (order: "fifo" | "lifo", bounds: Bounds): Effect.Effect<Service> =>
  Effect.sync(() => {
    const index = new LeaseIndex(order)
    let nextSequence = 0
    let bytes = 0

    const fits = (size: number) => index.pending < bounds.capacity && bytes + size <= bounds.capacityBytes

    /**
     * Drops the oldest waiting messages until the new one fits. When the messages being sent leave no
     * room, those dropped are put back and `undefined` tells the new one must go.
     */
    const makeRoom = (size: number): Array<Envelope> | undefined => {
      const dropped: Array<Lease> = []
      while (!fits(size)) {
        const oldest = index.dropOldest()
        if (oldest === undefined) {
          for (const lease of dropped) {
            index.putBack(lease)
            bytes += bodyBytes(lease.envelope)
          }
          return undefined
        }
        bytes -= bodyBytes(oldest.envelope)
        dropped.push(oldest)
      }
      return dropped.map((lease) => lease.envelope)
    }

    const offer = (envelope: Envelope): Effect.Effect<ReadonlyArray<Envelope>, QueueError> =>
      Effect.suspend(() => {
        const size = bodyBytes(envelope)
        let dropped: ReadonlyArray<Envelope> = []
        if (!fits(size)) {
          if (bounds.overflow === "fail") return Effect.fail(full(envelope, size))
          // A message over the whole budget would empty the queue and still not fit.
          const room = bounds.overflow === "dropOldest" && size <= bounds.capacityBytes ? makeRoom(size) : undefined
          if (room === undefined) return Effect.succeed([envelope])
          dropped = room
        }
        index.add({ envelope, sequence: nextSequence++ })
        bytes += size
        return Effect.succeed(dropped)
      })

    /** The `"fail"` policy's refusal, naming the limit reached. */
    const full = (envelope: Envelope, size: number) => {
      const { messageId } = envelope
      const detail = index.pending >= bounds.capacity
        ? `the message queue is full (capacity ${bounds.capacity}); message ${messageId} was not queued`
        : `the message queue is full (${bytes} of its ${bounds.capacityBytes} bytes in use); ` +
          `message ${messageId} (${size} bytes) was not queued`
      return new QueueError({ reason: "Full", messageId, capacity: bounds.capacity, detail })
    }

    const ackNow = (lease: Lease) => {
      if (index.ack(lease)) bytes -= bodyBytes(lease.envelope)
    }
    const ack = (lease: Lease) => Effect.sync(() => ackNow(lease))
    BatchAck.register(ack, (leases) =>
      Effect.sync(() => {
        for (const lease of leases) ackNow(lease)
      }))

    return {
      order,
      overflow: bounds.overflow,
      persistent: false,
      offer,
      take: (max) => index.take(max),
      ack,
      nack: (lease) => Effect.sync(() => void index.nack(lease)),
      size: Effect.sync(() => index.pending)
    } satisfies Service
  })
