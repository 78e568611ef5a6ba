import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import type { Lease } from "../MessageQueue.js"
import { Deque } from "./deque.js"

/**
 * A queue's messages in memory, by sequence: the bookkeeping of the SDK's in-memory queues and of
 * `@stellanow/sdk-sql`'s SQLite queue (which keeps the durable copy in its table).
 *
 * Waiting messages sit in a deque in arrival order; FIFO takes from the front, LIFO from the back. A
 * message given back goes to `returned`, kept sorted by sequence, and is taken again before (FIFO) or
 * after (LIFO) the waiting ones exactly as its sequence says: "back where it was". Taken messages are
 * kept by sequence until they are acknowledged or given back.
 */
export class LeaseIndex {
  private readonly waiting = new Deque<Lease>()
  private readonly returned: Array<Lease> = []
  private readonly taken = new Map<number, Lease>()
  /** Open while a message may be waiting; a `take` that finds none closes it and waits for it. */
  private readonly notEmpty = Latch.makeUnsafe(false)

  constructor(readonly order: "fifo" | "lifo") {}

  /** Messages not yet acknowledged: waiting, given back and taken. */
  get pending(): number {
    return this.waiting.length + this.returned.length + this.taken.size
  }

  /** Adds a new message after every other one. */
  add(lease: Lease): void {
    this.waiting.pushBack(lease)
    this.notEmpty.openUnsafe()
  }

  /** Puts a message that was removed back where its sequence says (given back, or not dropped after all). */
  putBack(lease: Lease): void {
    let i = this.returned.length
    while (i > 0 && this.returned[i - 1]!.sequence > lease.sequence) i--
    this.returned.splice(i, 0, lease)
    this.notEmpty.openUnsafe()
  }

  /** Removes the oldest message not taken, for the `"dropOldest"` policy; `undefined` when every one is taken. */
  dropOldest(): Lease | undefined {
    return this.pop(true)
  }

  /** Takes up to `max` messages in queue order (at least one), waiting until there is one. */
  take(max: number): Effect.Effect<ReadonlyArray<Lease>> {
    return Effect.suspend(() => {
      const leases = this.takeNow(Math.max(1, max))
      if (leases.length > 0) return Effect.succeed(leases)
      // Nothing is waiting: sleep until an `add` or a `putBack` opens the latch again.
      this.notEmpty.closeUnsafe()
      return Effect.andThen(this.notEmpty.await, this.take(max))
    })
  }

  /** The message was acknowledged: whether it was taken (and is now forgotten). */
  ack(lease: Lease): boolean {
    return this.taken.delete(lease.sequence)
  }

  /** The message was given back: whether it was taken (and is now waiting again, where it was). */
  nack(lease: Lease): boolean {
    if (!this.taken.delete(lease.sequence)) return false
    this.putBack(lease)
    return true
  }

  private takeNow(max: number): Array<Lease> {
    const leases: Array<Lease> = []
    while (leases.length < max) {
      const lease = this.pop(false)
      if (lease === undefined) break
      this.taken.set(lease.sequence, lease)
      leases.push(lease)
    }
    return leases
  }

  /** Removes the next message to take, or the oldest one not taken when `oldest` is set. */
  private pop(oldest: boolean): Lease | undefined {
    const fromFront = oldest || this.order === "fifo"
    const candidate = fromFront ? this.waiting.peekFront() : this.waiting.peekBack()
    const back = fromFront ? this.returned[0] : this.returned[this.returned.length - 1]
    if (back !== undefined && (candidate === undefined || (back.sequence < candidate.sequence) === fromFront)) {
      return fromFront ? this.returned.shift() : this.returned.pop()
    }
    return fromFront ? this.waiting.popFront() : this.waiting.popBack()
  }
}
