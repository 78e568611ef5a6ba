/**
 * An Effect application: the SDK as layers, composed with the rest of the app.
 */
import { Environment, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Effect, Layer, Stream } from "effect"
import { startEmbeddedBroker } from "./embedded-broker.js"
import { PhoneNumberModel, UserDetailsUpdateMessage } from "./messages/index.js"

const program = Effect.gen(function*() {
  const sdk = yield* StellaNow.StellaNow
  // Follow acknowledgements in the background.
  yield* (yield* sdk.subscribe).pipe(
    Stream.runForEach((event) =>
      event._tag === "Acknowledged" ? Effect.log(`acknowledged ${event.messageId}`) : Effect.void
    ),
    Effect.forkScoped
  )
  yield* sdk.start
  for (let i = 0; i < 10; i++) {
    yield* sdk.sendMessageAndWait(
      new UserDetailsUpdateMessage({
        patron: "12345",
        user_id: `user_${i}`,
        phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
      })
    )
  }
  const { remaining } = yield* sdk.stop({ drainTimeout: "5 seconds" })
  yield* Effect.log(`stopped with ${remaining} message(s) left`)
})

const main = Effect.gen(function*() {
  const broker = yield* Effect.acquireRelease(
    Effect.promise(() => startEmbeddedBroker()),
    (b) => Effect.promise(() => b.close())
  )
  const StellaNowLayer = StellaNowLive.layer({
    auth: "none",
    environment: Environment.custom({ brokerUrl: broker.url }),
    // aedes speaks MQTT 3.1.1; the platform and mosquitto speak MQTT 5, the default.
    protocolVersion: 4,
    organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
    projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
    queue: "fifo"
  })
  yield* Effect.scoped(program).pipe(Effect.provide(Layer.fresh(StellaNowLayer)))
})

Effect.runPromise(Effect.scoped(main)).catch((error) => {
  console.error(error)
  process.exit(1)
})
