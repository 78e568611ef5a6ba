/**
 * Ready-made compositions of the SDK's layers: the presets of the Python SDK, and the generic
 * {@link layer} they are made of. Options given in code override the environment.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Auth from "./Auth.js"
import * as AuthOidc from "./AuthOidc.js"
import type * as DeadLetters from "./DeadLetters.js"
import * as Environment from "./Environment.js"
import * as PresetOptions from "./internal/presetOptions.js"
import * as Presets from "./internal/presets.js"
import * as MessageQueue from "./MessageQueue.js"
import * as Sink from "./Sink.js"
import * as StellaNow from "./StellaNow.js"
import * as StellaNowConfig from "./StellaNowConfig.js"
import type { ConfigurationError, StoreError } from "./StellaNowError.js"

/**
 * Options shared by every preset. Each one left out (or `undefined`) falls back to the environment (for
 * the variables of WIRE.md §6) or to the documented default. Unknown names and values of the wrong type
 * or outside their range fail the layer with one `ConfigurationError` naming each.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<Sink.MqttOptions, "brokerUrl">, Omit<StellaNow.Options, "project"> {
  /** Overrides `ORGANIZATION_ID`. */
  readonly organizationId?: string | undefined
  /** Overrides `PROJECT_ID`. */
  readonly projectId?: string | undefined
  /** Overrides the environment's broker URL and `STELLANOW_BROKER_URL`. */
  readonly brokerUrl?: string | undefined
  /** Overrides `MQTT_USERNAME` (basic auth). */
  readonly mqttUsername?: string | undefined
  /** Overrides `MQTT_PASSWORD` (basic auth). */
  readonly mqttPassword?: string | Redacted.Redacted<string> | undefined
  /** Overrides `OIDC_USERNAME`. */
  readonly oidcUsername?: string | undefined
  /** Overrides `OIDC_PASSWORD`. */
  readonly oidcPassword?: string | Redacted.Redacted<string> | undefined
  /** Overrides `OIDC_CLIENT_ID` (default `event-ingestor`). */
  readonly oidcClientId?: string | undefined
  /** OIDC details beyond the credentials: token endpoint, refresh margins, retry schedule. */
  readonly oidc?: Omit<AuthOidc.Options, "credentials" | "apiBaseUrl" | "organizationId"> | undefined
  /**
   * The queue's order, or a queue layer of your own (e.g. a persistent one, which fails with a
   * `StoreError` when its store cannot be opened). Default `"fifo"`.
   */
  readonly queue?: "fifo" | "lifo" | Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError> | undefined
  /** Capacity of the in-memory queue. Default 100,000. */
  readonly queueCapacity?: number | undefined
  /**
   * Byte budget of the in-memory queue: the bytes of the messages it holds (their envelopes in UTF-8)
   * at most. The overflow policy applies to whichever of this and `queueCapacity` is reached first.
   * Default 128 MiB.
   */
  readonly queueCapacityBytes?: number | undefined
  /** Overflow policy of the in-memory queue. Default `"dropOldest"`. */
  readonly overflow?: MessageQueue.OverflowPolicy | undefined
  /**
   * Where messages the broker refused `maxAttempts` times are kept: a `DeadLetters` layer of your own.
   * Default: the queue's own when its layer provides one (the SQL queues of `@stellanow/sdk-sql` keep
   * them in their database), else `DeadLetters.layerMemory()` (at most 1,000, lost with the process).
   */
  readonly deadLetters?: Layer.Layer<DeadLetters.DeadLetters, ConfigurationError | StoreError> | undefined
}

/**
 * What the generic preset needs beyond {@link Options}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings extends Options {
  /** `"oidc"`, `"basic"`, `"none"`, or an `Auth` layer of your own. */
  readonly auth: StellaNowConfig.AuthMode | Layer.Layer<Auth.Auth, ConfigurationError>
  /**
   * `"prod"`, `"dev"`, `"local"`, or a custom environment. `STELLANOW_BROKER_URL` and
   * `STELLANOW_API_URL` override the endpoints of the named ones; a custom environment's are kept.
   */
  readonly environment: "prod" | "dev" | "local" | Environment.Environment
}

