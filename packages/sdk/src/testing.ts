/**
 * Test doubles for users' unit tests: an in-memory sink that records what it "publishes" and can be
 * told to go down, refuse, or be slow; and the SDK built on it.
 *
 * ```ts
 * const TestSdk = Testing.layer({ project })
 * it.effect("sends", () => Effect.gen(function*() {
 *   const sink = yield* Testing.MemorySink
 *   yield* StellaNow.start
 *   yield* StellaNow.sendMessage(message)
 *   ...
 * }).pipe(Effect.provide(TestSdk)))
 * ```
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { Envelope, ProjectInfo } from "./Envelope.js"
import * as MessageQueue from "./MessageQueue.js"
import { ConnectionState, make as makeSink, type Service as SinkService, Sink } from "./Sink.js"
import * as StellaNow from "./StellaNow.js"
import { type ConfigurationError, ConnectionError, PublishError } from "./StellaNowError.js"

/**
 * How the in-memory broker behaves.
 * - `"up"`: accepts connections and acknowledges every publish;
 * - `"down"`: unreachable; publishes fail and are retried after it comes back;
 * - `"refuse"`: refuses the credentials; the sink gives up (a fatal error).
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = "up" | "down" | "refuse"

/**
 * The controls of the in-memory sink.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemorySinkControl {
  /** Every envelope acknowledged, in order of acknowledgement (a retried one appears again). */
  readonly published: Effect.Effect<ReadonlyArray<Envelope>>
  /** Sets how the broker behaves from now on. */
  readonly setMode: (mode: Mode) => Effect.Effect<void>
  /** Delays each acknowledgement (measured by Effect's `Clock`, so `TestClock` drives it). */
  readonly setDelay: (delay: Duration.Input) => Effect.Effect<void>
}

/**
 * The in-memory sink's controls, as a service.
 *
 * @since 0.1.0
 * @category services
 */
export class MemorySink extends Context.Service<MemorySink, MemorySinkControl>()("@stellanow/sdk/testing/MemorySink") {}

/**
 * Makes the in-memory sink and its controls.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemorySink = (options: { readonly mode?: Mode | undefined } = {}): Effect.Effect<
  readonly [SinkService, MemorySinkControl]
> =>
  Effect.gen(function*() {
    const mode = yield* SubscriptionRef.make<Mode>(options.mode ?? "up")
    const delay = yield* Ref.make<Duration.Duration>(Duration.zero)
    const published: Array<Envelope> = []
    const state = yield* SubscriptionRef.make<ConnectionState>(ConnectionState.Idle())
    const ready = yield* Latch.make(false)
    const destination = "memory://test"
    // Kept in step with `setMode` at once, so a test's next step sees the new mode.
    let running = false
    let connected = false
    const sync = (mode: Mode) => {
      connected = running && mode === "up"
      if (connected) ready.openUnsafe()
      else ready.closeUnsafe()
    }

    const run = Effect.gen(function*() {
      while (true) {
        const current = yield* SubscriptionRef.get(mode)
        if (current === "refuse") {
          const error = new ConnectionError({ reason: "Refused", detail: `${destination} refused the credentials` })
          yield* SubscriptionRef.set(state, ConnectionState.Failed({ error }))
          return yield* error
        }
        running = true
        sync(current)
        if (connected) {
          yield* SubscriptionRef.set(state, ConnectionState.Connected({ since: yield* Clock.currentTimeMillis }))
        } else {
          const error = new ConnectionError({ reason: "Unreachable", detail: `${destination} is down` })
          yield* SubscriptionRef.set(state, ConnectionState.Disconnected({ error }))
        }
        yield* SubscriptionRef.changes(mode).pipe(
          Stream.filter((next) => next !== current),
          Stream.take(1),
          Stream.runDrain
        )
      }
    }).pipe(
      Effect.ensuring(Effect.suspend(() => {
        running = false
        sync("down")
        return SubscriptionRef.update(state, (s) => s._tag === "Failed" ? s : ConnectionState.Idle())
      }))
    ) as Effect.Effect<never, ConnectionError>

    const publish = (envelope: Envelope) =>
      Effect.gen(function*() {
        const lost = (reason: "NotConnected" | "ConnectionLost") =>
          new PublishError({ reason, messageId: envelope.messageId, detail: `${destination} is not connected` })
        if (!connected) return yield* lost("NotConnected")
        const wait = yield* Ref.get(delay)
        if (Duration.isGreaterThan(wait, Duration.zero)) yield* Effect.sleep(wait)
        if (!connected) return yield* lost("ConnectionLost")
        published.push(envelope)
      })

    // Only an Effect `publish`: the drain reaches it through the adapter `Sink.make` builds.
    const sink = makeSink({ clientId: "memory-sink", destination, state, run, awaitReady: ready.await, publish })
    const control: MemorySinkControl = {
      published: Effect.sync(() => [...published]),
      setMode: (next) => Effect.andThen(Effect.sync(() => sync(next)), SubscriptionRef.set(mode, next)),
      setDelay: (next) => Ref.set(delay, Duration.fromInputUnsafe(next))
    }
    return [sink, control] as const
  })

/**
 * The in-memory sink as the `Sink`, with its controls as `MemorySink`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemorySink = (options?: { readonly mode?: Mode | undefined }): Layer.Layer<Sink | MemorySink> =>
  Layer.effectContext(
    Effect.map(
      makeMemorySink(options),
      ([sink, control]) => Context.make(Sink, sink).pipe(Context.add(MemorySink, control))
    )
  )

/**
 * The whole SDK on the in-memory sink and an in-memory queue: what users' unit tests provide.
 *
 * Closing it behaves as in production: it keeps sending what is queued for up to `closeTimeout`
 * (5 s). That needs no clock while the sink is up; with the sink down and the SDK started, the deadline
 * is measured by Effect's `Clock`, so under `TestClock` adjust the clock or pass `closeTimeout: 0`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: {
  readonly project?: ProjectInfo | undefined
  readonly mode?: Mode | undefined
  readonly queue?: "fifo" | "lifo" | undefined
  readonly queueOptions?: MessageQueue.MemoryOptions | undefined
  readonly maxInFlight?: number | undefined
  readonly maxMessageBytes?: number | undefined
  readonly closeTimeout?: Duration.Input | undefined
} = {}): Layer.Layer<StellaNow.StellaNow | MemorySink, ConfigurationError> =>
  StellaNow.layer({
    project: options.project ?? {
      organizationId: "00000000-0000-4000-8000-000000000001",
      projectId: "00000000-0000-4000-8000-000000000002"
    },
    maxInFlight: options.maxInFlight,
    maxMessageBytes: options.maxMessageBytes,
    closeTimeout: options.closeTimeout
  }).pipe(
    Layer.provideMerge(
      Layer.merge(
        layerMemorySink({ mode: options.mode }),
        options.queue === "lifo"
          ? MessageQueue.layerLifo(options.queueOptions)
          : MessageQueue.layerFifo(options.queueOptions)
      )
    )
  )
