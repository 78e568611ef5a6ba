/**
 * The two MQTT clients side by side against a real mosquitto's websockets listener: mqtt.js (the MQTT
 * sink, `Sink.layerMqtt`) and the SDK's own WebSocket client for pages (`Sink.layerWebSocket`, over
 * Node's `WebSocket`). Each must deliver in order with every PUBACK (MQTT 5 and 3.1.1), fail a refused
 * CONNECT as `Refused`, dead-letter a message the broker refuses with a PUBACK 0x95 while the others go
 * out, give up as `DuplicateClientId` when another client keeps taking its session over, and come back
 * after the broker restarts. And `Sink.makeWebSocket` refuses a TCP broker, or a platform without a
 * `WebSocket`, with a `ConfigurationError`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Auth, MessageQueue, Sink, StellaNow } from "@stellanow/sdk"
import { Effect, Exit, Layer, Redacted, References, Result, Schedule } from "effect"
import mqtt from "mqtt"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { vi } from "vitest"
import { buildSdk, delivered, project, record, send } from "../faults/support.js"
import * as Messages from "../fixtures/messages.js"
import { durableSubscriber, persistenceConfig } from "../support/DurableSubscriber.js"
import { type Mosquitto, mosquittoResource, subscribe } from "../support/Mosquitto.js"

const fast = { reconnectSchedule: Schedule.spaced("100 millis"), connectTimeout: "5 seconds" } as const

const clients = {
  "mqtt.js": Sink.layerMqtt,
  "the WebSocket client": Sink.layerWebSocket
} as const

type ClientName = keyof typeof clients

/** The SDK over the client's sink, the in-memory queue, and the given auth. */
const sdkOver = (
  client: ClientName,
  brokerUrl: string,
  options: Partial<Sink.WebSocketOptions> = {},
  auth: Layer.Layer<Auth.Auth> = Auth.layerNone
) =>
  buildSdk(
    StellaNow.layer({ project }).pipe(
      Layer.provide(Layer.merge(
        Layer.provide(clients[client]({ ...fast, ...options, brokerUrl }), auth),
        MessageQueue.layerFifo()
      ))
    )
  )

const subscriberOf = (broker: Mosquitto) =>
  Effect.acquireRelease(
    Effect.promise(() => subscribe(broker.url("mqtt"), "in/#")),
    (s) => Effect.promise(() => s.close())
  )

const idsOf = (subscriber: { readonly messages: ReadonlyArray<{ readonly payload: Buffer }> }) =>
  subscriber.messages.map((m) => JSON.parse(m.payload.toString("utf8")).value.metadata.messageId as string)

const quiet = Effect.provideService(References.MinimumLogLevel, process.env.WS_DEBUG ? "Debug" : "None")

