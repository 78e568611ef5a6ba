/**
 * The persistent queues through both front doors of the SDK — the layer (`StellaNowLive.layer`) and the
 * Promise facade (`configureSdk`, the presets) — against a real mosquitto: messages queued by one SDK
 * instance are delivered by the next one on the same store.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  configureLocalNanomqBasicMqttFifoSdk,
  configureSdk,
  Environment,
  Message,
  StellaNow,
  StellaNowLive
} from "@stellanow/sdk"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { type Mosquitto, startMosquitto, subscribe } from "../../sdk/test/support/Mosquitto.js"
import { PgQueue, SqliteQueue, StoreError } from "../src/index.js"
import { tally, waitForAll } from "./support/Counting.js"
import { tempDir } from "./support/files.js"
import { type Postgres, startPostgres } from "./support/Postgres.js"

const project = {
  organizationId: "5c4f4b8a-3a6e-4d7e-9f51-0d2c2f1b6a11",
  projectId: "9a1d7e52-8c3b-4f0a-b6de-2f7c1e9d4b33"
}
const message = (i: number) =>
  Message.raw({
    eventName: "front_door",
    entities: [{ entityTypeDefinitionId: "patron", entityId: `p${i}` }],
    payload: JSON.stringify({ i })
  })

let broker: Mosquitto
let server: Postgres
let dir: string
beforeAll(async () => {
  dir = tempDir("stellanow-front-")
  ;[broker, server] = await Promise.all([startMosquitto({ users: { device: "pa55" } }), startPostgres()])
})
afterAll(async () => {
  await Promise.all([broker?.dispose(), server?.dispose()])
  fs.rmSync(dir, { recursive: true, force: true })
})

const auth = () => ({ username: "device", password: "pa55" })

describe("the persistent queue in both front doors", () => {
  it.live("StellaNowLive.layer({ queue: SqliteQueue.layer(…) }): queued by one instance, delivered by the next", () =>
    Effect.gen(function*() {
      const filename = path.join(dir, "layer.db")
      const settings = {
        ...project,
        auth: "basic" as const,
        mqttUsername: "device",
        mqttPassword: "pa55",
        environment: Environment.custom({ brokerUrl: broker.url("mqtt") })
      }
      const ids = yield* Effect.forEach([0, 1, 2, 3, 4], (i) => StellaNow.sendMessage(message(i))).pipe(
        Effect.provide(StellaNowLive.layer({ ...settings, queue: SqliteQueue.layer({ filename }) }))
      )
      const subscriber = yield* Effect.acquireRelease(
        Effect.promise(() => subscribe(broker.url("mqtt"), "in/#", auth())),
        (s) => Effect.promise(() => s.close())
      )
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        assert.strictEqual(yield* sdk.queueSize, 5)
        yield* sdk.start
        yield* Effect.promise(() => waitForAll(subscriber, ids, 10_000))
        const { remaining } = yield* sdk.stop({ drainTimeout: "5 seconds" })
        assert.strictEqual(remaining, 0)
      }).pipe(Effect.provide(StellaNowLive.layer({ ...settings, queue: SqliteQueue.layer({ filename }) })))
      assert.strictEqual(tally(subscriber, ids).lost, 0)
    }).pipe(Effect.scoped))

  it("configureSdk({ queue: SqliteQueue.layer(…) }) and a preset with PgQueue: the Promise facade", async () => {
    const subscriber = await subscribe(broker.url("mqtt"), "in/#", auth())
    try {
      for (
        const queue of [
          () => SqliteQueue.layer({ filename: path.join(dir, "facade.db") }),
          () => PgQueue.layer({ url: server.url(), table: "facade_queue" })
        ]
      ) {
        const options = {
          ...project,
          brokerUrl: broker.url("mqtt"),
          mqttUsername: "device",
          mqttPassword: "pa55",
          logLevel: "warn" as const
        }
        const first = configureSdk({ ...options, auth: "basic", environment: "local", queue: queue() })
        const ids = [await first.sendMessage(message(1)), await first.sendMessage(message(2))]
        await first.close()
        const second = configureLocalNanomqBasicMqttFifoSdk({ ...options, queue: queue() })
        assert.strictEqual(await second.queueSize(), 2)
        await second.start()
        await waitForAll(subscriber, ids, 10_000)
        assert.deepStrictEqual(await second.stop({ drainTimeoutMs: 5_000 }), { remaining: 0 })
        await second.close()
      }
    } finally {
      await subscriber.close()
    }
  })

  it("a store that cannot be used rejects the facade's first call with a StoreError", async () => {
    const filename = path.join(dir, "corrupt.db")
    fs.writeFileSync(filename, "not a database".repeat(100))
    const sdk = configureSdk({
      ...project,
      auth: "none",
      environment: Environment.custom({ brokerUrl: broker.url("mqtt") }),
      queue: SqliteQueue.layer({ filename }),
      logLevel: "none"
    })
    const error = await sdk.sendMessage(message(1)).then(() => undefined, (e: unknown) => e)
    assert.instanceOf(error, StoreError)
    assert.strictEqual((error as StoreError).reason, "Corrupt")
    assert.include((error as Error).message, filename)
    await sdk.close()
  })
})
