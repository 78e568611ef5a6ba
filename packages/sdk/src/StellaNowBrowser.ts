/**
 * The SDK in a web page: the broker over WebSockets (`wss://`, or `ws://` for a local broker), access
 * tokens from the app's own login through a token provider, and the in-memory queue or one of your
 * own. What a page cannot use is left out: TCP brokers (`mqtt://`, `mqtts://`), TLS options (the browser
 * makes the TLS connection), mqtt.js client options, passwords (no OIDC password grant, no MQTT
 * password), and the environment variables (everything comes from the options).
 *
 * ```ts
 * import { configureBrowserSdk } from "@stellanow/sdk/browser"
 *
 * const sdk = configureBrowserSdk({
 *   environment: "prod",
 *   organizationId: "…",
 *   projectId: "…",
 *   tokenProvider: async () => (await fetch("/api/stellanow-token")).json()
 * })
 * ```
 *
 * @since 0.2.0
 * @packageDocumentation
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Auth from "./Auth.js"
import * as Environment from "./Environment.js"
import { type FacadeOptions, orThrow, StellaNowSDK } from "./internal/facade.js"
import * as PresetOptions from "./internal/presetOptions.js"
import * as MessageQueue from "./MessageQueue.js"
import * as Sink from "./Sink.js"
import * as StellaNow from "./StellaNow.js"
import type { ConfigurationError, StoreError } from "./StellaNowError.js"

/**
 * Options of the SDK in a page. Unknown names, Node-only options (`tls`, `clientOptions`, passwords)
 * and values of the wrong type fail with one `ConfigurationError` naming each.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options
  extends Omit<Sink.MqttOptions, "brokerUrl" | "tls" | "clientOptions">, Omit<StellaNow.Options, "project">
{
  /** The organization's UUID. */
  readonly organizationId: string
  /** The project's UUID. */
  readonly projectId: string
  /** `"prod"`, `"dev"`, or a custom environment (`Environment.custom({ brokerUrl })`) with a `ws(s)://` broker. */
  readonly environment: "prod" | "dev" | Environment.Environment
  /** Overrides the environment's broker URL: `wss://…`, or `ws://…` for a local broker. */
  readonly brokerUrl?: string | undefined
  /**
   * Where access tokens come from: the app's own login (its backend, a PKCE flow). Left out, the SDK
   * connects without credentials (a local broker).
   */
  readonly tokenProvider?: Auth.TokenProvider | undefined
  /** When the token provider is asked again, how long it may take, and the retries. */
  readonly tokenRefresh?: Auth.TokenProviderOptions | undefined
  /** An `Auth` layer of your own, instead of `tokenProvider`. Default: none. */
  readonly auth?: "none" | Layer.Layer<Auth.Auth, ConfigurationError> | undefined
  /** The queue's order, or a queue layer of your own. Default `"fifo"`. */
  readonly queue?: "fifo" | "lifo" | Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError> | undefined
  /** Capacity of the in-memory queue. Default 100,000. */
  readonly queueCapacity?: number | undefined
  /** Overflow policy of the in-memory queue. Default `"dropOldest"`. */
  readonly overflow?: MessageQueue.OverflowPolicy | undefined
}

/** The layers the options ask for, composed; the options are checked already. */
const build = (options: Options): Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError> => {
  const {
    auth,
    brokerUrl,
    environment,
    organizationId,
    overflow,
    projectId,
    queue,
    queueCapacity,
    tokenProvider,
    tokenRefresh,
    ...rest
  } = options
  const named = typeof environment === "string" ? Environment.byName(environment) : environment
  const authLayer = tokenProvider !== undefined
    ? Auth.layerTokenProvider(tokenProvider, tokenRefresh)
    : auth === undefined || auth === "none"
    ? Auth.layerNone
    : auth
  const queueOptions = { capacity: queueCapacity, overflow }
  const queueLayer = queue === undefined || queue === "fifo"
    ? MessageQueue.layerFifo(queueOptions)
    : queue === "lifo"
    ? MessageQueue.layerLifo(queueOptions)
    : queue
  const sink = Sink.layerWebSocket({ ...rest, brokerUrl: brokerUrl ?? named.brokerUrl })
  return StellaNow.layer({ ...rest, project: { organizationId, projectId } }).pipe(
    Layer.provide(Layer.merge(Layer.provide(sink, authLayer), queueLayer))
  )
}

/**
 * The SDK for a page as a layer: the token provider (or no auth), the sink over WebSockets, the queue.
 * Options that are not acceptable — an unknown name, a Node-only option, an `mqtt://` broker — fail
 * the layer with one `ConfigurationError` naming each.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError> =>
  Layer.unwrap(Effect.map(Effect.fromResult(PresetOptions.checkBrowser(options)), build))

/**
 * The SDK for a page behind Promises: {@link layer} in the Promise front door. Options that are not
 * acceptable throw a `ConfigurationError` at once.
 *
 * @since 0.2.0
 * @category presets
 */
export const configureBrowserSdk = (options: Options & FacadeOptions): StellaNowSDK => {
  const { logLevel, logger, ...browser } = orThrow(PresetOptions.checkFacadeBrowser(options))
  return new StellaNowSDK(build(browser), { logLevel, logger })
}
