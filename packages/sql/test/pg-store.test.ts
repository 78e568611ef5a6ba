/**
 * The PostgreSQL queue's own promises, on a real server: instances share one table without taking a
 * message twice, leases hand a dead instance's messages to the others, capacity holds across
 * instances, and stores it cannot use fail with clear typed errors.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { MessageQueue, type QueueError } from "@stellanow/sdk"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Option, Redacted, Result, Schedule } from "effect"
import { PgQueue, SqlMessageQueue, StoreError } from "../src/index.js"
import { envelope } from "./support/conformance.js"
import { openFailure } from "./support/files.js"
import { type Postgres, startPostgres } from "./support/Postgres.js"

let server: Postgres
let url: string
beforeAll(async () => {
  server = await startPostgres()
  url = await server.createDatabase("store")
})
afterAll(() => server?.dispose())

let tables = 0
const freshTable = () => `t${Date.now().toString(36)}_${tables++}`

/** Two instances of one queue: two layers, as two processes would have. */
const instance = (table: string, options: Partial<PgQueue.Options> = {}) =>
  Effect.map(
    Layer.build(PgQueue.layer({ url, table, pollInterval: "50 millis", ...options })),
    (context) => Context.get(context, MessageQueue.MessageQueue)
  )

/** Holds `table` in SHARE mode (writes wait, reads do not) from `locked` until `unlock`, in a session of its own. */
const lockTable = (table: string, locked: Deferred.Deferred<void>, unlock: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    yield* sql.withTransaction(
      sql`LOCK TABLE ${sql(table)} IN SHARE MODE`.pipe(
        Effect.andThen(Deferred.succeed(locked, undefined)),
        Effect.andThen(Deferred.await(unlock))
      )
    )
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })), Effect.orDie)

const ids = (leases: ReadonlyArray<MessageQueue.Lease>) => leases.map((lease) => lease.envelope.messageId)
const psql = (sql: string) => Effect.promise(() => server.psql(sql, "store"))

