import type { Envelope, MessageQueue, StoreError } from "@stellanow/sdk"
import { LeaseIndex } from "@stellanow/sdk/internal"
import { Clock, type Duration, Effect, Exit, Option, type Scope } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { toQueueError } from "./classify.js"
import { plan } from "./overflow.js"
import { chunks, leaseOf, type Row, runsOf } from "./rows.js"
import { migrate, type StoreOptions, verify } from "./schema.js"
import * as Writer from "./writer.js"

/** Rows per INSERT or DELETE statement (SQLite allows 32,766 bound parameters). */
const chunkSize = 500

/**
 * Acknowledgements committed together at most (the writer's default is 1,000). With 1,000, delivering
 * 5,000 messages from SQLite (`synchronous: "full"`) paid five commits, each an `fsync` that blocks the
 * event loop, and ran at 45,283/s against 54,988/s with the deletes left to `ackDelay` (memory queue
 * 47,000–57,000/s; `bench/src/persistentAlone.ts 5000 4 memory,full`, builds alternated). At 10,000, a
 * fast delivery commits its deletes about every `ackDelay`, as a slow one does. (PostgreSQL keeps
 * 1,000: its acknowledged rows stay claimed until deleted, and its claims scan past them.)
 */
const maxPendingAcks = 10_000

/** What the SQLite store is opened with. */
type Options = StoreOptions & {
  readonly closeTimeout: Duration.Input
  readonly storeTimeout: Duration.Input
  readonly ackDelay: Duration.Input
  /**
   * Statements run once the file is known to be empty or a queue of ours, before it is written
   * (`PRAGMA journal_mode = WAL`: a foreign file is never switched to WAL).
   */
  readonly pragmas?: ReadonlyArray<string> | undefined
}

const opening = (store: string) => (error: unknown) => toQueueError(store, "cannot open the queue", error)

/**
 * Takes the file for this process (the write lock, held until the connection closes), checks it is
 * sound and empty or a queue of ours, then applies the pragmas and migrates the table.
 */
const openFile = ({ names, pragmas, sql, store }: Options): Effect.Effect<void, StoreError> =>
  Effect.gen(function*() {
    yield* sql.unsafe("PRAGMA locking_mode = EXCLUSIVE").pipe(
      Effect.andThen(sql.unsafe("BEGIN IMMEDIATE")),
      Effect.andThen(sql.unsafe("COMMIT")),
      Effect.mapError(opening(store))
    )
    const check = yield* Effect.mapError(sql.unsafe<{ quick_check: string }>("PRAGMA quick_check"), opening(store))
    if (check.length !== 1 || check[0]?.quick_check !== "ok") {
      return yield* toQueueError(store, "cannot open the queue", {
        code: "SQLITE_CORRUPT",
        message: check.map((row) => row.quick_check).slice(0, 3).join("; ")
      })
    }
    yield* verify(sql, "sqlite", names, store)
    for (const pragma of pragmas ?? []) {
      const result = yield* Effect.mapError(sql.unsafe<Record<string, unknown>>(pragma), opening(store))
      if (/journal_mode\s*=\s*wal/i.test(pragma) && result[0]?.journal_mode !== "wal") {
        return yield* toQueueError(store, "cannot open the queue", {
          message: `SQLite refused WAL mode (journal_mode is ${String(result[0]?.journal_mode)})`
        })
      }
    }
    yield* migrate(sql, "sqlite", names, store)
  })

/** Logs, at debug, the settings the file was opened with. */
const logSettings = ({ sql, store }: Options): Effect.Effect<void, StoreError> =>
  Effect.gen(function*() {
    const settings = yield* Effect.mapError(
      Effect.all([
        sql.unsafe<{ journal_mode: string }>("PRAGMA journal_mode"),
        sql.unsafe<{ synchronous: number }>("PRAGMA synchronous"),
        sql.unsafe<{ locking_mode: string }>("PRAGMA locking_mode")
      ]),
      opening(store)
    )
    const [[journal], [synchronous], [locking]] = settings
    yield* Effect.logDebug(
      `opened: journal_mode=${journal?.journal_mode} ` +
        `synchronous=${["off", "normal", "full", "extra"][synchronous?.synchronous ?? -1] ?? "?"} ` +
        `locking_mode=${locking?.locking_mode}`
    )
  })

