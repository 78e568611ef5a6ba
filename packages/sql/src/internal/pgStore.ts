import type { Envelope, MessageQueue, QueueError } from "@stellanow/sdk"
import { StoreError } from "@stellanow/sdk"
import { Duration, Effect, Latch, Option, Schedule, type Scope } from "effect"
import * as Arr from "effect/Array"
import { storeFailed, storeFailedFor, toQueueError, transaction } from "./classify.js"
import { plan, type Stored } from "./overflow.js"
import { chunks, columnsOf, leaseOf, type Row } from "./rows.js"
import { migrate, type StoreOptions } from "./schema.js"
import * as Writer from "./writer.js"

/** Rows per statement. */
const chunkSize = 1_000

/** Counting retries on this schedule while the database is unavailable, a few times. */
const retrySchedule = Schedule.min([Schedule.exponential("100 millis", 2), Schedule.spaced("5 seconds")]).pipe(
  Schedule.jittered
)

/** What the PostgreSQL store is opened with. */
type Options = StoreOptions & {
  readonly leaseDuration: Duration.Duration
  readonly pollInterval: Duration.Duration
  readonly closeTimeout: Duration.Input
  readonly storeTimeout: Duration.Input
  readonly ackDelay: Duration.Input
  /** This instance's name in `claimed_by`. */
  readonly instanceId: string
}

/** `now()` plus one lease, in SQL. */
const leaseEnd = (options: Options) =>
  options.sql`now() + ${Duration.toMillis(options.leaseDuration)}::float8 * interval '1 millisecond'`

/** Gives every message this instance still holds back to the others at once, instead of after its lease. */
const releaseAll = ({ closeTimeout, instanceId, names, sql, store }: Options): Effect.Effect<void> =>
  sql`UPDATE ${sql(names.table)} SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = ${instanceId}`.pipe(
    Effect.timeoutOption(closeTimeout),
    Effect.catch((error) =>
      Effect.logWarning(
        "could not release this instance's claims; other instances take them once their lease expires",
        toQueueError(store, "release", error).message
      )
    )
  )

/**
 * Inserts a batch's offers under the capacity and overflow policy, in the commit's transaction. The
 * enqueues of every instance take turns (an advisory lock), so the capacity holds for the shared table.
 */
const enqueue = (options: Options, offers: ReadonlyArray<Envelope.Envelope>) =>
  Effect.gen(function*() {
    const { names, sql } = options
    const table = sql(names.table)
    yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`@stellanow/sdk-sql:${names.table}:enqueue`}))`
    const [counted] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${table}`
    const size = counted?.n ?? 0
    const excess = size + offers.length - options.capacity
    const candidates = options.overflow === "dropOldest" && excess > 0
      ? yield* sql<Row>`SELECT seq, message_id, topic, event_name, body, wrapped_at FROM ${table}
          WHERE claimed_by IS NULL OR lease_until < now()
          ORDER BY seq LIMIT ${excess} FOR UPDATE SKIP LOCKED`
      : []
    let next = 0
    const outcome = plan(options, size, offers, (): Stored | undefined => {
      const row = candidates[next++]
      return row === undefined ? undefined : leaseOf(row)
    })
    for (const chunk of chunks(outcome.dropped.map((stored) => stored.sequence), chunkSize)) {
      yield* sql`DELETE FROM ${table} WHERE seq IN ${sql.in(chunk)}`
    }
    for (const chunk of chunks(outcome.insert, chunkSize)) {
      yield* sql`INSERT INTO ${table} ${sql.insert(Arr.map(chunk, (i) => columnsOf(offers[i]!)))}`
    }
    return outcome.outcomes
  })

/** One group commit; `wake` wakes this instance's waiting `take` once its own offers or releases commit. */
const commitWith = (options: Options, wake: Latch.Latch): Writer.Commit => (batch) =>
  Effect.gen(function*() {
    const { instanceId, names, sql } = options
    const table = sql(names.table)
    for (const chunk of chunks(batch.acks, chunkSize)) {
      yield* sql`DELETE FROM ${table} WHERE seq IN ${sql.in(chunk)}`
    }
    for (const chunk of chunks(batch.nacks, chunkSize)) {
      yield* sql`UPDATE ${table} SET claimed_by = NULL, lease_until = NULL
        WHERE seq IN ${sql.in(chunk)} AND claimed_by = ${instanceId}`
    }
    return batch.offers.length === 0 ? [] : yield* enqueue(options, batch.offers)
  }).pipe(
    (body) =>
      transaction(options.sql, body, {
        store: options.store,
        action: "cannot commit to the queue",
        rollbackAfterFailure: false
      }),
    Effect.tap(() => batch.offers.length + batch.nacks.length > 0 ? wake.open : Effect.void)
  )

/** One claim: up to `max` waiting messages (or messages whose lease expired), now this instance's. */
const claim = (options: Options, max: number) => {
  const { instanceId, names, sql, store } = options
  const table = sql(names.table)
  return sql<Row>`UPDATE ${table}
    SET claimed_by = ${instanceId}, lease_until = ${leaseEnd(options)}
    WHERE seq IN (
      SELECT seq FROM ${table}
      WHERE claimed_by IS NULL OR lease_until < now()
      ORDER BY seq ${sql.literal(options.order === "fifo" ? "ASC" : "DESC")}
      LIMIT ${max}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING seq, message_id, topic, event_name, body, wrapped_at`.pipe(
    Effect.mapError((error) => toQueueError(store, "cannot take from the queue", error)),
    Effect.map((rows) => {
      const leases = rows.map(leaseOf)
      return options.order === "fifo"
        ? leases.sort((a, b) => a.sequence - b.sequence)
        : leases.sort((a, b) => b.sequence - a.sequence)
    })
  )
}