describe.each(Object.keys(clients) as Array<ClientName>)("the MQTT sink over %s, ws:// to mosquitto", (client) => {
  it.live("delivers 300 messages in order, each acknowledged", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource({ websockets: true })
      const subscriber = yield* subscriberOf(broker)
      const sdk = yield* sdkOver(client, broker.url("ws"))
      const events = yield* record(sdk)
      yield* sdk.start
      const ids = yield* send(sdk, 0, 300)
      yield* Effect.promise(() => subscriber.waitFor(300, 20_000))
      assert.deepStrictEqual(idsOf(subscriber), ids)
      yield* events.until(() => events.acknowledged() === 300)
      assert.strictEqual(events.connections(), 1)
      yield* sdk.stop()
    }).pipe(Effect.scoped, quiet))

  it.live("speaks MQTT 3.1.1 too (protocolVersion 4), for brokers without MQTT 5", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource({ websockets: true })
      const subscriber = yield* subscriberOf(broker)
      const sdk = yield* sdkOver(client, broker.url("ws"), { protocolVersion: 4 })
      const events = yield* record(sdk)
      yield* sdk.start
      const ids = yield* send(sdk, 0, 50)
      yield* Effect.promise(() => subscriber.waitFor(50, 15_000))
      assert.deepStrictEqual(idsOf(subscriber), ids)
      yield* events.until(() => events.acknowledged() === 50)
      yield* sdk.stop()
    }).pipe(Effect.scoped, quiet))

  it.live("a refused CONNECT (wrong password) fails start as Refused, naming no secret, keeping the queue", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource({ websockets: true, users: { device: "right" } })
      const wrong = Auth.layerBasic({ username: "device", password: Redacted.make("wrong-secret") })
      const sdk = yield* sdkOver(client, broker.url("ws"), { maxAuthFailures: 2 }, wrong)
      yield* send(sdk, 0, 2)
      const result = yield* Effect.result(sdk.start)
      assert.isTrue(Result.isFailure(result))
      const error = Result.isFailure(result) ? result.failure : undefined
      assert.strictEqual(error?._tag, "ConnectionError")
      assert.strictEqual((error as { reason?: string }).reason, "Refused")
      assert.include(error!.message, "reason code 0x87 (Not authorized)")
      assert.notInclude(error!.message, "wrong-secret")
      assert.strictEqual(yield* sdk.queueSize, 2)
    }).pipe(Effect.scoped, quiet))

  it.live("a PUBACK 0x95 (message_size_limit) dead-letters the big message; the small ones go out", () =>
    Effect.gen(function*() {
      // A queue limit: with none (`max_queued_messages 0`, the test broker's default), mosquitto 2.0.11
      // answers every PUBLISH after a dropped one with a DISCONNECT 0x82 (Protocol Error).
      const broker = yield* mosquittoResource({
        websockets: true,
        extraConfig: "message_size_limit 10000\nmax_queued_messages 1000"
      })
      const subscriber = yield* subscriberOf(broker)
      const sdk = yield* sdkOver(client, broker.url("ws"))
      const events = yield* record(sdk)
      yield* sdk.start
      const big = new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: "z".repeat(20_000) })
      const bigId = yield* sdk.sendMessage(big)
      const ids = yield* send(sdk, 0, 5)
      yield* events.until(() => events.deadLettered.length === 1)
      assert.strictEqual(events.deadLettered[0]!.messageId, bigId)
      yield* Effect.promise(() => subscriber.waitFor(5, 15_000))
      yield* events.drained
      if (client === "the WebSocket client") {
        // It reads a PUBACK 0x95 as the refusal it is: one connection, each small message once.
        assert.deepStrictEqual(idsOf(subscriber), ids)
        assert.strictEqual(events.connections(), 1)
      } else {
        // mqtt.js cannot read it and the connection is ended: the small messages in flight then are
        // sent again (at least once).
        assert.deepStrictEqual([...new Set(idsOf(subscriber))].sort(), [...ids].sort())
      }
      yield* sdk.stop()
    }).pipe(Effect.scoped, quiet))

  it.live("another client taking the client id over again and again: the sink gives up as DuplicateClientId", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource({ websockets: true })
      const clientId = `StellaNowSDKTypeScript_takeover_${client.length}`
      const sdk = yield* sdkOver(client, broker.url("ws"), { clientId, maxTakeovers: 2 })
      const events = yield* record(sdk)
      yield* sdk.start
      // mosquitto closes a taken-over connection without a DISCONNECT: only its timing tells.
      const intruder = yield* Effect.acquireRelease(
        Effect.promise(() =>
          mqtt.connectAsync(broker.url("mqtt"), { clientId, protocolVersion: 5, reconnectPeriod: 50 })
        ),
        (intruder) => Effect.promise(() => intruder.endAsync(true))
      )
      yield* events.until(() => events.states.some((state) => state._tag === "Failed"))
      const failed = events.states.find((state) => state._tag === "Failed")
      assert.strictEqual(failed?._tag === "Failed" ? failed.error.reason : undefined, "DuplicateClientId")
      assert.isTrue(intruder.connected || intruder.reconnecting)
    }).pipe(Effect.scoped, quiet))

  it.live("comes back after the broker restarts, and delivers what was sent meanwhile", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "stellanow-ws-"))),
        (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
      )
      const broker = yield* mosquittoResource({ websockets: true, extraConfig: persistenceConfig(dir) })
      // A persistent session: what the SDK sends as soon as the broker is back is kept for it.
      const subscriber = yield* Effect.acquireRelease(
        Effect.promise(() => durableSubscriber(broker.url("mqtt"))),
        (subscriber) => Effect.promise(() => subscriber.close())
      )
      const sdk = yield* sdkOver(client, broker.url("ws"))
      const events = yield* record(sdk)
      yield* sdk.start
      yield* Effect.promise(() => broker.stop())
      yield* events.until(() => events.states.some((state) => state._tag === "Disconnected"))
      const ids = yield* send(sdk, 0, 20)
      yield* Effect.promise(() => broker.start())
      yield* events.until(() => events.connections() === 2)
      yield* delivered(subscriber, ids)
      yield* events.drained
      yield* sdk.stop()
    }).pipe(Effect.scoped, quiet))
})

describe("Sink.makeWebSocket refuses what it cannot connect to", () => {
  const made = (brokerUrl: string) =>
    Effect.exit(Effect.provide(Sink.makeWebSocket({ brokerUrl }), Auth.layerNone)).pipe(
      Effect.map((exit) => (Exit.isFailure(exit) ? String(exit.cause) : "made"))
    )

  it.effect("a TCP broker: a ConfigurationError naming the URL", () =>
    Effect.gen(function*() {
      const failure = yield* made("mqtt://broker.test:1883")
      assert.include(failure, "ConfigurationError")
      assert.include(failure, "the WebSocket sink takes a ws:// or wss:// broker, not mqtt://broker.test:1883")
      assert.strictEqual(yield* made("ws://broker.test:8080/mqtt"), "made")
    }))

  it.effect("a platform without WebSocket: a ConfigurationError saying to use layerMqtt", () =>
    Effect.gen(function*() {
      vi.stubGlobal("WebSocket", undefined)
      const failure = yield* made("ws://broker.test:8080/mqtt").pipe(
        Effect.ensuring(Effect.sync(() => vi.unstubAllGlobals()))
      )
      assert.include(failure, "this platform has no WebSocket: use layerMqtt")
    }))
})
