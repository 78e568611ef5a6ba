/**
 * The SDK itself: `sendMessage` validates, wraps and queues; a drain fiber publishes queued messages
 * in order with a bounded number in flight while the sink keeps the connection; `start` and `stop`
 * begin and halt both.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as Envelope from "./Envelope.js"
import * as Internal from "./internal/stellaNow.js"
import type * as Message from "./Message.js"
import { MessageQueue } from "./MessageQueue.js"
import { type ConnectionState, Sink } from "./Sink.js"
import type {
  AuthError,
  ConfigurationError,
  ConnectionError,
  LifecycleError,
  QueueError,
  ValidationError
} from "./StellaNowError.js"

/**
 * What happens inside the SDK, as a stream: connection changes, acknowledgements and drops.
 *
 * @since 0.1.0
 * @category models
 */
export type Event = Data.TaggedEnum<{
  /** The connection state changed. */
  ConnectionChanged: { readonly state: ConnectionState }
  /** The broker acknowledged a message (PUBACK). */
  Acknowledged: { readonly messageId: string; readonly eventName: string }
  /** The queue's overflow policy dropped a message. */
  Dropped: { readonly messageId: string; readonly eventName: string }
  /**
   * The broker refused a message `maxAttempts` times: it left the queue for the dead letters
   * (`DeadLetters`). `reason` is the last refusal, in words.
   */
  DeadLettered: { readonly messageId: string; readonly eventName: string; readonly reason: string }
}>

/**
 * Constructors and matchers of {@link Event}.
 *
 * @since 0.1.0
 * @category models
 */
export const Event = Data.taggedEnum<Event>()

/**
 * Options of `stop`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StopOptions {
  /**
   * Keep publishing until the queue is empty or this deadline passes, then stop. Without it, `stop`
   * halts at once: queued messages stay queued for the next `start`.
   */
  readonly drainTimeout?: Duration.Input | undefined
}

/**
 * Options of `close`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CloseOptions {
  /**
   * How long to keep sending what is queued before stopping. Default: the service's `closeTimeout`
   * option (5 s). Zero stops at once, sending nothing more.
   */
  readonly timeout?: Duration.Input | undefined
}

/**
 * What `stop` and `close` report.
 *
 * @since 0.1.0
 * @category models
 */
export interface StopResult {
  /**
   * Messages still queued (not acknowledged) when the SDK stopped. When the queue's store could not
   * count them (`storeError`), this SDK's own count: those it found, plus those it queued, less those
   * acknowledged.
   */
  readonly remaining: number
  /**
   * Present when the queue's store failed while stopping (a database that is down): `remaining` is
   * then this SDK's own count, and acknowledgements the store could not record yet may make some
   * messages be delivered again after the next start (at least once).
   */
  readonly storeError?: QueueError | undefined
}

/**
 * Why `start` failed.
 *
 * @since 0.1.0
 * @category models
 */
export type StartError = ConnectionError | AuthError | LifecycleError

/**
 * The SDK's interface: start, stop, send, and watch.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The MQTT client id of this SDK instance. */
  readonly clientId: string
  /**
   * Connects and begins draining the queue. Completes once connected; fails after `startTimeout`
   * (the queue is kept) or when the connection is refused for good. Calling it while started is a no-op.
   */
  readonly start: Effect.Effect<void, StartError>
  /**
   * Halts draining at once and disconnects; with `drainTimeout`, keeps sending until the queue is empty
   * or the deadline passes first. Messages not yet acknowledged stay queued and go out after the next
   * `start` (with a persistent queue, even after a restart of the process).
   */
  readonly stop: (options?: StopOptions) => Effect.Effect<StopResult>
  /**
   * What closing the SDK's scope does, with a deadline of your choice and the count it leaves: keeps
   * sending what is queued until the queue is empty or the deadline passes (`closeTimeout`, 5 s by
   * default; zero sends nothing more), then stops as `stop` does. If messages remain, it logs at warn how
   * many and whether they are lost (an in-memory queue) or kept (a persistent one). An SDK that is not
   * started is not connected just to send them. The SDK can be started again afterwards.
   */
  readonly close: (options?: CloseOptions) => Effect.Effect<StopResult>
  /**
   * Validates the message, wraps it (message id, origin date) and queues it; returns the message id.
   * Works before `start`: the message waits in the queue. Fails with a `ValidationError` for a bad
   * message or one too large (`"TooLarge"`: over `maxMessageBytes` or the broker's Maximum Packet
   * Size), and with a `QueueError` when it was not queued: `"Full"` (the `"fail"` policy), `"Dropped"`
   * (the overflow policy dropped this very message).
   */
  readonly sendMessage: (message: Message.Message) => Effect.Effect<string, ValidationError | QueueError>
  /**
   * Like `sendMessage`, then waits until the broker acknowledged the message. Fails with a `QueueError`
   * (`"Dropped"`) if the overflow policy dropped it first, a `LifecycleError` (`"Closed"`) if the SDK
   * closed first.
   */
  readonly sendMessageAndWait: (
    message: Message.Message
  ) => Effect.Effect<string, ValidationError | QueueError | LifecycleError>
  /**
   * Messages not yet acknowledged. Fails with a `QueueError` (`"StoreFailed"`) when a persistent
   * queue's store cannot count them.
   */
  readonly queueSize: Effect.Effect<number, QueueError>
  /** The connection state now. */
  readonly connectionState: Effect.Effect<ConnectionState>
  /**
   * Connection changes, acknowledgements, drops and dead letters, from the moment the stream starts running. A stream
   * run in a forked fiber starts when that fiber first runs: to be sure of the events of what follows,
   * use `subscribe`.
   */
  readonly events: Stream.Stream<Event>
  /**
   * Subscribes at once: the stream has every event from this moment until the scope closes (or the
   * SDK does).
   */
  readonly subscribe: Effect.Effect<Stream.Stream<Event>, never, Scope.Scope>
}

