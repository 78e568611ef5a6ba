import type { Envelope, MessageQueue } from "@stellanow/sdk"
import type * as Arr from "effect/Array"

/** A stored message, as read from the table. */
export interface Row {
  readonly seq: string | number
  readonly message_id: string
  readonly topic: string
  readonly event_name: string
  readonly body: string
  readonly wrapped_at: string | number | null
}

/** The envelope of a stored message, exactly as it was queued. */
export const envelopeOf = (row: Row): Envelope.Envelope =>
  row.wrapped_at === null
    ? { messageId: row.message_id, topic: row.topic, eventName: row.event_name, body: row.body }
    : {
      messageId: row.message_id,
      topic: row.topic,
      eventName: row.event_name,
      body: row.body,
      wrappedAt: Number(row.wrapped_at)
    }

/** A stored message as the queue hands it out. */
export const leaseOf = (row: Row): MessageQueue.Lease => ({ sequence: Number(row.seq), envelope: envelopeOf(row) })

/** The columns an envelope is stored in (what `sql.insert` takes; the table numbers it). */
export const columnsOf = (envelope: Envelope.Envelope) => ({
  message_id: envelope.messageId,
  topic: envelope.topic,
  event_name: envelope.eventName,
  body: envelope.body,
  wrapped_at: envelope.wrappedAt ?? null
})

/**
 * The items in statements' worth, `size` each (a statement's bound parameters are limited): every
 * chunk holds at least one, as `sql.insert` and `sql.in` require.
 */
export const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<Arr.NonEmptyReadonlyArray<A>> => {
  const out: Array<Arr.NonEmptyReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size) as unknown as Arr.NonEmptyReadonlyArray<A>)
  }
  return out
}

/**
 * Sorted sequences as runs of consecutive numbers, `[first, last]` each. A FIFO queue acknowledges its
 * messages nearly in order, so a thousand acknowledgements are usually one run: deleted with one
 * `BETWEEN` instead of a thousand bound parameters (see `deleteRows` in the stores).
 */
export const runsOf = (sequences: ReadonlyArray<number>): Array<readonly [number, number]> => {
  const sorted = [...sequences].sort((a, b) => a - b)
  const runs: Array<[number, number]> = []
  for (const sequence of sorted) {
    const last = runs[runs.length - 1]
    if (last !== undefined && sequence <= last[1] + 1) last[1] = Math.max(last[1], sequence)
    else runs.push([sequence, sequence])
  }
  return runs
}