describe("PostgreSQL queue", () => {
  it.live("two instances sharing a table never take the same message", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const a = yield* instance(table)
      const b = yield* instance(table)
      yield* Effect.forEach(Array.from({ length: 400 }, (_, i) => envelope(i)), (e) => a.offer(e), {
        concurrency: "unbounded"
      })
      const taken = { a: [] as Array<string>, b: [] as Array<string> }
      const drain = (queue: MessageQueue.Service, into: Array<string>) =>
        Effect.forever(Effect.gen(function*() {
          const leases = yield* queue.take(7)
          into.push(...ids(leases))
          yield* Effect.forEach(leases, (lease) => queue.ack(lease), { discard: true })
        }))
      const drains = yield* Effect.forkChild(Effect.all([drain(a, taken.a), drain(b, taken.b)], { concurrency: 2 }))
      while (taken.a.length + taken.b.length < 400) yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(drains)
      const all = [...taken.a, ...taken.b]
      assert.strictEqual(all.length, 400)
      assert.strictEqual(new Set(all).size, 400)
      assert.isAbove(taken.a.length, 0)
      assert.isAbove(taken.b.length, 0)
      // Each instance commits its acknowledgements within `ackDelay`; then the table is empty for both.
      while ((yield* a.size) + (yield* b.size) > 0) yield* Effect.sleep("10 millis")
    }).pipe(Effect.timeout("30 seconds")))

  it.live("a dead instance's messages are taken by another once their lease expires, ids unchanged", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const b = yield* instance(table)
      yield* Effect.forEach([0, 1, 2, 3, 4, 5], (i) => b.offer(envelope(i)))
      // An instance that claimed the three oldest and died: nobody renews its lease.
      yield* psql(`UPDATE "${table}" SET claimed_by = 'dead-instance', lease_until = now() + interval '1 second'
        WHERE seq IN (SELECT seq FROM "${table}" ORDER BY seq LIMIT 3)`)
      assert.deepStrictEqual(ids(yield* b.take(10)), [3, 4, 5].map((i) => envelope(i).messageId))
      const takenOver = yield* b.take(10)
      assert.deepStrictEqual(takenOver.map((lease) => lease.envelope), [0, 1, 2].map((i) => envelope(i)))
      const owners = yield* psql(`SELECT DISTINCT claimed_by FROM "${table}"`)
      assert.notInclude(owners, "dead-instance")
    }))

  it.live("a live instance keeps its leases: nobody else takes its messages", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const a = yield* instance(table, { leaseDuration: "600 millis" })
      const b = yield* instance(table, { leaseDuration: "600 millis" })
      yield* Effect.forEach([0, 1, 2], (i) => a.offer(envelope(i)))
      assert.strictEqual((yield* a.take(10)).length, 3)
      const first = yield* psql(`SELECT max(lease_until) FROM "${table}"`)
      // Several renewals later, well past the first lease, the messages are still a's.
      let renewals = 0
      let last = first
      while (renewals < 4) {
        const now = yield* psql(`SELECT max(lease_until) FROM "${table}"`)
        if (now !== last) renewals++
        last = now
        yield* Effect.sleep("50 millis")
      }
      const stolen = yield* b.take(10).pipe(Effect.timeoutOption("300 millis"))
      assert.isTrue(Option.isNone(stolen))
      assert.strictEqual(yield* psql(`SELECT count(*) FROM "${table}" WHERE lease_until > now()`), "3")
    }))

  it.live("closing an instance gives its taken messages back at once", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const b = yield* instance(table)
      yield* Effect.scoped(Effect.gen(function*() {
        const a = yield* instance(table)
        yield* Effect.forEach([0, 1, 2], (i) => a.offer(envelope(i)))
        assert.strictEqual((yield* a.take(10)).length, 3)
      }))
      assert.strictEqual(yield* psql(`SELECT count(*) FROM "${table}" WHERE claimed_by IS NOT NULL`), "0")
      assert.deepStrictEqual(ids(yield* b.take(10)), [0, 1, 2].map((i) => envelope(i).messageId))
    }))

  it.live("capacity holds for the table across instances", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const a = yield* instance(table, { capacity: 10, overflow: "fail" })
      const b = yield* instance(table, { capacity: 10, overflow: "fail" })
      const results = yield* Effect.all(
        Array.from({ length: 16 }, (_, i) => Effect.result((i % 2 === 0 ? a : b).offer(envelope(i)))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter(Result.isFailure).length, 6)
      assert.strictEqual(yield* a.size, 10)
      assert.strictEqual(yield* b.size, 10)
    }))

  it.live("size leaves acknowledged messages out while their deletes are being committed", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const queue = yield* instance(table, { capacity: 2_000 })
      yield* Effect.forEach(Array.from({ length: 1_500 }, (_, i) => envelope(i)), (e) => queue.offer(e), {
        concurrency: "unbounded"
      })
      const taken: Array<MessageQueue.Lease> = []
      while (taken.length < 1_500) taken.push(...(yield* queue.take(1_500 - taken.length)))
      // Another session holds the table in SHARE mode: the writer's deletes wait for it, counting does not.
      const locked = yield* Deferred.make<void>()
      const unlock = yield* Deferred.make<void>()
      const holder = yield* Effect.forkScoped(lockTable(table, locked, unlock))
      yield* Deferred.await(locked)
      // The thousandth acknowledgement starts a commit of the deletes, which waits for the lock.
      yield* Effect.forEach(taken, (lease) => queue.ack(lease), { discard: true })
      yield* psql(`SELECT count(*) FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM "${table}"%'`).pipe(
        Effect.repeat({ until: (waiting) => waiting !== "0", schedule: Schedule.spaced("10 millis") })
      )
      assert.strictEqual(yield* queue.size, 0)
      yield* Deferred.succeed(unlock, undefined)
      yield* Fiber.join(holder)
      const sizes: Array<number> = []
      while ((yield* psql(`SELECT count(*) FROM "${table}"`)) !== "0") sizes.push(yield* queue.size)
      sizes.push(yield* queue.size)
      assert.deepStrictEqual([...new Set(sizes)], [0])
    }).pipe(Effect.timeout("30 seconds")))

  it.live("an idle instance sees messages queued by another", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const a = yield* instance(table)
      const b = yield* instance(table)
      const waiting = yield* Effect.forkChild(b.take(10))
      yield* a.offer(envelope(1))
      assert.deepStrictEqual(ids(yield* Fiber.join(waiting)), [envelope(1).messageId])
    }))

  it.live("the generic layer runs on a PgClient of the application's", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const queue = yield* Effect.map(
        Layer.build(
          SqlMessageQueue.layer({ table }).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url) })))
        ),
        (context) => Context.get(context, MessageQueue.MessageQueue)
      )
      yield* queue.offer(envelope(1))
      assert.strictEqual(yield* psql(`SELECT message_id FROM "${table}"`), envelope(1).messageId)
    }))

  it.live("the server goes away: offer, take and size fail with StoreFailed, typed, not as defects; all resume after", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const queue = yield* instance(table)
      yield* queue.offer(envelope(1))
      const [first] = yield* queue.take(10)
      yield* queue.ack(first!)
      const waiting = yield* Effect.forkChild(Effect.exit(queue.take(10)))
      yield* Effect.promise(() => server.stop())
      const storeFailure = <A>(effect: Effect.Effect<A, QueueError>) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(effect)
          assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), "a typed failure, not a defect")
          const failure = Exit.isFailure(exit) ? Result.getOrUndefined(Cause.findError(exit.cause)) : undefined
          assert.strictEqual(failure?.reason, "StoreFailed")
          assert.instanceOf(failure?.cause, StoreError)
          const error = failure!.cause as StoreError
          // Unreachable, or a Timeout when an earlier batch's retries left no time for its own.
          assert.include(["Unreachable", "Timeout"], error.reason)
          assert.include(error.message, `127.0.0.1:${server.port}/store`)
          return failure!
        })
      assert.strictEqual((yield* storeFailure(queue.offer(envelope(2)))).messageId, envelope(2).messageId)
      assert.isUndefined((yield* storeFailure(queue.size)).messageId)
      yield* storeFailure(queue.take(10))
      // The take that was waiting for messages fails too, at its next look (its caller retries).
      const waited = yield* Fiber.join(waiting)
      assert.isTrue(Exit.isFailure(waited) && !Cause.hasDies(waited.cause))
      yield* Effect.promise(() => server.start())
      yield* queue.offer(envelope(3))
      assert.strictEqual(yield* queue.size, 1)
      assert.deepStrictEqual(ids(yield* queue.take(10)), [envelope(3).messageId])
    }).pipe(Effect.timeout("60 seconds")))

  it.live("waiting for a server that is away is bounded by storeTimeout: a typed Timeout carrying the last error", () =>
    Effect.gen(function*() {
      const table = freshTable()
      const queue = yield* instance(table, { storeTimeout: "300 millis" })
      yield* queue.offer(envelope(1))
      const [first] = yield* queue.take(10)
      yield* Effect.promise(() => server.stop())
      const offered = yield* Effect.flip(queue.offer(envelope(2)))
      assert.strictEqual(offered.reason, "StoreFailed")
      const cause = offered.cause as StoreError
      assert.instanceOf(cause, StoreError)
      // The writer retries an unreachable server for longer than that: the wait was cut short.
      assert.strictEqual(cause.reason, "Timeout")
      assert.strictEqual((cause.cause as StoreError | undefined)?.reason, "Unreachable")
      assert.include(offered.message, "may still be stored")
      const counted = yield* Effect.flip(queue.size)
      assert.strictEqual((counted.cause as StoreError).reason, "Timeout")
      const released = yield* Effect.flip(queue.nack(first!))
      assert.strictEqual(released.reason, "StoreFailed")
      assert.strictEqual(released.messageId, envelope(1).messageId)
      yield* Effect.promise(() => server.start())
      // The release stayed pending and is committed once the server is back (the timed-out offer may
      // have been committed too: its outcome was unknown).
      const taken: Array<string> = []
      while (!taken.includes(envelope(1).messageId)) {
        taken.push(...ids(yield* queue.take(10).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis") }))))
      }
      assert.includeMembers([envelope(1).messageId, envelope(2).messageId], taken)
    }).pipe(Effect.timeout("60 seconds")))

  describe("stores it cannot use: a typed error, data untouched", () => {
    it.live("an unreachable server: the message names the host and port, never the password", () =>
      Effect.gen(function*() {
        const closed = server.port + 1 === 65536 ? server.port - 1 : server.port + 1
        const error = yield* openFailure(
          PgQueue.layer({
            url: Redacted.make(`postgres://app:s3cret-pw@127.0.0.1:${closed}/db`),
            connectTimeout: "2 seconds"
          })
        )
        assert.strictEqual(error.reason, "Unreachable")
        assert.include(error.message, `app@127.0.0.1:${closed}/db`)
        assert.notInclude(error.message, "s3cret-pw")
        assert.notInclude(JSON.stringify(error.toJSON()), "s3cret-pw")
      }))

    it.live("a password given apart is not shown either", () =>
      Effect.gen(function*() {
        const error = yield* openFailure(
          PgQueue.layer({ host: "127.0.0.1", port: 1, username: "app", password: "s3cret-pw", database: "db" })
        )
        assert.include(error.message, "app@127.0.0.1:1/db")
        assert.notInclude(error.message, "s3cret-pw")
      }))

    it.live("a database that does not exist", () =>
      Effect.gen(function*() {
        const error = yield* openFailure(PgQueue.layer({ url: server.url("missing") }))
        assert.strictEqual(error.reason, "Refused")
        assert.include(error.message, "database does not exist")
      }))

    it.live("a table of the queue's name that is not a queue", () =>
      Effect.gen(function*() {
        const table = freshTable()
        yield* psql(`CREATE TABLE "${table}" (id int, note text); INSERT INTO "${table}" VALUES (1, 'keep me')`)
        const error = yield* openFailure(PgQueue.layer({ url, table }))
        assert.strictEqual(error.reason, "Foreign")
        assert.include(error.message, `"${table}"`)
        assert.strictEqual(yield* psql(`SELECT note FROM "${table}"`), "keep me")
        assert.strictEqual(yield* psql(`SELECT to_regclass('"${table}_migrations"') IS NULL`), "t")
      }))

    it.live("a queue written by a newer version of the package", () =>
      Effect.gen(function*() {
        const table = freshTable()
        yield* Effect.flatMap(MessageQueue.MessageQueue, (queue) => queue.offer(envelope(1))).pipe(
          Effect.provide(PgQueue.layer({ url, table }))
        )
        yield* psql(`INSERT INTO "${table}_migrations" (version, name) VALUES (99, 'future')`)
        const error = yield* openFailure(PgQueue.layer({ url, table }))
        assert.strictEqual(error.reason, "Incompatible")
        assert.strictEqual(yield* psql(`SELECT count(*) FROM "${table}"`), "1")
      }))

    it.live("invalid options, and a URL that is not PostgreSQL's (not echoed)", () =>
      Effect.gen(function*() {
        for (
          const layer of [
            PgQueue.layer({ url: "mysql://root:s3cret-pw@host/db" }),
            PgQueue.layer({ url, table: "no spaces allowed" }),
            PgQueue.layer({ url, leaseDuration: "0 millis" })
          ]
        ) {
          const error = yield* openFailure(layer, "ConfigurationError")
          assert.strictEqual(error.reason, "InvalidOption")
          assert.notInclude(error.message, "s3cret-pw")
        }
      }))
  })
})
