import type { Envelope, MessageQueue } from "@stellanow/sdk"
import { Clock, type Duration, Effect, Latch, type Scope } from "effect"
import * as Arr from "effect/Array"
import type { SqlQueueError } from "../SqlQueueError.js"
import { toQueueError, transaction } from "./classify.js"
import { Deque } from "./deque.js"
import { envelopeOf, plan, type Row } from "./overflow.js"
import { migrate, type StoreOptions, verify } from "./schema.js"
import * as Writer from "./writer.js"

/** Rows per INSERT or DELETE statement (SQLite allows 32,766 bound parameters). */
const chunkSize = 500

/** The items in statements' worth: each chunk holds at least one (what `sql.insert` requires). */
const chunks = <A>(items: ReadonlyArray<A>): Array<Arr.NonEmptyReadonlyArray<A>> => {
  const out: Array<Arr.NonEmptyReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += chunkSize) {
    out.push(items.slice(i, i + chunkSize) as unknown as Arr.NonEmptyReadonlyArray<A>)
  }
  return out
}

/**
 * The queue's contents in memory, by sequence: the waiting messages in arrival order, those given
 * back (kept sorted, taken again exactly where they were), and those taken.
 */
class Index {
  readonly waiting = new Deque<MessageQueue.Lease>()
  readonly returned: Array<MessageQueue.Lease> = []
  readonly taken = new Map<number, MessageQueue.Lease>()

  constructor(readonly order: "fifo" | "lifo") {}

  get pending(): number {
    return this.waiting.length + this.returned.length + this.taken.size
  }

  get available(): number {
    return this.waiting.length + this.returned.length
  }

  putBack(lease: MessageQueue.Lease): void {
    let i = this.returned.length
    while (i > 0 && this.returned[i - 1]!.sequence > lease.sequence) i--
    this.returned.splice(i, 0, lease)
  }

  /** Removes the next message to take, or the oldest waiting one when `oldest` is set. */
  pop(oldest: boolean): MessageQueue.Lease | undefined {
    const fromFront = oldest || this.order === "fifo"
    const candidate = fromFront ? this.waiting.peekFront() : this.waiting.peekBack()
    const back = fromFront ? this.returned[0] : this.returned[this.returned.length - 1]
    if (back !== undefined && (candidate === undefined || (back.sequence < candidate.sequence) === fromFront)) {
      return fromFront ? this.returned.shift() : this.returned.pop()
    }
    return fromFront ? this.waiting.popFront() : this.waiting.popBack()
  }
}

/**
 * The single-process queue (SQLite): the table is the durable copy and the process keeps its index in
 * memory. The file is locked for this process (`locking_mode = EXCLUSIVE`) so no other process can
 * claim a message; claims are not written, so on open every stored message is waiting again — those
 * a dead process had taken but not acknowledged included, with their original message ids.
 */
