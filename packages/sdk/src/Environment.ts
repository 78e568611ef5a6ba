/**
 * The StellaNow environments: where the API (for OIDC) and the broker are (WIRE.md §4).
 *
 * @since 0.1.0
 * @packageDocumentation
 */

/**
 * An environment.
 *
 * @since 0.1.0
 * @category models
 */
export interface Environment {
  readonly name: "prod" | "dev" | "local" | "custom"
  /** The API base URL, for OIDC; none for a local broker. */
  readonly apiBaseUrl: string | undefined
  readonly brokerUrl: string
}

/**
 * Production.
 *
 * @since 0.1.0
 * @category environments
 */
export const prod: Environment = {
  name: "prod",
  apiBaseUrl: "https://api.prod.stella.cloud",
  brokerUrl: "wss://ingestor.prod.stella.cloud:8083/mqtt"
}

/**
 * Development.
 *
 * @since 0.1.0
 * @category environments
 */
export const dev: Environment = {
  name: "dev",
  apiBaseUrl: "https://api.dev.stella.cloud",
  brokerUrl: "wss://ingestor.dev.stella.cloud:8083/mqtt"
}

/**
 * A local broker (NanoMQ, mosquitto, …) on the default port.
 *
 * @since 0.1.0
 * @category environments
 */
export const local: Environment = { name: "local", apiBaseUrl: undefined, brokerUrl: "mqtt://localhost:1883" }

/**
 * Any other broker, and optionally an API for OIDC.
 *
 * @since 0.1.0
 * @category environments
 */
export const custom = (
  options: { readonly brokerUrl: string; readonly apiBaseUrl?: string | undefined }
): Environment => ({
  name: "custom",
  apiBaseUrl: options.apiBaseUrl,
  brokerUrl: options.brokerUrl
})

/**
 * Looks an environment up by name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const byName = (name: "prod" | "dev" | "local"): Environment => ({ prod, dev, local })[name]