/** The index of the stored messages, every one waiting (claims are not written). */
const load = (options: Options): Effect.Effect<LeaseIndex, StoreError> =>
  Effect.gen(function*() {
    const { names, sql, store } = options
    const index = new LeaseIndex(options.order)
    const rows = yield* Effect.mapError(
      sql.unsafe<Row>(`SELECT seq, message_id, topic, event_name, body, wrapped_at FROM ${names.quoted} ORDER BY seq`),
      opening(store)
    )
    for (const row of rows) index.add(leaseOf(row))
    if (rows.length > 0) {
      yield* Effect.logInfo(`opened with ${rows.length} message(s) waiting`)
    }
    if (rows.length > options.capacity) {
      yield* Effect.logWarning(
        `the queue holds ${rows.length} messages, more than its capacity of ${options.capacity}; ` +
          "none is deleted, and new messages follow the overflow policy"
      )
    }
    return index
  })

/** Runs one statement on the connection reserved for a commit: its rows. */
type Execute = (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<any>, SqlError>

/**
 * Deletes the rows of these sequences: each run of consecutive ones with one `BETWEEN` (the same
 * statement text every time, prepared once), the lone ones `chunkSize` to an `IN`. A thousand
 * acknowledgements in order were two `IN` statements of 500 bound parameters, compiled by `effect/sql`
 * for every batch, that ran 0.5 ms each (statements timed in `bench/src/persistentAlone.ts`'s SQLite
 * run; RESULTS.md, issue 16). Not measured apart from the other changes made with it.
 */
const deleteRows = ({ names }: Options, execute: Execute, sequences: ReadonlyArray<number>) =>
  Effect.suspend(() => {
    const runs = runsOf(sequences)
    const lone = runs.filter(([first, last]) => first === last).map(([first]) => first)
    return Effect.andThen(
      Effect.forEach(
        runs.filter(([first, last]) => first !== last),
        ([first, last]) => execute(`DELETE FROM ${names.quoted} WHERE seq BETWEEN ? AND ?`, [first, last]),
        { discard: true }
      ),
      Effect.forEach(
        chunks(lone, chunkSize),
        (chunk) => execute(`DELETE FROM ${names.quoted} WHERE seq IN (${chunk.map(() => "?").join(", ")})`, chunk),
        { discard: true }
      )
    )
  })

/** The columns of an insert, in the order of `insertSql`'s placeholders. */
const insertColumns = "message_id, topic, event_name, body, wrapped_at, enqueued_at"

/**
 * The text of an INSERT of `rows` rows, kept per row count: the same text each time, so the client's
 * prepared statement is reused and nothing is compiled per batch. `sql.insert` built and compiled a
 * statement of 64 × 6 parameters from 64 objects for every group commit: about 1 µs a message in
 * `Statement.compile` and what it calls (`--cpu-prof` of `bench/src/enqueueAlone.ts`; RESULTS.md,
 * issue 16).
 */
const insertSql = (names: Options["names"]) => {
  const texts = new Map<number, string>()
  return (rows: number): string => {
    let text = texts.get(rows)
    if (text === undefined) {
      text = `INSERT INTO ${names.quoted} (${insertColumns}) VALUES ` +
        Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?)").join(", ") + " RETURNING seq"
      if (texts.size < chunkSize) texts.set(rows, text)
    }
    return text
  }
}

/** Inserts the envelopes, `chunkSize` a statement: their sequences, in insertion order. */
const insertRows = (
  execute: Execute,
  textOf: (rows: number) => string,
  envelopes: ReadonlyArray<Envelope.Envelope>,
  now: number
) =>
  Effect.gen(function*() {
    const sequences: Array<number> = []
    for (const chunk of chunks(envelopes, chunkSize)) {
      const params: Array<string | number | null> = []
      for (const e of chunk) params.push(e.messageId, e.topic, e.eventName, e.body, e.wrappedAt ?? null, now)
      const returned: ReadonlyArray<{ seq: number }> = yield* execute(textOf(chunk.length), params)
      for (const row of returned) sequences.push(Number(row.seq))
    }
    return sequences
  })

