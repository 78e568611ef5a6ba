/**
 * The options of the front doors, one line each: the presets' (`StellaNowLive.Options`), the generic
 * preset's (`Settings`), and the Promise front door's (`FacadeOptions`). The types make a missing line
 * a compile error: an option added to those interfaces needs its check here.
 */
import { Result, Schema } from "effect"
import * as BrokerUrl from "../BrokerUrl.js"
import type { TlsOptions } from "../Sink.js"
import type { ConfigurationError } from "../StellaNowError.js"
import type { Options, Settings } from "../StellaNowLive.js"
import type { FacadeOptions } from "../StellaNowSDK.js"
import {
  anyObject,
  boolean,
  type Check,
  check,
  count,
  duration,
  fields,
  layer,
  methods,
  namesOrLayer,
  nonEmptyString,
  oneOf,
  schedule,
  schema,
  secret,
  type Table,
  uuid
} from "./checkOptions.js"

/** A string: its scheme, host and port are checked once every option is right, by {@link withBrokerUrl}. */
const brokerUrl: Check = schema(Schema.String, "a broker URL (mqtt://, mqtt-tcp://, mqtts://, ws:// or wss://)")

const pem = Schema.Union([Schema.String, Schema.Uint8Array])

const tls: Table<TlsOptions> = {
  ca: schema(Schema.Union([pem, Schema.Array(pem)]), "a PEM string or Buffer, or an array of them"),
  cert: schema(pem, "a PEM string or Buffer"),
  key: schema(pem, "a PEM string or Buffer", { secret: true }),
  rejectUnauthorized: boolean,
  servername: nonEmptyString
}

const oidc: Table<NonNullable<Options["oidc"]>> = {
  tokenUrl: nonEmptyString,
  refreshBeforeExpiry: duration(),
  retrySchedule: schedule,
  clockSkew: duration({ allowZero: true }),
  requestTimeout: duration()
}

/** Every preset's options. */
const options: Table<Options> = {
  organizationId: uuid,
  projectId: uuid,
  brokerUrl,
  mqttUsername: nonEmptyString,
  mqttPassword: secret,
  oidcUsername: nonEmptyString,
  oidcPassword: secret,
  oidcClientId: nonEmptyString,
  oidc: fields(oidc),
  queue: namesOrLayer(["fifo", "lifo"], "a MessageQueue layer"),
  queueCapacity: count,
  overflow: oneOf("dropOldest", "dropNewest", "fail"),
  deadLetters: layer("a DeadLetters layer"),
  clientId: schema(
    Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(65535)),
    "a string of 1 to 65535 characters"
  ),
  tls: fields(tls),
  protocolVersion: oneOf(4, 5),
  keepAlive: duration(),
  connectTimeout: duration(),
  publishTimeout: duration(),
  reconnectSchedule: schedule,
  stableAfter: duration(),
  maxAuthFailures: count,
  maxTakeovers: count,
  renewBeforeExpiry: duration(),
  clientOptions: anyObject,
  maxInFlight: count,
  maxAttempts: count,
  startTimeout: duration(),
  stopGracePeriod: duration(),
  closeTimeout: duration({ allowZero: true })
}

/** What the generic preset adds: the auth and the environment, both required. */
const settings: Table<Settings> = {
  ...options,
  auth: namesOrLayer(["oidc", "basic", "none"], "an Auth layer"),
  environment: schema(
    Schema.Union([
      Schema.Literals(["prod", "dev", "local"]),
      Schema.Struct({ brokerUrl: Schema.String, apiBaseUrl: Schema.optional(Schema.String) })
    ]),
    `"prod", "dev", "local" or an Environment (Environment.custom({ brokerUrl, apiBaseUrl }))`
  )
}

/** The Promise front door's own options. */
const facade: Table<FacadeOptions> = {
  logLevel: oneOf("debug", "info", "warn", "error", "none"),
  logger: methods(
    ["debug", "info", "warn", "error"],
    "a logger with debug, info, warn and error methods (console, pino, winston…)"
  )
}

const setByThePreset = "the preset sets it; choose it with configureSdk or StellaNowLive.layer"

const facadeOnly = "an option of the Promise front door (configure…Sdk); with Effect, provide a Logger layer"

/** Why a name is not an option where it was given, when it is one elsewhere. */
const notes = { auth: setByThePreset, environment: setByThePreset, logLevel: facadeOnly, logger: facadeOnly }

/**
 * The broker URL the options give (their own, or a custom environment's), checked as the sink will
 * read it: its error keeps its own reason, `InvalidBrokerUrl`, and hides the URL's user information.
 */
const withBrokerUrl = <A extends Options & { readonly environment?: Settings["environment"] }>(
  checked: A
): Result.Result<A, ConfigurationError> => {
  const url = checked.brokerUrl ?? (typeof checked.environment === "object" ? checked.environment.brokerUrl : undefined)
  return url === undefined ? Result.succeed(checked) : Result.map(BrokerUrl.parse(url), () => checked)
}

const required = ["auth", "environment"]

/** Checks a preset's options. */
export const checkPreset = <A extends Options>(value: A): Result.Result<A, ConfigurationError> =>
  Result.flatMap(check(options, value, { notes }), withBrokerUrl)

/** Checks the generic preset's settings. */
export const checkSettings = <A extends Settings>(value: A): Result.Result<A, ConfigurationError> =>
  Result.flatMap(check(settings, value, { required, notes }), withBrokerUrl)

/** Checks the Promise front door's own options. */
export const checkFacade = <A extends FacadeOptions>(value: A): Result.Result<A, ConfigurationError> =>
  check(facade, value, { notes })

/** Checks a Promise preset's options: the preset's and the front door's together. */
export const checkFacadePreset = <A extends Options & FacadeOptions>(value: A): Result.Result<A, ConfigurationError> =>
  Result.flatMap(check({ ...options, ...facade }, value, { notes }), withBrokerUrl)

/** Checks the Promise front door's generic preset: its settings and the front door's options together. */
export const checkFacadeSettings = <A extends Settings & FacadeOptions>(
  value: A
): Result.Result<A, ConfigurationError> =>
  Result.flatMap(check({ ...settings, ...facade }, value, { required, notes }), withBrokerUrl)
