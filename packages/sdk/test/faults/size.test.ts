/**
 * A message too large for the broker must never block the queue: mosquitto with `max_packet_size`
 * disconnects a client that sends a larger packet, every time it is sent again. The SDK reads the
 * broker's Maximum Packet Size from its CONNACK and refuses such a message at `sendMessage` with a
 * `ValidationError` (`"TooLarge"`), before it is queued; the `maxMessageBytes` option does the same
 * before any connection. The small messages after it are delivered.
 */
import { assert, describe, it } from "@effect/vitest"
import { Environment, StellaNowLive, ValidationError } from "@stellanow/sdk"
import { Effect, References } from "effect"
import * as Messages from "../fixtures/messages.js"
import { mosquittoResource, subscribe } from "../support/Mosquitto.js"
import { buildSdk, message, project, record, send } from "./support.js"

/** A message of about 20 KB: twice what the broker below accepts. */
const large = () => new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: "z".repeat(20_000) })

const sdkLayer = (brokerUrl: string, options: Partial<StellaNowLive.Settings> = {}) =>
  StellaNowLive.layer({ auth: "none", environment: Environment.custom({ brokerUrl }), ...project, ...options })

/** A subscriber to every event topic of the broker, closed with the test's scope. */
const subscriberOf = (url: string) =>
  Effect.acquireRelease(Effect.promise(() => subscribe(url, "in/#")), (s) => Effect.promise(() => s.close()))

/** Sends the large message, which must be refused as too large; gives its error. */
const refusedAsTooLarge = (sendMessage: (m: Messages.UserDetailsUpdateMessage) => Effect.Effect<string, unknown>) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(sendMessage(large()))
    assert.instanceOf(error, ValidationError)
    const refused = error as ValidationError
    assert.strictEqual(refused.reason, "TooLarge")
    assert.strictEqual(refused.event, "user_details_update")
    assert.notInclude(refused.message, "zzzz")
    return refused
  })

describe("a message larger than the broker accepts", () => {
  it.live(
    "max_packet_size 10000: a 20 KB message is refused at sendMessage, the five after it delivered",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource({ maxPacketSize: 10_000 })
        const subscriber = yield* subscriberOf(broker.url("mqtt"))
        const sdk = yield* buildSdk(sdkLayer(broker.url("mqtt")))
        const events = yield* record(sdk)
        yield* sdk.start
        const refused = yield* refusedAsTooLarge(sdk.sendMessage)
        assert.match(refused.message, /is 20,\d{3} bytes as an MQTT PUBLISH packet/)
        assert.include(refused.message, "the broker's Maximum Packet Size of 10,000 bytes")
        // And through sendMessageAndWait alike.
        yield* refusedAsTooLarge(sdk.sendMessageAndWait)
        assert.strictEqual(yield* sdk.queueSize, 0)
        const ids = yield* send(sdk, 0, 5)
        yield* Effect.promise(() => subscriber.waitFor(5, 15_000))
        const arrived = subscriber.messages.map((m) => JSON.parse(m.payload.toString("utf8")).value.metadata.messageId)
        assert.deepStrictEqual(arrived, ids)
        yield* events.drained
        // One connection all along: the broker never had a reason to disconnect.
        assert.strictEqual(events.connections(), 1)
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
    60_000
  )

  it.live(
    "maxMessageBytes: refused before any connection, and after it, the small ones delivered",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource()
        const subscriber = yield* subscriberOf(broker.url("mqtt"))
        const sdk = yield* buildSdk(sdkLayer(broker.url("mqtt"), { maxMessageBytes: 5_000 }))
        const before = yield* refusedAsTooLarge(sdk.sendMessage)
        assert.include(before.message, "the maxMessageBytes option of 5,000 bytes")
        const queued = yield* send(sdk, 0, 2)
        yield* sdk.start
        yield* refusedAsTooLarge(sdk.sendMessage)
        const ids = [...queued, ...(yield* send(sdk, 2, 3))]
        yield* Effect.promise(() => subscriber.waitFor(5, 15_000))
        const arrived = subscriber.messages.map((m) => JSON.parse(m.payload.toString("utf8")).value.metadata.messageId)
        assert.deepStrictEqual(arrived, ids)
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
    60_000
  )

  it.live(
    "the tighter limit names the error: maxMessageBytes below the broker's Maximum Packet Size",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource({ maxPacketSize: 10_000 })
        const sdk = yield* buildSdk(sdkLayer(broker.url("mqtt"), { maxMessageBytes: 8_000 }))
        yield* sdk.start
        const refused = yield* refusedAsTooLarge(sdk.sendMessage)
        assert.include(refused.message, "the maxMessageBytes option of 8,000 bytes")
        yield* sdk.sendMessageAndWait(message(0))
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error")),
    60_000
  )
})