/**
 * Runs `body` in one transaction on a connection reserved for it (other statements on the client wait),
 * rolled back when it fails; not interruptible, so no transaction is left open. Why not
 * `sql.withTransaction`: a group commit through it cost 0.29 ms more than its three statements, about
 * 4.6 µs a message of 64 (commits and statements timed in `bench/src/enqueueAlone.ts normal`: 948
 * commits, 624.7 ms, their statements 352.4 ms; RESULTS.md, issue 16): a span, a scope, a semaphore
 * of its own and the context it provides, and `effect/sql`'s statement path for each statement. This
 * way, 0.17 ms (948 commits, 486.6 ms, their statements 329.0 ms).
 */
const inTransaction = <A>(
  { sql, store }: Options,
  body: (execute: Execute) => Effect.Effect<A, SqlError>
): Effect.Effect<A, StoreError> =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* sql.reserve
    const execute: Execute = (text, params) => connection.execute(text, params, undefined)
    yield* execute("BEGIN IMMEDIATE", [])
    const exit = yield* Effect.exit(Effect.tap(body(execute), () => execute("COMMIT", [])))
    if (Exit.isFailure(exit)) yield* Effect.ignore(execute("ROLLBACK", []))
    return yield* exit
  })).pipe(
    Effect.uninterruptible,
    Effect.mapError((error) => toQueueError(store, "cannot commit to the queue", error))
  )

/** One group commit: the table changes in the transaction, the index once it committed. */
const commitWith = (options: Options, index: LeaseIndex): Writer.Commit => {
  const textOf = insertSql(options.names)
  return (batch) =>
    Effect.suspend(() => {
      // Messages dropped to make room leave the index now, so no take hands them out meanwhile; if the
      // transaction fails they are put back where they were.
      const removed: Array<MessageQueue.Lease> = []
      const outcome = plan(options, index.pending, batch.offers, () => {
        const lease = index.dropOldest()
        if (lease !== undefined) removed.push(lease)
        return lease
      })
      const inserts = outcome.insert.map((i) => batch.offers[i]!)
      const deletes = [...batch.acks, ...outcome.dropped.map((stored) => stored.sequence)]
      const write = (execute: Execute) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => Effect.andThen(deleteRows(options, execute, deletes), insertRows(execute, textOf, inserts, now))
        )
      return inTransaction(options, write).pipe(
        Effect.tapError(() => Effect.sync(() => removed.forEach((lease) => index.putBack(lease)))),
        Effect.map((sequences) => {
          // Sequences grow in insertion order: the n-th smallest is the n-th row inserted.
          sequences.sort((a, b) => a - b)
          inserts.forEach((envelope, i) => index.add({ envelope, sequence: sequences[i]! }))
          return outcome.outcomes
        })
      )
    })
}

/**
 * The SQLite store, for a single process: the table is the durable copy and the process keeps its index
 * in memory (the SDK's `LeaseIndex`, as its in-memory queues do). The file is locked for this process
 * (`locking_mode = EXCLUSIVE`) so no other process can claim a message; claims are not written, so on
 * open every stored message is waiting again — those a dead process had taken but not acknowledged
 * included, with their original message ids.
 */
export const make = (options: Options): Effect.Effect<MessageQueue.Service, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* openFile(options)
    yield* logSettings(options)
    const index = yield* load(options)
    const writer = yield* Writer.make(commitWith(options, index), { ...options, maxPendingAcks })
    return {
      order: options.order,
      overflow: options.overflow,
      persistent: true,
      // The store drops at most one message per offer; the queue interface reports a list.
      offer: (envelope: Envelope.Envelope) => Effect.map(writer.offer(envelope), Option.toArray),
      take: (max) => index.take(max),
      ack: (lease) => Effect.suspend(() => index.ack(lease) ? writer.ack(lease.sequence) : Effect.void),
      nack: (lease) => Effect.sync(() => void index.nack(lease)),
      size: Effect.sync(() => index.pending)
    } satisfies MessageQueue.Service
  }).pipe(Effect.annotateLogs({ module: "SqlMessageQueue", store: options.store }))
