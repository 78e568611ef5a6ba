import type { AuthMode } from "../StellaNowConfig.js"

/** What a preset fixes; everything else comes from the caller's options and the environment. */
export interface Preset {
  readonly auth: AuthMode
  readonly environment: "prod" | "dev" | "local"
  /** The queue's order unless the caller's `queue` option says otherwise. */
  readonly order: "fifo" | "lifo"
  /** The Python SDK's name of the same configuration (WIRE.md §7), which the Promise preset mirrors. */
  readonly python: string
}

const preset = (
  auth: Preset["auth"],
  environment: Preset["environment"],
  order: Preset["order"],
  python: string
): Preset => ({ auth, environment, order, python })

/**
 * The Python SDK's presets, one line each, by their `StellaNowLive` name: both families are built from
 * it, `StellaNowLive.<name>` (a layer) and `configure<Name>Sdk` (the Promise front door over that
 * layer). The aliases (`prodNoneMqttFifo`, `configureProdNoneMqttFifoSdk`) are the same presets.
 */
export const table = {
  devOidcMqttFifo: preset("oidc", "dev", "fifo", "configure_dev_oidc_mqtt_fifo_sdk"),
  devNoAuthMqttFifo: preset("none", "dev", "fifo", "configure_dev_no_auth_mqtt_fifo_sdk"),
  devBasicMqttLifo: preset("basic", "dev", "lifo", "configure_dev_basic_mqtt_lifo_sdk"),
  localNanomqBasicMqttFifo: preset("basic", "local", "fifo", "configure_local_nanomq_basic_mqtt_fifo_sdk"),
  localNanomqBasicMqttLifo: preset("basic", "local", "lifo", "configure_local_nanomq_basic_mqtt_lifo_sdk"),
  prodOidcMqttFifo: preset("oidc", "prod", "fifo", "configure_prod_oidc_mqtt_fifo_sdk"),
  prodNoAuthMqttFifo: preset("none", "prod", "fifo", "configure_prod_no_auth_mqtt_fifo_sdk"),
  prodBasicMqttFifo: preset("basic", "prod", "fifo", "configure_prod_basic_mqtt_fifo_sdk")
} as const
