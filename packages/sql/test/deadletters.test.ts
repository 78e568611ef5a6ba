/**
 * The SQL queues keep their dead letters in their database. Against a real mosquitto that refuses a
 * message over 10,000 bytes (PUBACK 0x95) and a SQLite queue: the big message is dead-lettered, the small
 * ones behind it delivered, the queue left empty, and the dead letter still in the file when it is opened
 * again. Plus the dead-letter table on PostgreSQL, and a queue of the first schema version upgraded.
 */
import { assert, describe, it } from "@effect/vitest"
import { DeadLetters, Environment, Message, MessageQueue, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { type Mosquitto, startMosquitto, subscribe } from "../../sdk/test/support/Mosquitto.js"
import { PgQueue, SqliteQueue } from "../src/index.js"
import { envelope } from "./support/conformance.js"
import { tally, waitForAll } from "./support/Counting.js"
import { query, sqlite, tempDir } from "./support/files.js"
import { type Postgres, startPostgres } from "./support/Postgres.js"

const project = {
  organizationId: "5c4f4b8a-3a6e-4d7e-9f51-0d2c2f1b6a11",
  projectId: "9a1d7e52-8c3b-4f0a-b6de-2f7c1e9d4b33"
}
const message = (text: string) =>
  Message.raw({
    eventName: "dead_letter",
    entities: [{ entityTypeDefinitionId: "patron", entityId: "p" }],
    payload: JSON.stringify({ text })
  })

let broker: Mosquitto
let server: Postgres
let dir: string
beforeAll(async () => {
  dir = tempDir("stellanow-dead-")
  ;[broker, server] = await Promise.all([startMosquitto({ extraConfig: "message_size_limit 10000" }), startPostgres()])
})
afterAll(async () => {
  await Promise.all([broker?.dispose(), server?.dispose()])
  fs.rmSync(dir, { recursive: true, force: true })
})

/** The dead letters and the queue's size, read from the store opened afresh. */
const reopened = <E>(layer: Layer.Layer<MessageQueue.MessageQueue | DeadLetters.DeadLetters, E>) =>
  Effect.gen(function*() {
    const letters = yield* (yield* DeadLetters.DeadLetters).list
    const size = yield* (yield* MessageQueue.MessageQueue).size
    return { letters, size }
  }).pipe(Effect.provide(layer))

describe("dead letters of the SQL queues", () => {
  it.live(
    "SQLite: the refused message is kept in the file, the queue moves on and is left empty",
    () =>
      Effect.gen(function*() {
        const filename = path.join(dir, "queue.db")
        const subscriber = yield* Effect.acquireRelease(
          Effect.promise(() => subscribe(broker.url("mqtt"), "in/#")),
          (s) => Effect.promise(() => s.close())
        )
        const [big, small, deadLettered] = yield* Effect.gen(function*() {
          const sdk = yield* StellaNow.StellaNow
          const events = yield* sdk.subscribe
          const big = yield* sdk.sendMessage(message("x".repeat(20_000)))
          const small = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => sdk.sendMessage(message(`small ${i}`)))
          yield* sdk.start
          yield* Effect.promise(() => waitForAll(subscriber, small, 20_000))
          const deadLettered = yield* events.pipe(
            Stream.filter((event) => event._tag === "DeadLettered"),
            Stream.runHead,
            Effect.timeout("20 seconds")
          )
          const { remaining } = yield* sdk.stop({ drainTimeout: "5 seconds" })
          assert.strictEqual(remaining, 0)
          return [big, small, deadLettered] as const
        }).pipe(
          Effect.provide(StellaNowLive.layer({
            ...project,
            auth: "none",
            environment: Environment.custom({ brokerUrl: broker.url("mqtt") }),
            queue: SqliteQueue.layer({ filename }),
            maxAttempts: 2
          }))
        )
        assert.strictEqual(deadLettered._tag === "Some" && deadLettered.value._tag, "DeadLettered")
        assert.strictEqual(tally(subscriber, small).lost, 0)
        const { letters, size } = yield* reopened(SqliteQueue.layer({ filename }))
        assert.strictEqual(size, 0)
        assert.deepStrictEqual(letters.map((letter) => letter.envelope.messageId), [big])
        assert.match(letters[0]!.reason, /0x95 \(Packet too large\).*refused 2 times/)
        assert.strictEqual(letters[0]!.envelope.body.length > 20_000, true)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live("SQLite: a queue of schema version 1 gets its dead-letter table, its messages kept", () =>
    Effect.gen(function*() {
      const filename = path.join(dir, "v1.db")
      yield* Effect.flatMap(MessageQueue.MessageQueue, (queue) => queue.offer(envelope(1))).pipe(
        Effect.provide(SqliteQueue.layer({ filename }))
      )
      // As the previous version left it: no dead-letter table, its migrations at version 1.
      yield* sqlite(filename, [
        `DROP TABLE "stellanow_queue_dead_letters"`,
        "DELETE FROM stellanow_queue_migrations WHERE version = 2"
      ])
      const { letters, size } = yield* reopened(SqliteQueue.layer({ filename }))
      assert.strictEqual(size, 1)
      assert.deepStrictEqual(letters, [])
      const versions = yield* query<{ version: number }>(filename, "SELECT version FROM stellanow_queue_migrations")
      assert.deepStrictEqual(versions.map((row) => Number(row.version)), [1, 2])
    }))

  it.live("PostgreSQL: dead letters kept in the database, read back by another instance", () =>
    Effect.gen(function*() {
      const url = server.url()
      const table = "dead_letter_queue"
      yield* Effect.flatMap(DeadLetters.DeadLetters, (store) => store.put(envelope(7), "refused by the test")).pipe(
        Effect.provide(PgQueue.layer({ url, table }))
      )
      const { letters, size } = yield* reopened(PgQueue.layer({ url, table }))
      assert.strictEqual(size, 0)
      assert.deepStrictEqual(letters.map((letter) => [letter.envelope, letter.reason]), [[
        envelope(7),
        "refused by the test"
      ]])
    }))
})
