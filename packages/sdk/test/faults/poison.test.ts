/**
 * One message the broker refuses never stops the rest. Against a real mosquitto, one ~20 KB message
 * then five small ones: the broker refuses the big one — with a PUBACK 0x95 (`message_size_limit`), by
 * disconnecting with 0x95 (`max_packet_size`), with a PUBACK 0x87 (a content-aware policy, played by a
 * proxy), or by never acknowledging it while it acknowledges the rest. Each time the small ones are
 * delivered, the big one is dead-lettered exactly once (one event, one letter in the store), nothing else
 * is lost, and the queue is empty.
 */
import { assert, describe, it } from "@effect/vitest"
import { DeadLetters, Metrics, QueueError } from "@stellanow/sdk"
import { Effect, Fiber, Layer, Metric } from "effect"
import * as Messages from "../fixtures/messages.js"
import { durableSubscriber } from "../support/DurableSubscriber.js"
import { type Mosquitto, mosquittoResource } from "../support/Mosquitto.js"
import { type PubackPolicy, startPubackProxy } from "../support/PubackProxy.js"
import { buildSdk, delivered, faultLayer, lost, record, send } from "./support.js"

const bigMessage = () => new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: "x".repeat(20_000) })

/** The broker's address for the SDK: the broker itself, or a proxy playing a PUBACK policy before it. */
type Route = (broker: Mosquitto) => Effect.Effect<string, never, import("effect").Scope.Scope>

const direct: Route = (broker) => Effect.succeed(broker.url("mqtt"))

const through = (policy: PubackPolicy): Route => (broker) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(() => startPubackProxy({ host: "127.0.0.1", port: broker.tcpPort }, policy)),
      (proxy) => Effect.promise(() => proxy.close())
    ),
    (proxy) => proxy.url()
  )

const poisoned = (options: {
  readonly extraConfig?: string
  readonly route: Route
  /** Whether the broker accepted the big message (the subscriber may see it) and only its PUBACK differs. */
  readonly brokerTakesIt: boolean
  readonly reason: RegExp
  /**
   * Queue the big message before the first connection: once connected, a broker that announces its
   * Maximum Packet Size gets a too-large message refused at `sendMessage` (`TooLarge`), so only one
   * queued before then (or left in a persistent queue) reaches the broker.
   */
  readonly queuedBeforeStart?: boolean
  /** The dead-letter metric's `reason`. */
  readonly metricReason: string
}) =>
  Effect.gen(function*() {
    const broker = yield* mosquittoResource(
      options.extraConfig === undefined ? {} : { extraConfig: options.extraConfig }
    )
    const subscriber = yield* Effect.acquireRelease(
      Effect.promise(() => durableSubscriber(broker.url("mqtt"))),
      (subscriber) => Effect.promise(() => subscriber.close())
    )
    const url = yield* options.route(broker)
    const store = yield* DeadLetters.makeMemory()
    const sdk = yield* buildSdk(
      faultLayer(url, {
        maxAttempts: 3,
        publishTimeout: "1 second",
        deadLetters: Layer.succeed(DeadLetters.DeadLetters, store)
      })
    )
    const events = yield* record(sdk)
    if (options.queuedBeforeStart !== true) yield* sdk.start
    // Sent and waited on: started at once, so the big one is queued first.
    const waiting = yield* Effect.forkChild(Effect.flip(sdk.sendMessageAndWait(bigMessage())), {
      startImmediately: true
    })
    assert.strictEqual(yield* sdk.queueSize, 1)
    if (options.queuedBeforeStart === true) yield* sdk.start
    const small = yield* send(sdk, 1, 5)
    yield* delivered(subscriber, small)
    yield* events.until(() => events.deadLettered.length > 0)
    yield* events.drained
    const { remaining } = yield* sdk.stop({ drainTimeout: "2 seconds" })
    const big = events.deadLettered[0]!.messageId
    const failure = yield* Fiber.join(waiting)
    assert.instanceOf(failure, QueueError)
    assert.strictEqual(failure.reason, "DeadLettered")
    assert.strictEqual(failure.messageId, big)

    assert.strictEqual(remaining, 0)
    assert.strictEqual(lost(subscriber, small), 0)
    assert.strictEqual(events.deadLettered.length, 1)
    assert.match(events.deadLettered[0]!.reason, options.reason)
    const letters = yield* store.list
    assert.deepStrictEqual(letters.map((letter) => letter.envelope.messageId), [big])
    if (!options.brokerTakesIt) assert.isFalse(subscriber.counts.has(big))
    const counted = Metric.withAttributes(Metrics.messagesDeadLettered, {
      client_id: sdk.clientId,
      reason: options.metricReason
    })
    assert.strictEqual((yield* Metric.value(counted)).count, 1)
  })

describe("a message the broker refuses", () => {
  it.live(
    "PUBACK 0x95 (message_size_limit): the small ones go out, the big one is dead-lettered once",
    () =>
      poisoned({
        extraConfig: "message_size_limit 10000",
        route: direct,
        brokerTakesIt: false,
        reason: /0x95 \(Packet too large\)/,
        metricReason: "0x95"
      }),
    60_000
  )

  it.live(
    "DISCONNECT 0x95 (max_packet_size): the small ones go out, the big one is dead-lettered once",
    () =>
      poisoned({
        extraConfig: "max_packet_size 10000",
        queuedBeforeStart: true,
        route: direct,
        brokerTakesIt: false,
        reason: /0x95 \(Packet too large\)/,
        metricReason: "0x95"
      }),
    60_000
  )

  it.live(
    "PUBACK 0x87 (not authorized): the small ones go out, the big one is dead-lettered once",
    () =>
      poisoned({
        route: through({ largerThan: 10_000, code: 0x87 }),
        brokerTakesIt: true,
        reason: /0x87 \(Not authorized\)/,
        metricReason: "0x87"
      }),
    60_000
  )

  it.live(
    "no PUBACK for it while the broker answers later packets: it times out, counted, and is dead-lettered once",
    () =>
      poisoned({
        route: through({ largerThan: 10_000, code: "drop" }),
        brokerTakesIt: true,
        reason: /no PUBACK within 1s/,
        metricReason: "timeout"
      }),
    60_000
  )
})