/**
 * What the token provider preset needs: the generic preset's settings, with the app's token provider
 * in place of `auth`.
 *
 * @since 0.2.0
 * @category models
 */
export interface TokenProviderSettings extends Omit<Settings, "auth"> {
  /** Where access tokens come from: the app's own login (see `Auth.layerTokenProvider`). */
  readonly tokenProvider: Auth.TokenProvider
  /** When the token provider is asked again, how long it may take, and the retries. */
  readonly tokenRefresh?: Auth.TokenProviderOptions | undefined
}

/**
 * The environment, its endpoints overridden by `STELLANOW_BROKER_URL` and `STELLANOW_API_URL`. A
 * custom environment is code, and code wins over the variables.
 */
const withEndpoints = (
  environment: Settings["environment"],
  endpoints: StellaNowConfig.Endpoints
): Environment.Environment => {
  if (typeof environment !== "string" && environment.name === "custom") return environment
  const named = typeof environment === "string" ? Environment.byName(environment) : environment
  return {
    ...named,
    brokerUrl: Option.getOrElse(endpoints.brokerUrl, () => named.brokerUrl),
    apiBaseUrl: Option.getOrElse(endpoints.apiBaseUrl, () => named.apiBaseUrl)
  }
}

const overridesOf = (options: Options) =>
  StellaNowConfig.withOverrides({
    ORGANIZATION_ID: options.organizationId,
    PROJECT_ID: options.projectId,
    MQTT_USERNAME: options.mqttUsername,
    MQTT_PASSWORD: options.mqttPassword,
    OIDC_USERNAME: options.oidcUsername,
    OIDC_PASSWORD: options.oidcPassword,
    OIDC_CLIENT_ID: options.oidcClientId
  })

/** The layers the settings ask for, composed; the settings are checked already. */
const build = (
  settings: Settings
): Effect.Effect<Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError>, ConfigurationError> =>
  Effect.gen(function*() {
    const withOverrides = overridesOf(settings)
    // The project's variables, the auth mode's and the endpoints are read together, so one error
    // names every missing or malformed variable.
    const credentialsConfig = settings.auth === "basic"
      ? StellaNowConfig.basic
      : settings.auth === "oidc"
      ? StellaNowConfig.oidc
      : Config.succeed(undefined)
    const [project, credentials, endpoints] = yield* withOverrides(
      StellaNowConfig.load(
        StellaNowConfig.all([StellaNowConfig.project, credentialsConfig, StellaNowConfig.endpoints])
      )
    )
    const environment = withEndpoints(settings.environment, endpoints)
    const auth: Layer.Layer<Auth.Auth, ConfigurationError> = typeof settings.auth !== "string"
      ? settings.auth
      : settings.auth === "none"
      ? Auth.layerNone
      : settings.auth === "basic"
      ? Auth.layerBasic(credentials as StellaNowConfig.BasicCredentials)
      : AuthOidc.layer({
        ...settings.oidc,
        credentials: credentials as StellaNowConfig.OidcCredentials,
        organizationId: project.organizationId,
        apiBaseUrl: environment.apiBaseUrl
      })
    const queueOptions = {
      capacity: settings.queueCapacity,
      capacityBytes: settings.queueCapacityBytes,
      overflow: settings.overflow
    }
    const queue = settings.queue === undefined || settings.queue === "fifo"
      ? MessageQueue.layerFifo(queueOptions)
      : settings.queue === "lifo"
      ? MessageQueue.layerLifo(queueOptions)
      : settings.queue
    const { auth: _auth, deadLetters, environment: _environment, oidc: _oidc, queue: _queue, ...rest } = settings
    const sink = Sink.layerMqtt({ ...rest, brokerUrl: settings.brokerUrl ?? environment.brokerUrl })
    // The service takes the `DeadLetters` in its context: the option's, else the queue layer's if it
    // provides one (merged last, the option's wins), else it makes an in-memory one.
    const parts = Layer.merge(Layer.provide(sink, auth), queue)
    return StellaNow.layer({ ...rest, project }).pipe(
      Layer.provide(deadLetters === undefined ? parts : Layer.merge(parts, deadLetters))
    )
  })

