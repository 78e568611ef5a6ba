/**
 * The sink: where envelopes are delivered. It owns the broker connection — connecting, keeping it
 * alive, reconnecting — and completes a publish only once the broker has acknowledged it.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import type * as mqtt from "mqtt"
import { Auth } from "./Auth.js"
import * as BrokerUrl from "./BrokerUrl.js"
import type { Envelope } from "./Envelope.js"
import * as Backoff from "./internal/backoff.js"
import * as MqttJsClient from "./internal/mqttJsClient.js"
import * as MqttSink from "./internal/mqttSink.js"
import * as WsClient from "./internal/wsClient.js"
import { type AuthError, ConfigurationError, type ConnectionError, type PublishError } from "./StellaNowError.js"

/**
 * The state of the broker connection.
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectionState = Data.TaggedEnum<{
  /** Not started, or stopped. */
  Idle: {}
  /** Trying to connect; `attempt` counts from 1 since the last good connection. */
  Connecting: { readonly attempt: number }
  /** Connected: publishes flow. */
  Connected: { readonly since: number }
  /** The connection was lost or refused; the sink will try again. */
  Disconnected: { readonly error: ConnectionError | AuthError }
  /** The sink gave up: refused credentials or a duplicate client id. It needs a new start. */
  Failed: { readonly error: ConnectionError | AuthError }
}>

/**
 * Constructors and matchers of {@link ConnectionState}.
 *
 * @since 0.1.0
 * @category models
 */
export const ConnectionState = Data.taggedEnum<ConnectionState>()

/**
 * The sink's interface: the connection, its state, and publishing with broker acknowledgement.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The MQTT client id, made once per SDK instance and kept across reconnects. */
  readonly clientId: string
  /** Where the sink delivers, for logs and errors (no credentials). */
  readonly destination: string
  /** The connection state, to read or to follow. */
  readonly state: SubscriptionRef.SubscriptionRef<ConnectionState>
  /**
   * The largest packet the broker accepts, in bytes: the Maximum Packet Size of its last CONNACK (MQTT
   * 5), kept across reconnects until the next CONNACK says otherwise. `None` before the first
   * connection, or when the broker announced no limit. `sendMessage` refuses a message whose PUBLISH
   * packet is larger (`ValidationError` `"TooLarge"`). Optional: a sink without it leaves only the
   * `maxMessageBytes` option to check.
   */
  readonly maxPacketSize?: SubscriptionRef.SubscriptionRef<Option.Option<number>> | undefined
  /**
   * Connects and keeps connected — reconnecting with backoff, fresh credentials each time — until
   * interrupted, which disconnects. Fails only when it gives up (a fatal error).
   */
  readonly run: Effect.Effect<never, ConnectionError | AuthError>
  /** Waits until a publish can be attempted (the connection is up). */
  readonly awaitReady: Effect.Effect<void>
  /** Publishes one envelope (QoS 1) and completes when the broker acknowledged it. */
  readonly publish: (envelope: Envelope) => Effect.Effect<void, PublishError>
  /**
   * The low-level publish, the one the SDK's drain uses: made once per `start`, in that run's scope,
   * it keeps many messages in flight without a fiber per message (see {@link PublishCallback}).
   * Publishes still in flight when the scope closes, or when `run` ends, report a failure.
   *
   * A sink with only an Effect `publish` gets one from {@link make}.
   */
  readonly publisher: Effect.Effect<PublishCallback, never, Scope.Scope>
}

/**
 * Publishes one envelope (QoS 1) and reports its outcome to `onSettled`, exactly once: success when the
 * broker acknowledged it, a `PublishError` (or an interruption) otherwise. It returns at once and may
 * call `onSettled` from any callback, or before it returns. At thousands of messages a second a fiber
 * per message was most of the SDK's cost: this form lets a sink with a callback API (mqtt.js) report
 * straight from its callbacks.
 *
 * @since 0.2.0
 * @category models
 */
export type PublishCallback = (envelope: Envelope, onSettled: (exit: Exit.Exit<void, PublishError>) => void) => void

/**
 * A sink made of its parts, with its `publisher` built from `publish` when none is given: each
 * publish then runs in a fiber of its own, interrupted when the publisher's scope closes. The way to
 * write a sink of your own (the in-memory test sink is one).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  parts: Omit<Service, "publisher"> & { readonly publisher?: Service["publisher"] | undefined }
): Service => ({ ...parts, publisher: parts.publisher ?? fromEffectPublish(parts.publish) })

/**
 * A {@link PublishCallback} over an Effect `publish`: a fiber per message, forked into the scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromEffectPublish = (
  publish: Service["publish"]
): Effect.Effect<PublishCallback, never, Scope.Scope> =>
  Effect.map(FiberSet.makeRuntime<never, void, PublishError>(), (runFork) => (envelope, onSettled) => {
    runFork(Effect.onExit(publish(envelope), (exit) => Effect.sync(() => onSettled(exit))))
  })

/**
 * The sink's service tag.
 *
 * @since 0.1.0
 * @category services
 */
export class Sink extends Context.Service<Sink, Service>()("@stellanow/sdk/Sink") {}

/**
 * TLS settings for `mqtts://` and `wss://` brokers.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsOptions {
  /** Certificate authorities to trust instead of the system's (PEM). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
  /** A client certificate (PEM), for brokers that ask for one. */
  readonly cert?: string | Buffer | undefined
  /** The client certificate's key (PEM). */
  readonly key?: string | Buffer | undefined
  /** Verify the broker's certificate. Default `true`; turn it off only for tests. */
  readonly rejectUnauthorized?: boolean | undefined
  /** The name to verify the certificate against, when it differs from the URL's host. */
  readonly servername?: string | undefined
}

