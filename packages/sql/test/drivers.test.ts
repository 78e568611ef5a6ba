/**
 * The drivers are imported when a queue opens: one that cannot be imported fails the queue with reason
 * `"MissingDriver"`, saying what to install (`@effect/sql-pg` is an optional peer dependency).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as Drivers from "../src/internal/drivers.js"

describe("drivers", () => {
  it.live("a driver package that is not installed: MissingDriver, naming the command that installs it", () =>
    Effect.gen(function*() {
      const absent: Drivers.Driver<unknown> = {
        ...Drivers.pg,
        // A real import of a package that is not there, as for an application without @effect/sql-pg.
        load: () => import("@stellanow/no-such-driver" as string)
      }
      const result = yield* Effect.result(Drivers.load(absent, "PostgreSQL app@db:5432/app"))
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        const error = result.failure
        assert.strictEqual(error.reason, "MissingDriver")
        assert.strictEqual(error.code, "ERR_MODULE_NOT_FOUND")
        assert.include(error.message, "PostgreSQL app@db:5432/app")
        assert.include(error.message, "npm install @effect/sql-pg")
      }
    }))

  it.live("a Node without node:sqlite: MissingDriver, naming the Node versions that have it", () =>
    Effect.gen(function*() {
      const absent: Drivers.Driver<unknown> = {
        ...Drivers.sqlite,
        // What Node 22.12 without --experimental-sqlite throws.
        load: () => import("node:no-such-builtin" as string)
      }
      const result = yield* Effect.result(Drivers.load(absent, "SQLite file /tmp/q.db"))
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure.reason, "MissingDriver")
        assert.include(result.failure.message, "Node 22.13")
      }
    }))

  it.live("the installed drivers load", () =>
    Effect.gen(function*() {
      const sqlite = yield* Drivers.load(Drivers.sqlite, "SQLite")
      assert.isFunction(sqlite.DatabaseSync)
      const pg = yield* Drivers.load(Drivers.pg, "PostgreSQL")
      assert.isFunction(pg.make)
    }))
})