/**
 * The SDK as a layer: auth, sink, queue and the service, composed as the settings say. Settings that
 * are not acceptable (an unknown name, a value of the wrong type or outside its range) fail the layer
 * with one `ConfigurationError` naming each of them; a persistent queue whose store cannot be opened
 * fails it with a `StoreError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (settings: Settings): Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError> =>
  Layer.unwrap(Effect.flatMap(Effect.fromResult(PresetOptions.checkSettings(settings)), build))

/**
 * The SDK with access tokens from the app's own token provider (`Auth.layerTokenProvider`): the
 * generic {@link layer}, its auth the provider. Unacceptable settings fail the layer with one
 * `ConfigurationError` naming each.
 *
 * @since 0.2.0
 * @category layers
 */
export const tokenProvider = (
  settings: TokenProviderSettings
): Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError> =>
  Layer.unwrap(
    Effect.flatMap(Effect.fromResult(PresetOptions.checkTokenProvider(settings)), (checked) => {
      const { tokenProvider: provider, tokenRefresh, ...rest } = checked
      return build({ ...rest, auth: Auth.layerTokenProvider(provider, tokenRefresh) })
    })
  )

/** A preset of the table: its auth, environment and queue order, with the caller's options checked first. */
const preset =
  ({ auth, environment, order }: Presets.Preset) =>
  (options: Options = {}): Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError> =>
    Layer.unwrap(
      Effect.flatMap(
        Effect.fromResult(PresetOptions.checkPreset(options)),
        (checked) => build({ ...checked, queue: checked.queue ?? order, auth, environment })
      )
    )

/**
 * Dev environment, OIDC, MQTT, FIFO.
 *
 * @since 0.1.0
 * @category presets
 */
export const devOidcMqttFifo = preset(Presets.table.devOidcMqttFifo)

/**
 * Dev environment, no auth, MQTT, FIFO.
 *
 * @since 0.1.0
 * @category presets
 */
export const devNoAuthMqttFifo = preset(Presets.table.devNoAuthMqttFifo)

/**
 * Dev environment, username/password, MQTT, LIFO.
 *
 * @since 0.1.0
 * @category presets
 */
export const devBasicMqttLifo = preset(Presets.table.devBasicMqttLifo)

/**
 * A local broker (NanoMQ, mosquitto), username/password, FIFO.
 *
 * @since 0.1.0
 * @category presets
 */
export const localNanomqBasicMqttFifo = preset(Presets.table.localNanomqBasicMqttFifo)

/**
 * A local broker (NanoMQ, mosquitto), username/password, LIFO.
 *
 * @since 0.1.0
 * @category presets
 */
export const localNanomqBasicMqttLifo = preset(Presets.table.localNanomqBasicMqttLifo)

/**
 * Production, OIDC, MQTT, FIFO.
 *
 * @since 0.1.0
 * @category presets
 */
export const prodOidcMqttFifo = preset(Presets.table.prodOidcMqttFifo)

/**
 * Production, no auth, MQTT, FIFO.
 *
 * @since 0.1.0
 * @category presets
 */
export const prodNoAuthMqttFifo = preset(Presets.table.prodNoAuthMqttFifo)

/**
 * Alias of {@link prodNoAuthMqttFifo}, under the name the Python SDK's README uses.
 *
 * @since 0.1.0
 * @category presets
 */
export const prodNoneMqttFifo = prodNoAuthMqttFifo

/**
 * Production, username/password, MQTT, FIFO.
 *
 * @since 0.1.0
 * @category presets
 */
export const prodBasicMqttFifo = preset(Presets.table.prodBasicMqttFifo)
