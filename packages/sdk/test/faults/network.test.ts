/**
 * Network faults between the SDK and mosquitto, through a proxy the test controls: connections cut,
 * stalled silently (half-open), delayed, the CONNACK dropped, new connections refused, the broker
 * stopped. In every case the SDK notices, reconnects and delivers everything: a durable subscriber
 * counts 0 lost (duplicates are allowed, QoS 1 is at least once, and reported).
 */
import { assert, describe, it } from "@effect/vitest"
import type { Sink } from "@stellanow/sdk"
import { Effect, Fiber } from "effect"
import { buildSdk, delivered, faultLayer, lost, network, record, type Recorder, send, withWarnings } from "./support.js"

/** Logs what a case cost in duplicates, once the SDK has every message acknowledged. */
const report = (fault: string, ids: ReadonlyArray<string>, subscriber: { duplicates(): number }, events: Recorder) =>
  Effect.andThen(
    events.drained,
    Effect.sync(() =>
      console.log(
        `[faults] ${fault}: ${ids.length} sent, 0 lost, ${subscriber.duplicates()} duplicate deliveries, ` +
          `${events.connections() - 1} reconnects`
      )
    )
  )

const isDisconnected = (state: Sink.ConnectionState) => state._tag === "Disconnected"

describe("network faults", () => {
  it.live(
    "cut every connection three times during a burst of 6,000: nothing lost",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const { proxy, subscriber } = yield* network
          const sdk = yield* buildSdk(faultLayer(proxy.url(), { maxInFlight: 200 }))
          const events = yield* record(sdk)
          yield* sdk.start
          const ids: Array<string> = []
          for (let burst = 0; burst < 3; burst++) {
            const acknowledged = events.acknowledged()
            const connections = events.connections()
            ids.push(...(yield* send(sdk, ids.length, 2_000)))
            // Cut once the burst is flowing: some of it acknowledged, the rest in flight or queued.
            yield* events.until(() => events.acknowledged() > acknowledged)
            proxy.cutAll()
            yield* events.until(() => events.connections() > connections)
          }
          yield* delivered(subscriber, ids)
          assert.strictEqual(lost(subscriber, ids), 0)
          yield* report("cut x3 during a burst", ids, subscriber, events)
          // A cut connection is a lost connection, not a broker refusing messages.
          assert.deepStrictEqual(warnings.filter((line) => line.includes("refused")), [])
        })
      ),
    60_000
  )

  it.live(
    "a half-open connection (no FIN, no data) is noticed by keepalive and replaced",
    () =>
      withWarnings((warnings) =>
        Effect.gen(function*() {
          const { proxy, subscriber } = yield* network
          const sdk = yield* buildSdk(faultLayer(proxy.url()))
          const events = yield* record(sdk)
          yield* sdk.start
          const ids = yield* send(sdk, 0, 200)
          yield* delivered(subscriber, ids)
          const before = events.states.length
          proxy.stall(true)
          ids.push(...(yield* send(sdk, 200, 300)))
          // Keepalive 1 s: the silent connection is declared dead after about 1.5 s, with no help from TCP.
          yield* events.until(() => events.states.slice(before).some(isDisconnected), "10 seconds")
          const dead = events.states.slice(before).find(isDisconnected)
          assert.include(dead?._tag === "Disconnected" ? dead.error.message : "", "Keepalive timeout")
          assert.strictEqual(dead?._tag === "Disconnected" ? dead.error.reason : undefined, "Timeout")
          proxy.stall(false)
          yield* delivered(subscriber, ids)
          assert.strictEqual(lost(subscriber, ids), 0)
          yield* report("half-open stall", ids, subscriber, events)
          // mqtt.js fails the publishes in flight on the dead connection with "Connection closed": a lost
          // connection, retried at once, not the broker refusing them.
          assert.deepStrictEqual(warnings.filter((line) => line.includes("refused")), [])
        })
      ),
    60_000
  )

  it.live("200 ms of delay each way: everything is still delivered", () =>
    Effect.gen(function*() {
      const { proxy, subscriber } = yield* network
      proxy.setDelay(200)
      const sdk = yield* buildSdk(faultLayer(proxy.url()))
      const events = yield* record(sdk)
      yield* sdk.start
      const ids = yield* send(sdk, 0, 1_000)
      yield* delivered(subscriber, ids)
      assert.strictEqual(lost(subscriber, ids), 0)
      yield* report("200 ms delay each way", ids, subscriber, events)
    }), 60_000)

  it.live("a dropped CONNACK: the attempt times out and the next one connects", () =>
    Effect.gen(function*() {
      const { proxy, subscriber } = yield* network
      proxy.dropFirstServerPacket(true)
      const sdk = yield* buildSdk(faultLayer(proxy.url()))
      const events = yield* record(sdk)
      const ids = yield* send(sdk, 0, 100)
      const starting = yield* Effect.forkChild(sdk.start)
      yield* events.until(() => events.states.some(isDisconnected), "10 seconds")
      const failed = events.states.find(isDisconnected)
      assert.strictEqual(failed?._tag === "Disconnected" ? failed.error.reason : undefined, "Timeout")
      assert.strictEqual(events.connections(), 0)
      proxy.dropFirstServerPacket(false)
      yield* Fiber.join(starting)
      ids.push(...(yield* send(sdk, 100, 100)))
      yield* delivered(subscriber, ids)
      assert.strictEqual(lost(subscriber, ids), 0)
      yield* report("dropped CONNACK", ids, subscriber, events)
    }), 60_000)

  it.live(
    "connections refused for a while (accepted and closed at once), then accepted again",
    () =>
      Effect.gen(function*() {
        const { proxy, subscriber } = yield* network
        const sdk = yield* buildSdk(faultLayer(proxy.url()))
        const events = yield* record(sdk)
        yield* sdk.start
        const ids = yield* send(sdk, 0, 500)
        yield* events.until(() => events.acknowledged() > 0)
        proxy.refuseNew(true)
        proxy.cutAll()
        const accepted = proxy.accepted()
        ids.push(...(yield* send(sdk, 500, 500)))
        // Several attempts refused in a row: the SDK keeps trying, and does not mistake them for a
        // duplicate client id or refused credentials.
        yield* events.until(() => proxy.accepted() >= accepted + 5)
        assert.strictEqual((yield* sdk.connectionState)._tag === "Failed", false)
        proxy.refuseNew(false)
        yield* delivered(subscriber, ids)
        assert.strictEqual(lost(subscriber, ids), 0)
        yield* report("connections refused for a while", ids, subscriber, events)
      }),
    60_000
  )

  it.live(
    "the broker stopped for a while, then back: what was queued meanwhile goes out",
    () =>
      Effect.gen(function*() {
        const { broker, subscriber } = yield* network
        const sdk = yield* buildSdk(faultLayer(broker.url("mqtt")))
        const events = yield* record(sdk)
        yield* sdk.start
        const ids = yield* send(sdk, 0, 1_000)
        yield* events.until(() => events.acknowledged() >= 100)
        const before = events.states.length
        yield* Effect.promise(() => broker.stop())
        ids.push(...(yield* send(sdk, 1_000, 1_000)))
        // Refused (nothing listens) attempt after attempt while it is down.
        yield* events.until(() => events.states.slice(before).filter(isDisconnected).length >= 5)
        assert.isAbove(yield* sdk.queueSize, 1_000 - 1)
        yield* Effect.promise(() => broker.start())
        yield* delivered(subscriber, ids)
        assert.strictEqual(lost(subscriber, ids), 0)
        yield* report("broker stopped, then back", ids, subscriber, events)
      }),
    60_000
  )

  it.live(
    "stop while start still waits for a broker that is down: both end at once, the queue is kept",
    () =>
      Effect.gen(function*() {
        const { broker } = yield* network
        yield* Effect.promise(() => broker.stop())
        const sdk = yield* buildSdk(faultLayer(broker.url("mqtt"), { startTimeout: "60 seconds" }))
        const events = yield* record(sdk)
        yield* send(sdk, 0, 10)
        const starting = yield* Effect.forkChild(sdk.start)
        yield* events.until(() => events.states.some(isDisconnected))
        // Without waiting for `startTimeout`: shutting down must not hang on a broker that is away.
        const stopped = yield* sdk.stop().pipe(Effect.timeout("10 seconds"))
        assert.strictEqual(stopped.remaining, 10)
        const started = yield* Fiber.join(starting).pipe(Effect.flip, Effect.timeout("10 seconds"))
        assert.strictEqual(started._tag, "LifecycleError")
        assert.strictEqual(started._tag === "LifecycleError" ? started.reason : undefined, "Closed")
        assert.include(started.message, "10 message(s) stay queued")
        assert.strictEqual(yield* sdk.queueSize, 10)
      }),
    60_000
  )
})
