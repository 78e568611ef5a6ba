/**
 * The queue layers with their options read from a `Config`.
 */
import { assert, describe, it } from "@effect/vitest"
import { MessageQueue } from "@stellanow/sdk"
import { Config, ConfigProvider, Effect, Layer, Result } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { SqliteQueue } from "../src/index.js"
import { envelope } from "./support/conformance.js"
import { tempDir } from "./support/files.js"

const withEnv = (entries: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(entries))

describe("SqliteQueue.layerConfig", () => {
  const config = {
    filename: Config.String("STELLANOW_QUEUE_FILE"),
    capacity: Config.Int("STELLANOW_QUEUE_CAPACITY")
  }

  it.live("opens the store the configuration names", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const filename = path.join(dir, "queue.db")
      const size = yield* Effect.gen(function*() {
        const queue = yield* MessageQueue.MessageQueue
        yield* queue.offer(envelope(0))
        return yield* queue.size
      }).pipe(
        Effect.provide(Layer.fresh(SqliteQueue.layerConfig(config))),
        withEnv({ STELLANOW_QUEUE_FILE: filename, STELLANOW_QUEUE_CAPACITY: "10" })
      )
      assert.strictEqual(size, 1)
      assert.isTrue(fs.existsSync(filename))
      fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.live("a bad value is a ConfigurationError naming the problem", () =>
    Effect.gen(function*() {
      const result = yield* Effect.result(
        Effect.provide(MessageQueue.MessageQueue, Layer.fresh(SqliteQueue.layerConfig(config))).pipe(
          withEnv({ STELLANOW_QUEUE_FILE: "/tmp/x.db", STELLANOW_QUEUE_CAPACITY: "many" })
        )
      )
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure._tag, "ConfigurationError")
        assert.include(result.failure.message, "STELLANOW_QUEUE_CAPACITY")
      }
    }))
})