/**
 * Options of the MQTT sink.
 *
 * @since 0.1.0
 * @category models
 */
export interface MqttOptions {
  /** `mqtt://`, `mqtt-tcp://`, `mqtts://`, `ws://` or `wss://`. */
  readonly brokerUrl: string
  /** Default: `StellaNowSDKTypeScript_` and a 10-character nanoid. Must be unique per connection. */
  readonly clientId?: string | undefined
  readonly tls?: TlsOptions | undefined
  /**
   * The MQTT protocol version. Default 5, which the platform expects; 4 (MQTT 3.1.1) only for local
   * brokers that do not speak MQTT 5, such as aedes.
   */
  readonly protocolVersion?: 4 | 5 | undefined
  /** MQTT keepalive: a silent connection is declared dead after about 1.5 times this. Default 30 s. */
  readonly keepAlive?: Duration.Input | undefined
  /** How long a connection attempt may take, up to the CONNACK. Default 10 s. */
  readonly connectTimeout?: Duration.Input | undefined
  /**
   * How long a publish may wait for its PUBACK. Default 30 s. When it passes and the broker has
   * answered packets sent after it (later PUBACKs, a keepalive's PINGRESP), the publish fails
   * (`PublishError` `"Timeout"`) and counts as a refused attempt; when the broker answered nothing for
   * as long, the connection is ended and made again, which counts against no message.
   */
  readonly publishTimeout?: Duration.Input | undefined
  /** Delays between connection attempts. Default: jittered exponential from 500 ms, capped at 30 s. */
  readonly reconnectSchedule?: Schedule.Schedule<unknown, ConnectionError | AuthError> | undefined
  /** A connection that stays up this long resets the backoff. Default 10 s. */
  readonly stableAfter?: Duration.Input | undefined
  /** Refused CONNECTs (bad credentials, not authorized) in a row before giving up. Default 3. */
  readonly maxAuthFailures?: number | undefined
  /**
   * Connections in a row taken over right after connecting before the sink reports a duplicate client
   * id and gives up. Default 5.
   */
  readonly maxTakeovers?: number | undefined
  /**
   * How long before the credentials expire the sink reconnects with fresh ones. Default 30 s, and at
   * most a fifth of the credentials' remaining lifetime.
   */
  readonly renewBeforeExpiry?: Duration.Input | undefined
  /** Extra mqtt.js client options, applied last (advanced). */
  readonly clientOptions?: Partial<mqtt.IClientOptions> | undefined
}

/**
 * The default reconnect schedule: exponential from 500 ms by 1.5, capped at 30 s, jittered.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultReconnectSchedule: Schedule.Schedule<unknown, unknown> = Backoff.schedule

/**
 * Makes the MQTT sink.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMqtt = (options: MqttOptions): Effect.Effect<Service, ConfigurationError, Auth> =>
  MqttSink.make(options, MqttJsClient.connect)

/**
 * The MQTT sink: mqtt.js over TCP, TLS, WebSockets or secure WebSockets as the URL says; MQTT 5, clean
 * start; credentials from `Auth` at every attempt.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMqtt = (options: MqttOptions): Layer.Layer<Sink, ConfigurationError, Auth> =>
  Layer.effect(Sink, makeMqtt(options))

/**
 * Options of the WebSocket sink: those of the MQTT sink but `tls` and `clientOptions`, which the
 * platform's WebSocket does not take (a page's browser makes the TLS connection itself).
 *
 * @since 0.2.0
 * @category models
 */
export interface WebSocketOptions extends Omit<MqttOptions, "tls" | "clientOptions"> {}

/**
 * Makes the WebSocket sink: fails with a `ConfigurationError` for a broker URL that is not `ws://` or
 * `wss://`, or where the platform has no `WebSocket`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeWebSocket = (options: WebSocketOptions): Effect.Effect<Service, ConfigurationError, Auth> =>
  Effect.suspend(() => {
    const address = BrokerUrl.parse(options.brokerUrl)
    if (Result.isSuccess(address) && address.success.transport !== "websocket") {
      return Effect.fail(
        new ConfigurationError({
          reason: "InvalidOption",
          detail: `brokerUrl: the WebSocket sink takes a ws:// or wss:// broker, not ${address.success.url}`
        })
      )
    }
    if (typeof globalThis.WebSocket !== "function") {
      return Effect.fail(
        new ConfigurationError({ reason: "InvalidOption", detail: "this platform has no WebSocket: use layerMqtt" })
      )
    }
    return MqttSink.make(options, WsClient.connect)
  })

/**
 * The WebSocket sink, for pages: MQTT 5 over the platform's own `WebSocket` (`ws://`, `wss://`), with a
 * client of a few kilobytes instead of mqtt.js, and the MQTT sink's behaviour otherwise: the same
 * reconnects, credentials, publish timeouts and refusals. It also runs in Node 22+, Deno and Bun, which
 * have a `WebSocket` too.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWebSocket = (options: WebSocketOptions): Layer.Layer<Sink, ConfigurationError, Auth> =>
  Layer.effect(Sink, makeWebSocket(options))

/**
 * A fresh client id: `StellaNowSDKTypeScript_` and a 10-character nanoid.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeClientId: () => string = MqttSink.makeClientId