/**
 * The SDK's service tag.
 *
 * @since 0.1.0
 * @category services
 */
export class StellaNow extends Context.Service<StellaNow, Service>()("@stellanow/sdk/StellaNow") {}

/**
 * Options of the SDK service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The organization and project messages are sent for. */
  readonly project: Envelope.ProjectInfo
  /** Publishes awaiting their PUBACK at most. Default 1,000. */
  readonly maxInFlight?: number | undefined
  /**
   * The largest message `sendMessage` queues, in bytes of the MQTT PUBLISH packet it makes (its
   * envelope in UTF-8, the topic and about 10 bytes of header); a larger one fails with a
   * `ValidationError` (`"TooLarge"`) and is not queued. The broker's own Maximum Packet Size, once its
   * CONNACK announced one, is checked as well; before the first connection only this option applies.
   * Default 1 MiB ({@link defaultMaxMessageBytes}).
   */
  readonly maxMessageBytes?: number | undefined
  /**
   * How many times the broker may refuse a message (a `PublishError` `"Rejected"` or `"Timeout"`)
   * before it is taken out of the queue and dead-lettered. Lost connections do not count. Default 5.
   */
  readonly maxAttempts?: number | undefined
  /** How long `start` waits for a connection. Default 30 s. */
  readonly startTimeout?: Duration.Input | undefined
  /** How long `stop` lets in-flight publishes finish before disconnecting. Default 5 s. */
  readonly stopGracePeriod?: Duration.Input | undefined
  /**
   * How long closing the SDK (its scope, or `close`) keeps sending what is queued before it stops.
   * Default 5 s; zero stops at once, leaving what is queued unsent.
   */
  readonly closeTimeout?: Duration.Input | undefined
}

/**
 * The default `maxMessageBytes`: 1 MiB. Far above an event's usual size (a few KiB), and what EMQX
 * accepts by default: a runaway payload is refused at `sendMessage`, rather than by the broker on every
 * attempt after it was queued. 128 such messages fit the in-memory queue's default byte budget. Raise
 * it for a broker that accepts more; the broker's own Maximum Packet Size is checked as well.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultMaxMessageBytes = 1024 * 1024

/**
 * Makes the SDK service. Closing the scope closes the SDK: it sends what is queued, for up to
 * `closeTimeout`, then stops (see `Service.close`). Messages the broker refused `maxAttempts` times go
 * to the `DeadLetters` service in context when there is one (the SQL queues' layers provide theirs),
 * else to an in-memory one (`DeadLetters.layerMemory`'s).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<
  Service,
  ConfigurationError,
  Sink | MessageQueue | Scope.Scope
> = Internal.make

/**
 * The SDK service over whatever `Sink` and `MessageQueue` are provided.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<StellaNow, ConfigurationError, Sink | MessageQueue> =>
  Layer.effect(StellaNow, make(options))

/**
 * Sends a message with the SDK in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const sendMessage = (
  message: Message.Message
): Effect.Effect<string, ValidationError | QueueError, StellaNow> => StellaNow.use((sdk) => sdk.sendMessage(message))

/**
 * Starts the SDK in context: connects and begins draining the queue.
 *
 * @since 0.1.0
 * @category accessors
 */
export const start: Effect.Effect<void, StartError, StellaNow> = StellaNow.use((sdk) => sdk.start)

/**
 * Stops the SDK in context; queued messages stay queued.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stop = (options?: StopOptions): Effect.Effect<StopResult, never, StellaNow> =>
  StellaNow.use((sdk) => sdk.stop(options))

/**
 * Closes the SDK in context: sends what is queued until the deadline, then stops, reporting what is left.
 *
 * @since 0.1.0
 * @category accessors
 */
export const close = (options?: CloseOptions): Effect.Effect<StopResult, never, StellaNow> =>
  StellaNow.use((sdk) => sdk.close(options))
