/**
 * The Promise front door, for code that does not use Effect:
 *
 * ```ts
 * const sdk = configureLocalNanomqBasicMqttFifoSdk()
 * await sdk.start()
 * await sdk.sendMessage(message)
 * await sdk.close() // sends what is queued (up to 5 s), then releases everything
 * ```
 *
 * Failures reject with the SDK's own error classes (`ValidationError`, `QueueError`,
 * `ConnectionError`, …), which are `Error` subclasses carrying a `_tag` and a `reason`. Options are
 * checked where they enter: `configure…Sdk(…)` and `new StellaNowSDK(…)` throw a `ConfigurationError`
 * at once for an unknown option name or a value that is not acceptable, naming each.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import type * as Layer from "effect/Layer"
import { type FacadeOptions, orThrow, StellaNowSDK } from "./internal/facade.js"
import * as PresetOptions from "./internal/presetOptions.js"
import type * as StellaNow from "./StellaNow.js"
import type { ConfigurationError, StoreError } from "./StellaNowError.js"
import * as StellaNowLive from "./StellaNowLive.js"

export { type FacadeOptions, StellaNowSDK, type UserLogger } from "./internal/facade.js"

/**
 * A Promise preset: the `StellaNowLive` preset of the same name (made from the presets' table,
 * `internal/presets.ts`) behind the front door; the options checked at once, the front door's own kept
 * for the facade.
 */
const presetSdk =
  (preset: (options: StellaNowLive.Options) => Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError>) =>
  (options: StellaNowLive.Options & FacadeOptions = {}): StellaNowSDK => {
    const { logLevel, logger, ...live } = orThrow(PresetOptions.checkFacadePreset(options))
    return new StellaNowSDK(preset(live), { logLevel, logger })
  }

/**
 * Dev environment, OIDC, MQTT, FIFO (`configure_dev_oidc_mqtt_fifo_sdk`).
 *
 * @since 0.1.0
 * @category presets
 */
export const configureDevOidcMqttFifoSdk = presetSdk(StellaNowLive.devOidcMqttFifo)

/**
 * Dev environment, no auth, MQTT, FIFO (`configure_dev_no_auth_mqtt_fifo_sdk`).
 *
 * @since 0.1.0
 * @category presets
 */
export const configureDevNoAuthMqttFifoSdk = presetSdk(StellaNowLive.devNoAuthMqttFifo)

/**
 * Dev environment, username/password, MQTT, LIFO (`configure_dev_basic_mqtt_lifo_sdk`).
 *
 * @since 0.1.0
 * @category presets
 */
export const configureDevBasicMqttLifoSdk = presetSdk(StellaNowLive.devBasicMqttLifo)

/**
 * A local broker, username/password, FIFO (`configure_local_nanomq_basic_mqtt_fifo_sdk`).
 *
 * @since 0.1.0
 * @category presets
 */
export const configureLocalNanomqBasicMqttFifoSdk = presetSdk(StellaNowLive.localNanomqBasicMqttFifo)

/**
 * A local broker, username/password, LIFO (`configure_local_nanomq_basic_mqtt_lifo_sdk`).
 *
 * @since 0.1.0
 * @category presets
 */
export const configureLocalNanomqBasicMqttLifoSdk = presetSdk(StellaNowLive.localNanomqBasicMqttLifo)

/**
 * Production, OIDC, MQTT, FIFO (`configure_prod_oidc_mqtt_fifo_sdk`).
 *
 * @since 0.1.0
 * @category presets
 */
export const configureProdOidcMqttFifoSdk = presetSdk(StellaNowLive.prodOidcMqttFifo)

/**
 * Production, no auth, MQTT, FIFO (`configure_prod_no_auth_mqtt_fifo_sdk`).
 *
 * @since 0.1.0
 * @category presets
 */
export const configureProdNoAuthMqttFifoSdk = presetSdk(StellaNowLive.prodNoAuthMqttFifo)

/**
 * Alias of {@link configureProdNoAuthMqttFifoSdk}, as the Python SDK's README names it.
 *
 * @since 0.1.0
 * @category presets
 */
export const configureProdNoneMqttFifoSdk = configureProdNoAuthMqttFifoSdk

/**
 * Production, username/password, MQTT, FIFO (`configure_prod_basic_mqtt_fifo_sdk`).
 *
 * @since 0.1.0
 * @category presets
 */
export const configureProdBasicMqttFifoSdk = presetSdk(StellaNowLive.prodBasicMqttFifo)

/**
 * The generic preset (`configure_sdk(auth, env, queue)`): any auth, environment and queue.
 *
 * @since 0.1.0
 * @category presets
 */
export const configureSdk = (settings: StellaNowLive.Settings & FacadeOptions): StellaNowSDK => {
  const { logLevel, logger, ...live } = orThrow(PresetOptions.checkFacadeSettings(settings))
  return new StellaNowSDK(StellaNowLive.layer(live), { logLevel, logger })
}

/**
 * The generic preset with access tokens from the app's own token provider (`Auth.layerTokenProvider`):
 * `configureTokenProviderSdk({ environment: "prod", tokenProvider: async () => ({ accessToken, expiresAt }) })`.
 *
 * @since 0.2.0
 * @category presets
 */
export const configureTokenProviderSdk = (
  settings: StellaNowLive.TokenProviderSettings & FacadeOptions
): StellaNowSDK => {
  const { logLevel, logger, ...live } = orThrow(PresetOptions.checkFacadeTokenProvider(settings))
  return new StellaNowSDK(StellaNowLive.tokenProvider(live), { logLevel, logger })
}
