/**
 * `IndexedDbQueue` outside a browser: Node.js has no IndexedDB, so opening fails with a `StoreError`
 * that says so, and bad options are a `ConfigurationError` before anything is opened. (In a browser it
 * is tested in headless Chromium: test/browser/.)
 */
import { assert, describe, it } from "@effect/vitest"
import { IndexedDbQueue } from "@stellanow/sdk"
import { Effect } from "effect"

describe("IndexedDbQueue without IndexedDB", () => {
  it.effect("fails to open with a StoreError \"Unsupported\" naming IndexedDB", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(IndexedDbQueue.make({ database: "q" })))
      assert.strictEqual(error._tag, "StoreError")
      if (error._tag === "StoreError") {
        assert.strictEqual(error.reason, "Unsupported")
        assert.include(error.message, "IndexedDB database \"q\"")
        assert.include(error.message, "IndexedDB is not available here")
      }
    }))

  it.effect("refuses bad options with a ConfigurationError naming them", () =>
    Effect.gen(function*() {
      for (
        const [options, named] of [
          [{ database: "" }, "database"],
          [{ durability: "eventually" as never }, "durability"],
          [{ order: "random" as never }, "order"],
          [{ lockTimeout: "soon" as never }, "lockTimeout"],
          [{ capacity: 0 }, "capacity"]
        ] as const
      ) {
        const error = yield* Effect.flip(Effect.scoped(IndexedDbQueue.make(options)))
        assert.strictEqual(error._tag, "ConfigurationError", named)
        assert.include(error.message, named)
      }
    }))
})
