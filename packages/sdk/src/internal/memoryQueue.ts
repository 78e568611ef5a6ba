import { Effect, Latch, Option } from "effect"
import type { Envelope } from "../Envelope.js"
import type { Lease, OverflowPolicy, Service } from "../MessageQueue.js"
import { QueueError } from "../StellaNowError.js"
import { Deque } from "./deque.js"

/**
 * The in-memory queue behind `layerFifo` and `layerLifo`.
 *
 * Waiting messages sit in a deque in arrival order; FIFO takes from the front, LIFO from the back.
 * A message given back (`nack`) goes to `returned`, kept in arrival order, and is taken again before
 * (FIFO) or after (LIFO) the waiting ones exactly as its arrival order says: "back where it was".
 */
export const make = (
  order: "fifo" | "lifo",
  options: { readonly capacity: number; readonly overflow: OverflowPolicy }
): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const waiting = new Deque<Lease>()
    const returned: Array<Lease> = []
    const taken = new Map<number, Lease>()
    const notEmpty = yield* Latch.make(false)
    let nextSequence = 0

    const pending = () => waiting.length + returned.length + taken.size

    const insertReturned = (lease: Lease) => {
      let i = returned.length
      while (i > 0 && returned[i - 1]!.sequence > lease.sequence) i--
      returned.splice(i, 0, lease)
    }

    /** Removes and gives the next message to take, or the oldest one when `oldest` is set. */
    const pop = (oldest: boolean): Lease | undefined => {
      const fromFront = oldest || order === "fifo"
      const candidate = fromFront ? waiting.peekFront() : waiting.peekBack()
      const back = fromFront ? returned[0] : returned[returned.length - 1]
      if (back !== undefined && (candidate === undefined || (back.sequence < candidate.sequence) === fromFront)) {
        return fromFront ? returned.shift() : returned.pop()
      }
      return fromFront ? waiting.popFront() : waiting.popBack()
    }

    const offer = (envelope: Envelope): Effect.Effect<Option.Option<Envelope>, QueueError> =>
      Effect.suspend(() => {
        let dropped: Option.Option<Envelope> = Option.none()
        if (pending() >= options.capacity) {
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
          const oldest = options.overflow === "dropOldest" ? pop(true) : undefined
          // When every message is already taken there is nothing older to drop: the new one goes.
          if (oldest === undefined) return Effect.succeed(Option.some(envelope))
          dropped = Option.some(oldest.envelope)
        }
        waiting.pushBack({ envelope, sequence: nextSequence++ })
        notEmpty.openUnsafe()
        return Effect.succeed(dropped)
      })

    const takeNow = (max: number): ReadonlyArray<Lease> => {
      const leases: Array<Lease> = []
      while (leases.length < max) {
        const lease = pop(false)
        if (lease === undefined) break
        taken.set(lease.sequence, lease)
        leases.push(lease)
      }
      return leases
    }

    const take = (max: number): Effect.Effect<ReadonlyArray<Lease>> =>
      Effect.suspend(() => {
        const leases = takeNow(Math.max(1, max))
        if (leases.length > 0) return Effect.succeed(leases)
        // Nothing is waiting: sleep until an offer or a nack opens the latch again.
        notEmpty.closeUnsafe()
        return Effect.andThen(notEmpty.await, take(max))
      })

    return {
      order,
      overflow: options.overflow,
      persistent: false,
      offer,
      take,
      ack: (lease) => Effect.sync(() => void taken.delete(lease.sequence)),
      nack: (lease) =>
        Effect.sync(() => {
          if (!taken.delete(lease.sequence)) return
          insertReturned(lease)
          notEmpty.openUnsafe()
        }),
      size: Effect.sync(pending)
    } satisfies Service
  })
