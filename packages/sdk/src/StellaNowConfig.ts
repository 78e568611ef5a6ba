/**
 * Configuration read through Effect's `Config` from the variables of WIRE.md §6. Secrets are read as
 * `Redacted` and stay so until the MQTT or HTTP client needs them.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
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

const NonEmpty = Schema.String.check(Schema.isNonEmpty({ message: "expected a non-empty value" }))

/** The variables, as a tree of names to strings: the schema the collected problems are about. */
const variables = Schema.Record(Schema.String, Schema.String).ast

const failWith = (issue: SchemaIssue.Issue) => new Config.ConfigError(new Schema.SchemaError(issue))

/**
 * One variable, read with a schema. A missing variable fails as a `MissingKey` under its name, so the
 * error can tell "missing" from "invalid" (Effect 4 reads a missing value as `undefined` and refuses
 * that as it would a bad one).
 */
const variable = <A>(name: string, schema: Schema.Codec<A, string>): Config.Config<A> =>
  Config.schema(schema, name).pipe(
    Config.option,
    Config.mapEffect(Option.match({
      onNone: () => Effect.fail(failWith(new SchemaIssue.Pointer([name], new SchemaIssue.MissingKey(undefined)))),
      onSome: Effect.succeed
    }))
  )

const uuid = (name: string) =>
  variable(
    name,
    Schema.String.check(Schema.isPattern(uuidPattern, { message: "expected a UUID" })).annotate({
      description: `${name}: a UUID`
    })
  )

const nonEmpty = (name: string) => variable(name, NonEmpty)

const nonEmptySecret = (name: string) => variable(name, Schema.RedactedFromValue(NonEmpty))

/** A config's value, or the error it failed with: the config itself no longer fails. */
const attempt = <A>(config: Config.Config<A>): Config.Config<Result.Result<A, Config.ConfigError>> =>
  config.pipe(Config.map(Result.succeed), Config.orElse((error) => Config.succeed(Result.fail(error))))

/** Every error in one: the schema problems side by side; a source that could not be read stands alone. */
const merge = (errors: ReadonlyArray<Config.ConfigError>): Config.ConfigError => {
  const unreadable = errors.find((error) => !Schema.isSchemaError(error.cause))
  if (unreadable !== undefined || errors.length === 1) return unreadable ?? errors[0]!
  const issues = errors.map((error) => (error.cause as Schema.SchemaError).issue)
  return failWith(new SchemaIssue.Composite(variables, [issues[0]!, ...issues.slice(1)]))
}

/**
 * Like `Config.all`, but reads every config and fails with all their problems together, so one error
 * names every missing or malformed variable (WIRE.md §6). Effect's `Config.all` stops at the first.
 *
 * @since 0.1.0
 * @category config
 */
export const all: {
  <const Configs extends ReadonlyArray<Config.Config<any>>>(
    configs: Configs
  ): Config.Config<{ -readonly [K in keyof Configs]: Config.Success<Configs[K]> }>
  <const Configs extends Record<string, Config.Config<any>>>(
    configs: Configs
  ): Config.Config<{ -readonly [K in keyof Configs]: Config.Success<Configs[K]> }>
} = (configs: ReadonlyArray<Config.Config<any>> | Record<string, Config.Config<any>>): Config.Config<any> => {
  const entries = Object.entries(configs)
  return Config.all(entries.map(([, config]) => attempt(config))).pipe(
    Config.mapEffect((results) => {
      const errors = results.flatMap((result) => Result.isFailure(result) ? [result.failure] : [])
      if (errors.length > 0) return Effect.fail(merge(errors))
      const values = results.map((result) => (result as Result.Success<unknown, never>).success)
      return Effect.succeed(
        Array.isArray(configs) ? values : Object.fromEntries(entries.map(([key], i) => [key, values[i]]))
      )
    })
  )
}

/**
 * `ORGANIZATION_ID` and `PROJECT_ID`.
 *
 * @since 0.1.0
 * @category config
 */
export const project: Config.Config<ProjectInfo> = all({
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
export const basic: Config.Config<BasicCredentials> = all({
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
export const oidc: Config.Config<OidcCredentials> = all({
  username: nonEmpty("OIDC_USERNAME"),
  password: nonEmptySecret("OIDC_PASSWORD"),
  clientId: Config.schema(NonEmpty, "OIDC_CLIENT_ID").pipe(Config.withDefault("event-ingestor"))
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

/**
 * A broker URL as the MQTT client takes it. The parser's message masks any user information: a password
 * is never quoted.
 */
const BrokerUrlString = Schema.String.check(
  Schema.makeFilter((url: string) =>
    Result.match(BrokerUrl.parse(url), { onFailure: (error) => error.detail, onSuccess: () => undefined })
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

const HttpUrlString = Schema.String.check(
  Schema.makeFilter((text: string) => isHttpUrl(text) || "expected an http:// or https:// URL")
)

/**
 * `STELLANOW_BROKER_URL` and `STELLANOW_API_URL`, both optional: an absent one is `None`, a malformed
 * one an error (read through {@link all}, it is named with every other bad variable).
 *
 * @since 0.1.0
 * @category config
 */
export const endpoints: Config.Config<Endpoints> = all({
  brokerUrl: Config.option(Config.schema(BrokerUrlString, "STELLANOW_BROKER_URL")),
  apiBaseUrl: Config.option(Config.schema(HttpUrlString, "STELLANOW_API_URL"))
})

const neededBy: Record<string, AuthMode> = {
  OIDC_USERNAME: "oidc",
  OIDC_PASSWORD: "oidc",
  OIDC_CLIENT_ID: "oidc",
  MQTT_USERNAME: "basic",
  MQTT_PASSWORD: "basic"
}

interface Problem {
  readonly missing: boolean
  readonly name: string
  readonly why: string
}

/** Effect's words for what is wrong with a value; no value is ever quoted (the input is not reported). */
const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const issueProblems = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): ReadonlyArray<Problem> => {
  switch (issue._tag) {
    case "Pointer":
      return issueProblems(issue.issue, [...path, ...issue.path])
    case "Composite":
      return issue.issues.flatMap((inner) => issueProblems(inner, path))
    case "MissingKey":
      return [{ missing: true, name: path.map(String).join("."), why: "" }]
    default:
      return formatter(issue).issues.map((found) => ({
        missing: false,
        name: [...path, ...(found.path ?? [])].map((key) => String(typeof key === "object" ? key.key : key)).join("."),
        why: found.message
      }))
  }
}

const problems = (error: Config.ConfigError): ReadonlyArray<Problem> =>
  Schema.isSchemaError(error.cause)
    ? issueProblems(error.cause.issue, [])
    : [{ missing: false, name: "the configuration source", why: error.cause.message }]

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
export const toConfigurationError = (error: Config.ConfigError): ConfigurationError => {
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
  // An empty string given in code is a value to check, not a missing one (Effect 4 providers read "" as
  // missing by default).
  const given = ConfigProvider.fromUnknown(Object.fromEntries(entries), { preserveEmptyStrings: true })
  return Effect.updateService(
    effect,
    ConfigProvider.ConfigProvider,
    (current) => given.pipe(ConfigProvider.orElse(current))
  )
}