export const make = (
  options: StoreOptions & {
    readonly closeTimeout: Duration.Input
    readonly ackDelay: Duration.Input
    /**
     * Statements run once the file is known to be empty or a queue of ours, before it is written
     * (`PRAGMA journal_mode = WAL`: a foreign file is never switched to WAL).
     */
    readonly pragmas?: ReadonlyArray<string> | undefined
  }
): Effect.Effect<MessageQueue.Service, SqlQueueError, Scope.Scope> =>
  Effect.gen(function*() {
    const { names, sql, store } = options
    const opening = (error: unknown) => toQueueError(store, "cannot open the queue", error)

    // Take the file for this process: the write lock, held until the connection closes.
    yield* sql.unsafe("PRAGMA locking_mode = EXCLUSIVE").pipe(
      Effect.andThen(sql.unsafe("BEGIN IMMEDIATE")),
      Effect.andThen(sql.unsafe("COMMIT")),
      Effect.mapError(opening)
    )
    const check = yield* Effect.mapError(sql.unsafe<{ quick_check: string }>("PRAGMA quick_check"), opening)
    if (check.length !== 1 || check[0]?.quick_check !== "ok") {
      return yield* toQueueError(store, "cannot open the queue", {
        code: "SQLITE_CORRUPT",
        message: check.map((row) => row.quick_check).slice(0, 3).join("; ")
      })
    }
    yield* verify(sql, "sqlite", names, store)
    for (const pragma of options.pragmas ?? []) {
      const result = yield* Effect.mapError(sql.unsafe<Record<string, unknown>>(pragma), opening)
      if (/journal_mode\s*=\s*wal/i.test(pragma) && result[0]?.journal_mode !== "wal") {
        return yield* toQueueError(store, "cannot open the queue", {
          message: `SQLite refused WAL mode (journal_mode is ${String(result[0]?.journal_mode)})`
        })
      }
    }
    yield* migrate(sql, "sqlite", names, store)
    const settings = yield* Effect.mapError(
      Effect.all([
        sql.unsafe<{ journal_mode: string }>("PRAGMA journal_mode"),
        sql.unsafe<{ synchronous: number }>("PRAGMA synchronous"),
        sql.unsafe<{ locking_mode: string }>("PRAGMA locking_mode")
      ]),
      opening
    )
    const [[journal], [synchronous], [locking]] = settings
    yield* Effect.logDebug(
      `opened: journal_mode=${journal?.journal_mode} ` +
        `synchronous=${["off", "normal", "full", "extra"][synchronous?.synchronous ?? -1] ?? "?"} ` +
        `locking_mode=${locking?.locking_mode}`
    )

    const index = new Index(options.order)
    const rows = yield* Effect.mapError(
      sql.unsafe<Row>(`SELECT seq, message_id, topic, event_name, body, wrapped_at FROM ${names.quoted} ORDER BY seq`),
      opening
    )
    for (const row of rows) index.waiting.pushBack({ sequence: Number(row.seq), envelope: envelopeOf(row) })
    if (rows.length > 0) {
      yield* Effect.logInfo(`opened with ${rows.length} message(s) waiting`)
    }
    if (rows.length > options.capacity) {
      yield* Effect.logWarning(
        `the queue holds ${rows.length} messages, more than its capacity of ${options.capacity}; ` +
          "none is deleted, and new messages follow the overflow policy"
      )
    }
    const notEmpty = yield* Latch.make(rows.length > 0)

    const deleteRows = (sequences: ReadonlyArray<number>) =>
      Effect.forEach(
        chunks(sequences),
        (chunk) => sql`DELETE FROM ${sql(names.table)} WHERE seq IN ${sql.in(chunk)}`,
        { discard: true }
      )

    const commit: Writer.Commit = (batch) =>
      Effect.suspend(() => {
        // Messages dropped to make room leave the index now, so no take hands them out meanwhile; if the
        // transaction fails they are put back where they were.
        const removed: Array<MessageQueue.Lease> = []
        const outcome = plan(options, index.pending, batch.offers, () => {
          const lease = index.pop(true)
          if (lease !== undefined) removed.push(lease)
          return lease
        })
        const inserts = outcome.insert.map((i) => batch.offers[i]!)
        return Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const sequences: Array<number> = []
          yield* deleteRows([...batch.acks, ...outcome.dropped.map((stored) => stored.sequence)])
          for (const chunk of chunks(inserts)) {
            const returned = yield* sql<{ seq: number }>`INSERT INTO ${sql(names.table)} ${
              sql.insert(Arr.map(chunk, (envelope) => ({
                message_id: envelope.messageId,
                topic: envelope.topic,
                event_name: envelope.eventName,
                body: envelope.body,
                wrapped_at: envelope.wrappedAt ?? null,
                enqueued_at: now
              })))
            } RETURNING seq`
            for (const row of returned) sequences.push(row.seq)
          }
          return sequences
        }).pipe(
          (body) => transaction(sql, body, { store, action: "cannot commit to the queue", rollbackAfterFailure: true }),
          Effect.tapError(() => Effect.sync(() => removed.forEach((lease) => index.putBack(lease)))),
          Effect.map((sequences) => {
            // Sequences grow in insertion order: the n-th smallest is the n-th row inserted.
            sequences.sort((a, b) => a - b)
            inserts.forEach((envelope, i) => index.waiting.pushBack({ envelope, sequence: sequences[i]! }))
            if (inserts.length > 0) notEmpty.openUnsafe()
            return outcome.outcomes
          })
        )
      })

    const writer = yield* Writer.make({
      commit,
      capacity: options.capacity,
      store,
      ackDelay: options.ackDelay,
      closeTimeout: options.closeTimeout
    })

    const takeNow = (max: number): ReadonlyArray<MessageQueue.Lease> => {
      const leases: Array<MessageQueue.Lease> = []
      while (leases.length < max) {
        const lease = index.pop(false)
        if (lease === undefined) break
        index.taken.set(lease.sequence, lease)
        leases.push(lease)
      }
      return leases
    }

    const take = (max: number): Effect.Effect<ReadonlyArray<MessageQueue.Lease>> =>
      Effect.suspend(() => {
        const leases = takeNow(Math.max(1, max))
        if (leases.length > 0) return Effect.succeed(leases)
        return Effect.suspend(() => index.available === 0 ? notEmpty.close : Effect.void).pipe(
          Effect.andThen(notEmpty.await),
          Effect.andThen(take(max))
        )
      })

    return {
      order: options.order,
      overflow: options.overflow,
      persistent: true,
      offer: (envelope: Envelope.Envelope) => writer.offer(envelope),
      take,
      ack: (lease) =>
        Effect.suspend(() => index.taken.delete(lease.sequence) ? writer.ack(lease.sequence) : Effect.void),
      nack: (lease) =>
        Effect.suspend(() => {
          if (!index.taken.delete(lease.sequence)) return Effect.void
          index.putBack(lease)
          return notEmpty.open
        }),
      size: Effect.sync(() => index.pending)
    } satisfies MessageQueue.Service
  }).pipe(Effect.annotateLogs({ module: "SqlMessageQueue", store: options.store }))
