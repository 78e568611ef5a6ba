/**
 * What the fault suite shares: a broker behind a fault-injecting proxy with a durable subscriber that
 * counts message ids, the SDK built in the test's scope with short keepalive and fast reconnects, a
 * recorder of the SDK's events to wait on, and a capture of the SDK's warnings.
 */
import { Environment, type Sink, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Context, type Duration, Effect, Latch, Layer, Logger, Schedule, type Scope, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as Messages from "../fixtures/messages.js"
import { type DurableSubscriber, durableSubscriber, persistenceConfig } from "../support/DurableSubscriber.js"
import { type Mosquitto, mosquittoResource } from "../support/Mosquitto.js"
import { startTcpProxy, type TcpProxy } from "../support/TcpProxy.js"

export const project = {
  organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
} as const

export const message = (i: number) => new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })

/**
 * The SDK for the fault cases: keepalive 1 s, connect timeout 2 s, a reconnect every 100 ms. Cuts right
 * after connecting look like a duplicate client id taking the session over, so that guard is set high.
 */
export const faultLayer = (brokerUrl: string, options: Partial<StellaNowLive.Settings> = {}) =>
  StellaNowLive.layer({
    auth: "none",
    environment: Environment.custom({ brokerUrl }),
    keepAlive: "1 second",
    connectTimeout: "2 seconds",
    reconnectSchedule: Schedule.spaced("100 millis"),
    maxTakeovers: 100,
    startTimeout: "30 seconds",
    ...project,
    ...options
  })

/** Builds the SDK in the test's scope: closing the scope stops it. */
export const buildSdk = (layer: Layer.Layer<StellaNow.StellaNow, unknown>) =>
  Effect.map(Layer.build(layer), Context.get(StellaNow.StellaNow)).pipe(Effect.orDie)

export interface Network {
  readonly broker: Mosquitto
  readonly proxy: TcpProxy
  readonly subscriber: DurableSubscriber
}

/**
 * A mosquitto (with persistence, so a restart keeps the subscriber's session and queued messages), a
 * proxy in front of it for the SDK, and a durable subscriber connected to the broker directly.
 */
export const network: Effect.Effect<Network, never, Scope.Scope> = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "stellanow-faults-"))),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )
  const broker = yield* mosquittoResource({ extraConfig: persistenceConfig(dir) })
  const proxy = yield* Effect.acquireRelease(
    Effect.promise(() => startTcpProxy({ host: "127.0.0.1", port: broker.tcpPort })),
    (proxy) => Effect.promise(() => proxy.close())
  )
  const subscriber = yield* Effect.acquireRelease(
    Effect.promise(() => durableSubscriber(broker.url("mqtt"))),
    (subscriber) => Effect.promise(() => subscriber.close())
  )
  return { broker, proxy, subscriber }
})

/** Sends `count` messages numbered from `from`, returning their message ids. */
export const send = (sdk: StellaNow.Service, from: number, count: number) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    for (let i = from; i < from + count; i++) ids.push(yield* sdk.sendMessage(message(i)))
    return ids
  })

/** Waits until the subscriber received every id. */
export const delivered = (subscriber: DurableSubscriber, ids: ReadonlyArray<string>, timeoutMs = 30_000) =>
  Effect.promise(() => subscriber.waitForAll(ids, timeoutMs))

/** Ids the subscriber never received: what was lost. */
export const lost = (subscriber: DurableSubscriber, ids: ReadonlyArray<string>) =>
  ids.filter((id) => !subscriber.counts.has(id)).length

/** What the SDK reported so far, and a way to wait until it reports something. */
export interface Recorder {
  readonly states: ReadonlyArray<Sink.ConnectionState>
  readonly acknowledged: () => number
  readonly dropped: ReadonlyArray<string>
  /** The `DeadLettered` events: message id and reason. */
  readonly deadLettered: ReadonlyArray<{ readonly messageId: string; readonly reason: string }>
  /** Connections made so far. */
  readonly connections: () => number
  /** Waits until `condition` holds, checking it again after every event (bounded by `timeout`). */
  readonly until: (
    condition: () => boolean | Effect.Effect<boolean>,
    timeout?: Duration.Input
  ) => Effect.Effect<void>
  /** Waits until the SDK's queue is empty: every message acknowledged. */
  readonly drained: Effect.Effect<void>
}

/** Records the SDK's events from now on. */
export const record = (sdk: StellaNow.Service): Effect.Effect<Recorder, never, Scope.Scope> =>
  Effect.gen(function*() {
    const states: Array<Sink.ConnectionState> = []
    const dropped: Array<string> = []
    const deadLettered: Array<{ readonly messageId: string; readonly reason: string }> = []
    let acknowledged = 0
    const changed = yield* Latch.make(false)
    yield* (yield* sdk.subscribe).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          if (event._tag === "ConnectionChanged") states.push(event.state)
          else if (event._tag === "Acknowledged") acknowledged++
          else if (event._tag === "DeadLettered") deadLettered.push(event)
          else dropped.push(event.messageId)
          changed.openUnsafe()
        })
      ),
      Effect.forkScoped
    )
    const until = (condition: () => boolean | Effect.Effect<boolean>, timeout: Duration.Input = "30 seconds") =>
      Effect.gen(function*() {
        while (true) {
          // Closed before the check: an event during the check opens it again.
          changed.closeUnsafe()
          const result = condition()
          if (typeof result === "boolean" ? result : yield* result) return
          yield* changed.await
        }
      }).pipe(Effect.timeout(timeout), Effect.orDie)
    return {
      states,
      dropped,
      deadLettered,
      acknowledged: () => acknowledged,
      connections: () => states.filter((state) => state._tag === "Connected").length,
      until,
      drained: until(() => Effect.map(Effect.orDie(sdk.queueSize), (size) => size === 0))
    }
  })

/** Runs `body` with every warning and error the SDK logs meanwhile (in any fiber it starts) collected. */
export const withWarnings = <A, E, R>(body: (warnings: ReadonlyArray<string>) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn" || logLevel === "Error") {
        warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      }
    })
    return Effect.provide(body(warnings), Logger.layer([capture], { mergeWithExisting: true }))
  })
