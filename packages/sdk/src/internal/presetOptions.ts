/**
 * The options of the front doors, one line each: the presets' (`StellaNowLive.Options`), the generic
 * preset's (`Settings`), and the Promise front door's (`FacadeOptions`). The types make a missing line
 * a compile error: an option added to those interfaces needs its check here.
 */
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { TokenProviderOptions } from "../Auth.js"
import * as BrokerUrl from "../BrokerUrl.js"
import * as Environment from "../Environment.js"
import type { TlsOptions } from "../Sink.js"
import type { Options as BrowserOptions } from "../StellaNowBrowser.js"
import { ConfigurationError } from "../StellaNowError.js"
import type { Options, Settings, TokenProviderSettings } from "../StellaNowLive.js"
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
import type { FacadeOptions } from "./facade.js"

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
  requestTimeout: duration(),
  traceHeaders: boolean
}

const tokenRefresh: Table<TokenProviderOptions> = {
  refreshBeforeExpiry: duration(),
  clockSkew: duration({ allowZero: true }),
  timeout: duration(),
  retrySchedule: schedule
}

const tokenProvider: Check = schema(
  Schema.declare(Predicate.isFunction),
  "a function returning { accessToken, expiresAt } (a Promise or an Effect of it)"
)

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
  queueCapacityBytes: count,
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
  maxMessageBytes: count,
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

/** The token provider preset's settings: the generic preset's, with the token provider for the auth. */
const { auth: _auth, ...settingsButAuth } = settings
const tokenProviderSettings: Table<TokenProviderSettings> = {
  ...settingsButAuth,
  tokenProvider,
  tokenRefresh: fields(tokenRefresh)
}

/** What a page cannot use: TLS and mqtt.js options, passwords, OIDC's password grant. */
const {
  clientOptions: _clientOptions,
  mqttPassword: _mqttPassword,
  mqttUsername: _mqttUsername,
  oidc: _oidc,
  oidcClientId: _oidcClientId,
  oidcPassword: _oidcPassword,
  oidcUsername: _oidcUsername,
  tls: _tls,
  ...pageOptions
} = options

/** The browser entry's options. */
const browser: Table<BrowserOptions> = {
  ...pageOptions,
  environment: schema(
    Schema.Union([
      Schema.Literals(["prod", "dev"]),
      Schema.Struct({ brokerUrl: Schema.String, apiBaseUrl: Schema.optional(Schema.String) })
    ]),
    `"prod", "dev" or an Environment (Environment.custom({ brokerUrl }))`
  ),
  tokenProvider,
  tokenRefresh: fields(tokenRefresh),
  auth: namesOrLayer(["none"], "an Auth layer")
}

const notInPage = {
  tls: "not in a browser: the browser makes the TLS connection of a wss:// broker itself",
  clientOptions: "not in a browser: mqtt.js's client options are Node's",
  mqttUsername: "not in a browser: a page gets access tokens from tokenProvider, never a password",
  mqttPassword: "not in a browser: a page gets access tokens from tokenProvider, never a password",
  oidcUsername: "not in a browser: a page gets access tokens from tokenProvider (no OIDC password login)",
  oidcPassword: "not in a browser: a page gets access tokens from tokenProvider (no OIDC password login)",
  oidcClientId: "not in a browser: a page gets access tokens from tokenProvider (no OIDC password login)",
  oidc: "not in a browser: a page gets access tokens from tokenProvider (no OIDC password login)"
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

/** Checks the token provider preset's settings. */
export const checkTokenProvider = <A extends TokenProviderSettings>(value: A): Result.Result<A, ConfigurationError> =>
  Result.flatMap(
    check(tokenProviderSettings, value, { required: ["environment", "tokenProvider"], notes }),
    withBrokerUrl
  )

/** Checks the Promise front door's token provider preset: its settings and the front door's options together. */
export const checkFacadeTokenProvider = <A extends TokenProviderSettings & FacadeOptions>(
  value: A
): Result.Result<A, ConfigurationError> =>
  Result.flatMap(
    check({ ...tokenProviderSettings, ...facade }, value, { required: ["environment", "tokenProvider"], notes }),
    withBrokerUrl
  )

/** The broker URL of a page's options, which must be a WebSocket one: a page cannot open a TCP socket. */
const withWebSocketUrl = <A extends BrowserOptions>(checked: A): Result.Result<A, ConfigurationError> => {
  const url = checked.brokerUrl ??
    (typeof checked.environment === "string" ? Environment.byName(checked.environment) : checked.environment).brokerUrl
  return Result.flatMap(
    BrokerUrl.parse(url),
    (address) =>
      address.transport === "websocket" ? Result.succeed(checked) : Result.fail(
        new ConfigurationError({
          reason: "InvalidBrokerUrl",
          detail: `broker URL ${JSON.stringify(address.url)} cannot be reached from a browser: ` +
            `a page connects over WebSockets only (wss://, or ws:// for a local broker)`
        })
      )
  )
}

/** A page's auth is the token provider or an `Auth` layer: given both, which one was meant is unknown. */
const oneAuth = <A extends BrowserOptions>(checked: A): Result.Result<A, ConfigurationError> =>
  checked.tokenProvider !== undefined && checked.auth !== undefined
    ? Result.fail(
      new ConfigurationError({
        reason: "InvalidOption",
        detail: "invalid StellaNow options: give \"tokenProvider\" or \"auth\", not both"
      })
    )
    : Result.succeed(checked)

const browserRequired = ["organizationId", "projectId", "environment"]

/** Checks the browser entry's options. */
export const checkBrowser = <A extends BrowserOptions>(value: A): Result.Result<A, ConfigurationError> =>
  Result.flatMap(
    check(browser, value, { required: browserRequired, notes: { ...notes, ...notInPage } }),
    (checked) => Result.flatMap(oneAuth(checked), withWebSocketUrl)
  )

/** Checks the browser entry's Promise front door: its options and the front door's together. */
export const checkFacadeBrowser = <A extends BrowserOptions & FacadeOptions>(
  value: A
): Result.Result<A, ConfigurationError> =>
  Result.flatMap(
    check({ ...browser, ...facade }, value, { required: browserRequired, notes: { ...notes, ...notInPage } }),
    (checked) => Result.flatMap(oneAuth(checked), withWebSocketUrl)
  )
