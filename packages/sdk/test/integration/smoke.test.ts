import { assert, describe, it } from "@effect/vitest"
import { StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Effect } from "effect"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"
import { mosquittoResource, subscribe } from "../support/Mosquitto.js"

const project = { organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11", projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22" }

describe("smoke", () => {
  it.scopedLive("delivers over TCP", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      const subscriber = yield* Effect.promise(() => subscribe(broker.url("mqtt"), "in/#"))
      const layer = StellaNowLive.layer({ auth: "none", environment: "local", brokerUrl: broker.url("mqtt"), ...project })
      yield* Effect.gen(function*() {
        yield* StellaNow.start
        for (let i = 0; i < 100; i++) {
          yield* StellaNow.sendMessage(new UserDetailsUpdateMessage({ patron: "1", user_id: `u${i}` }))
        }
        yield* Effect.promise(() => subscriber.waitFor(100))
        yield* StellaNow.stop()
      }).pipe(Effect.provide(layer))
      assert.strictEqual(subscriber.messages.length, 100)
      yield* Effect.promise(() => subscriber.close())
    }))
})