/** Gives claimed messages back at once (a `take` interrupted right after claiming them). */
const release = ({ closeTimeout, instanceId, names, sql }: Options, leases: ReadonlyArray<MessageQueue.Lease>) =>
  sql`UPDATE ${sql(names.table)} SET claimed_by = NULL, lease_until = NULL
    WHERE seq IN ${sql.in(leases.map((lease) => lease.sequence))} AND claimed_by = ${instanceId}`.pipe(
    Effect.timeoutOption(closeTimeout),
    Effect.ignore
  )

/**
 * Claims and hands over messages, waiting while there are none (woken by this instance's offers,
 * or every `pollInterval`). A database that is unavailable fails it: its caller (the SDK's drain)
 * retries with backoff. Only the waits are interruptible: messages claimed are handed to the caller,
 * or given back.
 */
const take = (
  options: Options,
  wake: Latch.Latch,
  max: number
): Effect.Effect<ReadonlyArray<MessageQueue.Lease>, QueueError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      while (true) {
        wake.closeUnsafe()
        const claimed = yield* Effect.mapError(claim(options, Math.max(1, max)), storeFailed)
        if (claimed.length > 0) {
          // An interruption that arrived while claiming is honoured here, giving the messages back.
          yield* restore(Effect.yieldNow).pipe(Effect.onInterrupt(() => release(options, claimed)))
          return claimed
        }
        yield* restore(Effect.raceFirst(wake.await, Effect.sleep(options.pollInterval)))
      }
    })
  )

/**
 * Extends this instance's leases every third of a lease, while the scope lives. An outage is warned
 * about once, when the first renewal fails, and its end logged at info.
 */
const renewLeases = (options: Options): Effect.Effect<void> => {
  const { instanceId, names, sql, store } = options
  let failing = false
  return sql`UPDATE ${sql(names.table)} SET lease_until = ${leaseEnd(options)} WHERE claimed_by = ${instanceId}`.pipe(
    Effect.andThen(Effect.suspend(() => {
      if (!failing) return Effect.void
      failing = false
      return Effect.logInfo("this instance's leases are extended again")
    })),
    Effect.catch((error) => {
      if (failing) return Effect.void
      failing = true
      return Effect.logWarning(
        "could not extend this instance's leases; retrying; others may take its messages once they expire",
        toQueueError(store, "renew", error).message
      )
    }),
    Effect.repeat(Schedule.spaced(Duration.divideUnsafe(options.leaseDuration, 3))),
    Effect.asVoid,
    Effect.interruptible,
    Effect.annotateLogs({ fiber: "leases" })
  )
}

/**
 * The messages in the table, across instances, less this instance's acknowledged ones whose deletes
 * are not committed yet: counted in one query, leaving those rows out by sequence (one array
 * parameter), so a commit under way can neither hide a message nor count an acknowledged one.
 */
const size = ({ names, sql, store, storeTimeout }: Options, writer: Writer.Writer): Effect.Effect<number, QueueError> =>
  Effect.suspend(() => {
    const acknowledged = writer.acknowledged()
    return acknowledged.length === 0
      ? sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(names.table)}`
      : sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(names.table)}
          WHERE seq <> ALL(${`{${acknowledged.join(",")}}`}::bigint[])`
  }).pipe(
    Effect.mapError((error) => toQueueError(store, "cannot count the queue", error)),
    Effect.retry({
      while: (error) => error.isTransient,
      schedule: Schedule.max([retrySchedule, Schedule.recurs(5)])
    }),
    Effect.timeoutOrElse({
      duration: storeTimeout,
      orElse: () =>
        Effect.fail(
          new StoreError({
            reason: "Timeout",
            store,
            detail: `cannot count the queue: no answer within ${
              Duration.format(Duration.fromInputUnsafe(storeTimeout))
            }`
          })
        )
    }),
    Effect.map(([row]) => row?.n ?? 0),
    Effect.mapError(storeFailed)
  )

/**
 * The PostgreSQL store: the table is the queue, shared by every instance that opens it. An
 * instance claims the messages it takes (`claimed_by`, `lease_until`) with `FOR UPDATE SKIP LOCKED`, so
 * two instances never take the same message while their leases hold; a fiber extends this instance's
 * leases while it lives, and a message whose lease expired (its instance died) is taken again by
 * whichever instance comes first, with its original message id.
 */
export const make = (options: Options): Effect.Effect<MessageQueue.Service, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* migrate(options.sql, "pg", options.names, options.store)
    /** Wakes this instance's waiting `take` when its own offers or releases commit. */
    const wake = yield* Latch.make(false)
    // Registered before the writer, so it runs after the writer's last commit.
    yield* Effect.addFinalizer(() => releaseAll(options))
    const writer = yield* Writer.make(commitWith(options, wake), options)
    yield* Effect.forkScoped(renewLeases(options))
    return {
      order: options.order,
      overflow: options.overflow,
      persistent: true,
      // The store drops at most one message per offer; the queue interface reports a list.
      offer: (envelope: Envelope.Envelope) => Effect.map(writer.offer(envelope), Option.toArray),
      take: (max) => take(options, wake, max),
      ack: (lease) => writer.ack(lease.sequence),
      nack: (lease) =>
        Effect.mapError(
          writer.nack(lease.sequence),
          storeFailedFor(lease.envelope.messageId, "cannot give it back; it is taken again once its lease expires")
        ),
      size: size(options, writer)
    } satisfies MessageQueue.Service
  }).pipe(Effect.annotateLogs({ module: "SqlMessageQueue", store: options.store, instance: options.instanceId }))
