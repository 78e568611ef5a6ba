import type { Envelope, MessageQueue } from "@stellanow/sdk"
import { Option } from "effect"
import type { OfferOutcome } from "./writer.js"

/** A stored message that the overflow policy may drop. */
export interface Stored {
  readonly sequence: number
  readonly envelope: Envelope.Envelope
}

/** What a batch of offers does to a queue of `size` messages. */
export interface Plan {
  /** One per offer, in order. */
  readonly outcomes: ReadonlyArray<OfferOutcome>
  /** The offers to insert (their indices, ascending). */
  readonly insert: ReadonlyArray<number>
  /** The stored messages dropped to make room, oldest first. */
  readonly dropped: ReadonlyArray<Stored>
}

/**
 * Applies the capacity and overflow policy to a batch of offers, one after the other, exactly as the
 * SDK's in-memory queue does to the same offers: `size` counts every unacknowledged message, waiting
 * or taken; `"dropOldest"` drops the oldest *waiting* one (`oldestWaiting` gives them, oldest first,
 * and `undefined` when none is left), which may be an earlier offer of the same batch; when every
 * message is taken, the new one is dropped.
 */
export const plan = (
  policy: { readonly capacity: number; readonly overflow: MessageQueue.OverflowPolicy },
  size: number,
  offers: ReadonlyArray<Envelope.Envelope>,
  oldestWaiting: () => Stored | undefined
): Plan => {
  const outcomes: Array<OfferOutcome> = []
  const dropped: Array<Stored> = []
  const kept: Array<number> = []
  const droppedOffers = new Set<number>()
  let keptHead = 0
  let count = size
  let storedExhausted = false
  offers.forEach((envelope, i) => {
    if (count < policy.capacity) {
      count++
      kept.push(i)
      outcomes.push({ _tag: "Queued", dropped: Option.none() })
      return
    }
    if (policy.overflow === "fail") {
      outcomes.push({ _tag: "Full" })
      return
    }
    if (policy.overflow === "dropNewest") {
      outcomes.push({ _tag: "Queued", dropped: Option.some(envelope) })
      return
    }
    const stored = storedExhausted ? undefined : oldestWaiting()
    if (stored !== undefined) {
      dropped.push(stored)
      kept.push(i)
      outcomes.push({ _tag: "Queued", dropped: Option.some(stored.envelope) })
      return
    }
    storedExhausted = true
    if (keptHead < kept.length) {
      const oldest = kept[keptHead++]!
      droppedOffers.add(oldest)
      kept.push(i)
      outcomes.push({ _tag: "Queued", dropped: Option.some(offers[oldest]!) })
      return
    }
    outcomes.push({ _tag: "Queued", dropped: Option.some(envelope) })
  })
  return { outcomes, insert: kept.filter((i) => !droppedOffers.has(i)), dropped }
}
