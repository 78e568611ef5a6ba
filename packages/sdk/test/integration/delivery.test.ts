/**
 * The SDK against a real mosquitto: every transport, basic auth accepted and refused, the exact bytes
 * of the wire vectors, and delivery across broker restarts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Envelope, Environment, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Effect, Result, Schedule } from "effect"
import * as Messages from "../fixtures/messages.js"
import { readVector } from "../fixtures/vectors.js"
import { durableSubscriber, persistenceConfig } from "../support/DurableSubscriber.js"
import { mosquittoResource, subscribe, type UrlKind } from "../support/Mosquitto.js"

const envelopes = readVector("envelopes.json")
const project = { organizationId: envelopes.organizationId, projectId: envelopes.projectId }
const fast = { reconnectSchedule: Schedule.spaced("100 millis"), connectTimeout: "5 seconds", ...project } as const

const vectorMessages = () => [
  new Messages.UserDetailsUpdateMessage({
    patron: "12345",
    user_id: "user_0",
    phone_number: new Messages.PhoneNumberModel({ country_code: 44, number: 753594 }),
    messageOriginDateUTC: "2025-04-25T12:34:56.789012Z"
  }),
  new Messages.StoreReceiptMessage({
    patron: "p-9",
    local_shop: "shop-1",
    transaction_id: "tx-001",
    messageOriginDateUTC: "2025-04-25T12:34:56.7Z"
  })
]

describe("delivery to mosquitto", () => {
  it.live(
    "delivers the vectors' exact bytes over mqtt, mqtts, ws and wss with basic auth",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource({ tls: true, websockets: true, users: { device: "pa55-w0rd" } })
        const auth = { ca: broker.ca!, username: "device", password: "pa55-w0rd" }
        const subscriber = yield* Effect.acquireRelease(
          Effect.promise(() => subscribe(broker.url("mqtt"), "in/#", auth)),
          (s) => Effect.promise(() => s.close())
        )
        const kinds: ReadonlyArray<UrlKind> = ["mqtt", "mqtts", "ws", "wss"]
        for (const kind of kinds) {
          const before = subscriber.messages.length
          yield* Effect.gen(function*() {
            yield* StellaNow.start
            for (const message of vectorMessages()) yield* StellaNow.sendMessage(message)
            yield* Effect.promise(() => subscriber.waitFor(before + 2, 10_000))
            yield* StellaNow.stop()
          }).pipe(
            Effect.provide(StellaNowLive.layer({
              ...fast,
              auth: "basic",
              environment: Environment.custom({ brokerUrl: broker.url(kind) }),
              mqttUsername: "device",
              mqttPassword: "pa55-w0rd",
              tls: { ca: broker.ca! }
            }))
          )
          const received = subscriber.messages.slice(before)
          assert.strictEqual(received.length, 2, `over ${kind}`)
          for (const [i, message] of received.entries()) {
            assert.strictEqual(message.topic, envelopes.topic)
            assert.strictEqual(message.qos, 1)
            const body = message.payload.toString("utf8")
            const messageId = JSON.parse(body).value.metadata.messageId
            assert.match(messageId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
            // The same bytes as the vector, but for the message id, which is random.
            const expected = envelopes.cases[i].body.replace(envelopes.cases[i].messageId, messageId)
            assert.deepStrictEqual(message.payload, Buffer.from(expected, "utf8"), `over ${kind}`)
          }
        }
      }),
    60_000
  )

  it.live("refused credentials fail start with a clear error and keep the queue", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource({ users: { device: "right" } })
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        for (const message of vectorMessages()) yield* sdk.sendMessage(message)
        const result = yield* Effect.result(sdk.start)
        assert.isTrue(Result.isFailure(result))
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure._tag, "ConnectionError")
          assert.strictEqual((result.failure as any).reason, "Refused")
          assert.include(result.failure.message, "refused")
          assert.notInclude(result.failure.message, "wrong-secret")
        }
        assert.strictEqual(yield* sdk.queueSize, 2)
        assert.strictEqual((yield* sdk.connectionState)._tag, "Failed")
      }).pipe(
        Effect.provide(StellaNowLive.layer({
          ...fast,
          auth: "basic",
          environment: Environment.custom({ brokerUrl: broker.url("mqtt") }),
          mqttUsername: "device",
          mqttPassword: "wrong-secret",
          maxAuthFailures: 2
        }))
      )
    }))

  it.live(
    "10,000 messages survive two broker restarts: none lost, duplicates reported",
    () =>
      Effect.gen(function*() {
        const dir = yield* Effect.promise(() =>
          import("node:fs/promises").then((fs) => fs.mkdtemp("/tmp/stellanow-p-"))
        )
        const broker = yield* mosquittoResource({ extraConfig: persistenceConfig(dir) })
        const subscriber = yield* Effect.acquireRelease(
          Effect.promise(() => durableSubscriber(broker.url("mqtt"))),
          (s) => Effect.promise(() => s.close())
        )
        const ids = yield* Effect.gen(function*() {
          const sdk = yield* StellaNow.StellaNow
          yield* sdk.start
          const ids: Array<string> = []
          const send = (n: number) =>
            Effect.gen(function*() {
              for (let i = 0; i < n; i++) {
                ids.push(
                  yield* sdk.sendMessage(
                    new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: `u${ids.length}` })
                  )
                )
              }
            })
          for (let restart = 0; restart < 2; restart++) {
            yield* send(2_500)
            // Stop the broker while messages are in flight; queue more while it is down.
            yield* Effect.promise(() => subscriber.waitForAll(ids.slice(0, ids.length - 2_000), 30_000))
            yield* Effect.promise(() => broker.stop())
            yield* send(2_500)
            yield* Effect.promise(() => broker.start())
          }
          yield* Effect.promise(() => subscriber.waitForAll(ids, 60_000))
          return ids
        }).pipe(
          Effect.provide(StellaNowLive.layer({
            ...fast,
            auth: "none",
            environment: Environment.custom({ brokerUrl: broker.url("mqtt") })
          }))
        )
        assert.strictEqual(ids.length, 10_000)
        const lost = ids.filter((id) => !subscriber.counts.has(id)).length
        console.log(`restart test: ${ids.length} sent, ${lost} lost, ${subscriber.duplicates()} duplicate deliveries`)
        assert.strictEqual(lost, 0)
      }),
    120_000
  )
})

void Envelope
