import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Latch from "effect/Latch"
import type * as Tracer from "effect/Tracer"
import type { Lease } from "../MessageQueue.js"
import type { PublishError } from "../StellaNowError.js"

/**
 * The drain's bookkeeping: the messages taken from the queue and neither acknowledged nor given back
 * yet, each with its publish span when spans are collected, and the two things the drain waits for:
 * room for more, and none left. The latches follow the count at `recount`, once per batch rather
 * than once per message.
 */
export interface InFlight {
  /** How many messages are unsettled. */
  readonly size: () => number
  readonly has: (lease: Lease) => boolean
  /** Records a message just published, with its span if one is collected. */
  readonly add: (lease: Lease, span: Tracer.Span | undefined) => void
  /** Takes the message out, ending its span with `exit`; false if it was settled already. */
  readonly remove: (lease: Lease, exit: Exit.Exit<unknown, unknown>) => boolean
  /** Opens or closes `room` and `idle` after a batch of changes; returns the count. */
  readonly recount: () => number
  /** Whether fewer than the maximum are unsettled (as of the last `recount`): `room` would not wait. */
  readonly hasRoom: () => boolean
  /** Waits until fewer than the maximum are unsettled (as of the last `recount`). */
  readonly room: Effect.Effect<void>
  /** Waits until none is unsettled (as of the last `recount`). */
  readonly idle: Effect.Effect<void>
  /** The unsettled messages, in the order they were published: what a stopped drain gives back. */
  readonly leases: () => ReadonlyArray<Lease>
}

export const make = (max: number, clock: Clock.Clock): Effect.Effect<InFlight> =>
  Effect.sync(() => {
    const unsettled = new Map<Lease, Tracer.Span | undefined>()
    const room = Latch.makeUnsafe(true)
    const idle = Latch.makeUnsafe(true)
    return {
      size: () => unsettled.size,
      has: (lease) => unsettled.has(lease),
      add: (lease, span) => void unsettled.set(lease, span),
      remove: (lease, exit) => {
        const span = unsettled.get(lease)
        if (!unsettled.delete(lease)) return false
        // The clock is read only for a span: most runs collect none.
        span?.end(clock.currentTimeNanosUnsafe(), exit)
        return true
      },
      recount: () => {
        if (unsettled.size < max) room.openUnsafe()
        else room.closeUnsafe()
        if (unsettled.size === 0) idle.openUnsafe()
        else idle.closeUnsafe()
        return unsettled.size
      },
      hasRoom: () => room.isOpen(),
      room: room.await,
      idle: idle.await,
      leases: () => [...unsettled.keys()]
    }
  })

/** A publish's outcome, as the sink reported it. */
export type Outcome = readonly [Lease, Exit.Exit<void, PublishError>]

/**
 * Outcomes the sink reported and the drain has not settled yet. The sink reports from its own
 * callbacks; a fiber of the drain waits for them and settles them in batches.
 */
export interface Outcomes {
  /** Records an outcome; safe to call from any callback. */
  readonly push: (lease: Lease, exit: Exit.Exit<void, PublishError>) => void
  /** Waits until an outcome was recorded since the last `takeAll`. */
  readonly await: Effect.Effect<void>
  /** Takes every outcome recorded so far. */
  readonly takeAll: () => Array<Outcome>
}

export const makeOutcomes: Effect.Effect<Outcomes> = Effect.sync(() => {
  const outcomes: Array<Outcome> = []
  const recorded = Latch.makeUnsafe(false)
  return {
    push: (lease, exit) => {
      outcomes.push([lease, exit])
      recorded.openUnsafe()
    },
    await: recorded.await,
    takeAll: () => {
      recorded.closeUnsafe()
      return outcomes.splice(0)
    }
  }
})
