/**
 * The SQLite queue's own promises: its settings, the one-process lock, and clear typed errors for
 * stores it cannot use — leaving every file as it found it.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { MessageQueue } from "@stellanow/sdk"
import { Cause, Effect, Exit, Layer, Logger, References, Result } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { SqliteQueue, SqlMessageQueue, StoreError } from "../src/index.js"
import * as SqliteClient from "../src/internal/sqliteClient.js"
import { envelope } from "./support/conformance.js"
import { capabilities, openFailure, query, readOnlyDir, snapshot, sqlite, tempDir, tmpfs } from "./support/files.js"

const root = tempDir()
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => {
  const dir = path.join(root, `d${n++}`)
  fs.mkdirSync(dir)
  return dir
}

const fill = (filename: string, count: number) =>
  Effect.flatMap(
    MessageQueue.MessageQueue,
    (queue) =>
      Effect.forEach(Array.from({ length: count }, (_, i) => envelope(i)), (e) => queue.offer(e), {
        concurrency: "unbounded"
      })
  ).pipe(Effect.provide(SqliteQueue.layer({ filename })))

const sizeOf = (filename: string) =>
  Effect.flatMap(MessageQueue.MessageQueue, (queue) => queue.size).pipe(
    Effect.provide(SqliteQueue.layer({ filename }))
  )

describe("SQLite queue", () => {
  it.live("opens in WAL mode with the chosen synchronous setting, locked for this process", () =>
    Effect.gen(function*() {
      for (const synchronous of ["full", "normal"] as const) {
        const filename = path.join(freshDir(), "queue.db")
        const logs: Array<string> = []
        const logger = Logger.layer([Logger.make(({ message }) => logs.push(String(message)))])
        yield* Effect.flatMap(MessageQueue.MessageQueue, (queue) => queue.offer(envelope(1))).pipe(
          Effect.provide(SqliteQueue.layer({ filename, synchronous })),
          Effect.provide(logger),
          Effect.provideService(References.MinimumLogLevel, "Debug")
        )
        assert.include(logs.join("\n"), `opened: journal_mode=wal synchronous=${synchronous} locking_mode=exclusive`)
        // The file itself records WAL mode (header bytes 18 and 19 are 2).
        const header = fs.readFileSync(filename).subarray(18, 20)
        assert.deepStrictEqual([...header], [2, 2])
      }
    }))

  it.live("creates its file, and the file's WAL, readable and writable by the owner only", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const filename = path.join(dir, "queue.db")
      const previous = process.umask(0o022)
      try {
        yield* Effect.gen(function*() {
          const queue = yield* MessageQueue.MessageQueue
          yield* queue.offer(envelope(1))
          // While open: the database and its write-ahead log.
          assert.strictEqual(fs.statSync(filename).mode & 0o777, 0o600)
          assert.strictEqual(fs.statSync(`${filename}-wal`).mode & 0o777, 0o600)
        }).pipe(Effect.provide(SqliteQueue.layer({ filename })))
      } finally {
        process.umask(previous)
      }
      // An existing file keeps the permissions it has.
      fs.chmodSync(filename, 0o640)
      assert.strictEqual(yield* sizeOf(filename), 1)
      assert.strictEqual(fs.statSync(filename).mode & 0o777, 0o640)
    }))

  it.live("a second opener of the same file gets a clear Locked error while the first holds it", () =>
    Effect.gen(function*() {
      const filename = path.join(freshDir(), "queue.db")
      yield* Effect.gen(function*() {
        const queue = yield* MessageQueue.MessageQueue
        yield* queue.offer(envelope(1))
        const error = yield* openFailure(SqliteQueue.layer({ filename, lockTimeout: "50 millis" }))
        assert.strictEqual(error.reason, "Locked")
        assert.include(error.message, filename)
        assert.include(error.message, "another process")
        assert.include(error.message, "PostgreSQL")
      }).pipe(Effect.provide(SqliteQueue.layer({ filename })))
      // Released once the first closes.
      assert.strictEqual(yield* sizeOf(filename), 1)
    }))

  it.live("the generic layer runs on a SQLite SqlClient of the application's", () =>
    Effect.gen(function*() {
      const filename = path.join(freshDir(), "app-queue.db")
      const client = SqliteClient.layer({ filename })
      yield* Effect.flatMap(MessageQueue.MessageQueue, (queue) => queue.offer(envelope(1))).pipe(
        Effect.provide(SqlMessageQueue.layer({ table: "outbox" }).pipe(Layer.provide(client)))
      )
      const rows = yield* query<{ message_id: string }>(filename, "SELECT message_id FROM outbox")
      assert.deepStrictEqual(rows.map((r) => r.message_id), [envelope(1).messageId])
    }))

  describe("stores it cannot use: a typed error, files untouched", () => {
    it.live("a file that is not a database", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        const filename = path.join(dir, "queue.db")
        fs.writeFileSync(filename, "these are not the bytes of a SQLite database\n".repeat(200))
        const before = snapshot(dir)
        const error = yield* openFailure(SqliteQueue.layer({ filename }))
        assert.strictEqual(error._tag, "StoreError")
        assert.strictEqual(error.reason, "Corrupt")
        assert.strictEqual(error.code, "SQLITE_NOTADB")
        assert.include(error.message, filename)
        assert.include(error.message, "not a SQLite database")
        assert.deepStrictEqual(snapshot(dir), before)
      }))

    it.live("a queue file with damaged pages", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        const filename = path.join(dir, "queue.db")
        yield* fill(filename, 300)
        // Checkpointed into the main file on close; now scribble over the middle of it.
        const bytes = fs.readFileSync(filename)
        assert.isAbove(bytes.length, 10 * 4096)
        bytes.fill(0x5a, 4096 * 3, 4096 * 6)
        fs.writeFileSync(filename, bytes)
        const before = snapshot(dir)
        const error = yield* openFailure(SqliteQueue.layer({ filename }))
        assert.strictEqual(error.reason, "Corrupt")
        assert.include(error.message, "corrupt")
        assert.deepStrictEqual(snapshot(dir), before)
      }))

    it.live("another application's database", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        const filename = path.join(dir, "app.db")
        yield* sqlite(filename, [
          "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
          "CREATE TABLE orders (id INTEGER PRIMARY KEY)",
          "INSERT INTO users (name) VALUES ('ada')"
        ])
        const before = snapshot(dir)
        const error = yield* openFailure(SqliteQueue.layer({ filename }))
        assert.strictEqual(error.reason, "Foreign")
        assert.include(error.message, "\"orders\", \"users\"")
        assert.include(error.message, "nothing was changed")
        // Not even switched to WAL: the same bytes, and no -wal file.
        assert.deepStrictEqual(snapshot(dir), before)
      }))

    it.live("a database with a table of the queue's name that is not a queue", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        const filename = path.join(dir, "queue.db")
        yield* sqlite(filename, ["CREATE TABLE stellanow_queue (id INTEGER, payload BLOB)"])
        const before = snapshot(dir)
        const error = yield* openFailure(SqliteQueue.layer({ filename }))
        assert.strictEqual(error.reason, "Foreign")
        assert.deepStrictEqual(snapshot(dir), before)
      }))

    it.live("an empty database of another application (its application_id)", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        const filename = path.join(dir, "queue.db")
        yield* sqlite(filename, ["PRAGMA application_id = 1234"])
        const before = snapshot(dir)
        const error = yield* openFailure(SqliteQueue.layer({ filename }))
        assert.strictEqual(error.reason, "Foreign")
        assert.include(error.message, "application_id 1234")
        assert.deepStrictEqual(snapshot(dir), before)
      }))

    it.live("a queue written by a newer version of the package: refused, its messages kept", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        const filename = path.join(dir, "queue.db")
        yield* fill(filename, 3)
        yield* sqlite(filename, ["INSERT INTO stellanow_queue_migrations (version, name) VALUES (99, 'future')"])
        const before = snapshot(dir)
        const error = yield* openFailure(SqliteQueue.layer({ filename }))
        assert.strictEqual(error.reason, "Incompatible")
        assert.include(error.message, "version 99")
        assert.deepStrictEqual(snapshot(dir), before)
        const rows = yield* query<{ n: number }>(filename, "SELECT count(*) AS n FROM stellanow_queue")
        assert.strictEqual(rows[0]!.n, 3)
      }))

    it.live.skipIf(!capabilities.readOnly)("a read-only directory", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        yield* Effect.scoped(Effect.gen(function*() {
          assert.isTrue(yield* readOnlyDir(dir))
          const error = yield* openFailure(SqliteQueue.layer({ filename: path.join(dir, "queue.db") }))
          assert.strictEqual(error.reason, "ReadOnly")
          assert.include(error.message, path.join(dir, "queue.db"))
        }))
        assert.deepStrictEqual(fs.readdirSync(dir), [])
      }))

    it.live.skipIf(!capabilities.readOnly)(
      "an existing queue in a directory that became read-only: refused, its messages kept",
      () =>
        Effect.gen(function*() {
          const dir = freshDir()
          const filename = path.join(dir, "queue.db")
          yield* fill(filename, 5)
          const before = snapshot(dir)
          yield* Effect.scoped(Effect.gen(function*() {
            assert.isTrue(yield* readOnlyDir(dir))
            const error = yield* openFailure(SqliteQueue.layer({ filename }))
            assert.strictEqual(error.reason, "ReadOnly")
          }))
          assert.deepStrictEqual(snapshot(dir), before)
          assert.strictEqual(yield* sizeOf(filename), 5)
        })
    )

    it.live("a directory that does not exist", () =>
      Effect.gen(function*() {
        const filename = path.join(root, "no", "such", "dir", "queue.db")
        const error = yield* openFailure(SqliteQueue.layer({ filename }))
        assert.strictEqual(error.reason, "Unreachable")
        assert.include(error.message, "directory does not exist")
        assert.isFalse(fs.existsSync(path.join(root, "no")))
      }))

    it.live("invalid options", () =>
      Effect.gen(function*() {
        const filename = path.join(freshDir(), "queue.db")
        const bad = [
          SqliteQueue.layer({ filename, synchronous: "sometimes" as any }),
          SqliteQueue.layer({ filename: "" }),
          SqliteQueue.layer({ filename, capacity: -1 }),
          SqliteQueue.layer({ filename, order: "random" as any })
        ]
        for (const layer of bad) {
          const error = yield* openFailure(layer, "ConfigurationError")
          assert.strictEqual(error.reason, "InvalidOption")
        }
        assert.isFalse(fs.existsSync(filename))
      }))
  })

  describe.skipIf(!capabilities.tmpfs)("a full disk (a small tmpfs; needs root)", () => {
    it.live("opening a new queue fails with DiskFull", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        assert.isTrue(yield* tmpfs(dir, "256k"))
        fs.writeFileSync(path.join(dir, "filler"), Buffer.alloc(256 * 1024 - 4096))
        try {
          fs.appendFileSync(path.join(dir, "filler"), Buffer.alloc(64 * 1024))
        } catch {
          // full now
        }
        const error = yield* openFailure(SqliteQueue.layer({ filename: path.join(dir, "queue.db") }))
        assert.strictEqual(error.reason, "DiskFull")
        assert.include(error.message, "disk is full")
      }))

    it.live("a message that finds the disk full fails with StoreFailed (DiskFull); nothing stored is lost", () =>
      Effect.gen(function*() {
        const dir = freshDir()
        assert.isTrue(yield* tmpfs(dir, "1m"))
        const filename = path.join(dir, "queue.db")
        const stored = yield* Effect.gen(function*() {
          const queue = yield* MessageQueue.MessageQueue
          let stored = 0
          for (let i = 0; i < 1_000; i++) {
            const exit = yield* Effect.exit(queue.offer(envelope(i, `{"pad":"${"p".repeat(20_000)}"}`)))
            if (Exit.isSuccess(exit)) {
              stored++
              continue
            }
            const failure = Result.getOrThrow(Cause.findError(exit.cause))
            assert.strictEqual(failure.reason, "StoreFailed")
            assert.instanceOf(failure.cause, StoreError)
            const error = failure.cause as StoreError
            assert.strictEqual(error.reason, "DiskFull")
            assert.include(error.message, filename)
            break
          }
          assert.isAbove(stored, 0)
          assert.isBelow(stored, 1_000)
          assert.strictEqual(yield* queue.size, stored)
          return stored
        }).pipe(Effect.provide(SqliteQueue.layer({ filename })))
        assert.strictEqual(yield* sizeOf(filename), stored)
      }))
  })
})
