/**
 * Configuration read through Effect's `Config` from the variables of WIRE.md §6. Secrets are read as
 * `Redacted` and stay so until the MQTT or HTTP client needs them.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import { Config, ConfigError, ConfigProvider, Effect, Either, type Option, Redacted } from "effect"
import * as BrokerUrl from "./BrokerUrl.js"
import type { ProjectInfo } from "./Envelope.js"
import { ConfigurationError } from "./StellaNowError.js"

/**
 * How the SDK authenticates to the broker.
 *
 * @since 0.1.0
 * @category models
 */
export type AuthMode = "oidc" | "basic" | "none"

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const uuid = (name: string) =>
  Config.string(name).pipe(
    Config.validate({ message: "expected a UUID", validation: (s) => uuidPattern.test(s) }),
    Config.withDescription(`${name}: a UUID`)
  )

const nonEmpty = (name: string) =>
  Config.string(name).pipe(Config.validate({ message: "expected a non-empty value", validation: (s) => s !== "" }))

const nonEmptySecret = (name: string) =>
  Config.redacted(name).pipe(
    Config.validate({ message: "expected a non-empty value", validation: (s) => Redacted.value(s) !== "" })
  )

/**
 * `ORGANIZATION_ID` and `PROJECT_ID`.
 *
 * @since 0.1.0
 * @category config
 */
export const project: Config.Config<ProjectInfo> = Config.all({
  organizationId: uuid("ORGANIZATION_ID"),
  projectId: uuid("PROJECT_ID")
})

/**
 * Username and password for the broker.
 *
 * @since 0.1.0
 * @category models
 */
export interface BasicCredentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * `MQTT_USERNAME` and `MQTT_PASSWORD`.
 *
 * @since 0.1.0
 * @category config
 */
export const basic: Config.Config<BasicCredentials> = Config.all({
  username: nonEmpty("MQTT_USERNAME"),
  password: nonEmptySecret("MQTT_PASSWORD")
})

/**
 * OIDC login for the platform's identity provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface OidcCredentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly clientId: string
}

/**
 * `OIDC_USERNAME`, `OIDC_PASSWORD` and `OIDC_CLIENT_ID` (default `event-ingestor`).
 *
 * @since 0.1.0
 * @category config
 */
export const oidc: Config.Config<OidcCredentials> = Config.all({
  username: nonEmpty("OIDC_USERNAME"),
  password: nonEmptySecret("OIDC_PASSWORD"),
  clientId: nonEmpty("OIDC_CLIENT_ID").pipe(Config.withDefault("event-ingestor"))
})

/**
 * Endpoints set by the environment, overriding those of the named environment (a proxy, a staging
 * broker).
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoints {
  /** `STELLANOW_BROKER_URL`. */
  readonly brokerUrl: Option.Option<string>
  /** `STELLANOW_API_URL`: the API base URL, for OIDC. */
  readonly apiBaseUrl: Option.Option<string>
}

const brokerUrl = (name: string) =>
  Config.string(name).pipe(
    // The parser's message quotes the URL with any user information masked, never a password.
    Config.mapOrFail((url) =>
      Either.match(BrokerUrl.parse(url), {
        onLeft: (error) => Either.left(ConfigError.InvalidData([], error.detail)),
        onRight: () => Either.right(url)
      })
    )
  )

const isHttpUrl = (text: string): boolean => {
  try {
    const { protocol } = new URL(text)
    return protocol === "http:" || protocol === "https:"
  } catch {
    return false
  }
}

const httpUrl = (name: string) =>
  Config.string(name).pipe(Config.validate({ message: "expected an http:// or https:// URL", validation: isHttpUrl }))

/**
 * `STELLANOW_BROKER_URL` and `STELLANOW_API_URL`, both optional.
 *
 * @since 0.1.0
 * @category config
 */
export const endpoints: Config.Config<Endpoints> = Config.all({
  brokerUrl: Config.option(brokerUrl("STELLANOW_BROKER_URL")),
  apiBaseUrl: Config.option(httpUrl("STELLANOW_API_URL"))
})

const neededBy: Record<string, AuthMode> = {
  OIDC_USERNAME: "oidc",
  OIDC_PASSWORD: "oidc",
  OIDC_CLIENT_ID: "oidc",
  MQTT_USERNAME: "basic",
  MQTT_PASSWORD: "basic"
}

const problems = (error: ConfigError.ConfigError): ReadonlyArray<{ missing: boolean; name: string; why: string }> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...problems(error.left), ...problems(error.right)]
    case "MissingData":
      return [{ missing: true, name: error.path.join("."), why: "" }]
    case "InvalidData":
      return [{ missing: false, name: error.path.join("."), why: error.message }]
    case "SourceUnavailable":
    case "Unsupported":
      return [{ missing: false, name: error.path.join("."), why: error.message }]
  }
}

const describe = (name: string): string => {
  const mode = neededBy[name]
  return mode === undefined ? name : `${name} (needed for auth mode "${mode}")`
}

/**
 * One configuration error naming every missing or malformed variable and the auth mode that needs
 * it. Values are never quoted, so no secret can leak through it.
 *
 * @since 0.1.0
 * @category errors
 */
export const toConfigurationError = (error: ConfigError.ConfigError): ConfigurationError => {
  const all = problems(error)
  const missing = [...new Set(all.filter((p) => p.missing).map((p) => describe(p.name)))]
  const invalid = [...new Set(all.filter((p) => !p.missing).map((p) => `${describe(p.name)}: ${p.why}`))]
  const parts = [
    ...(missing.length > 0 ? [`missing ${missing.join(", ")}`] : []),
    ...(invalid.length > 0 ? [`invalid ${invalid.join("; ")}`] : [])
  ]
  return new ConfigurationError({
    reason: missing.length > 0 ? "MissingVariable" : "InvalidVariable",
    detail: `StellaNow configuration: ${parts.join("; ")}`
  })
}

/**
 * Reads a config, failing with one {@link ConfigurationError}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = <A>(config: Config.Config<A>): Effect.Effect<A, ConfigurationError> =>
  Effect.mapError(config, toConfigurationError)

/**
 * Values given in code, keyed by variable name, override those of the current `ConfigProvider` (the
 * environment by default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const withOverrides = (
  overrides: Readonly<Record<string, string | Redacted.Redacted<string> | undefined>>
) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const entries = Object.entries(overrides).flatMap(([key, value]) =>
    value === undefined ? [] : [[key, Redacted.isRedacted(value) ? Redacted.value(value) : value] as const]
  )
  if (entries.length === 0) return effect
  return Effect.configProviderWith((current) =>
    Effect.withConfigProvider(
      effect,
      ConfigProvider.fromMap(new Map(entries)).pipe(ConfigProvider.orElse(() => current))
    )
  )
}
