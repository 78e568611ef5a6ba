/**
 * The options of the front doors are checked where they enter, for callers without TypeScript: the
 * Promise presets throw a `ConfigurationError` from `configure…Sdk(…)` itself, the Effect presets fail
 * their layer with it. The error names each bad option, what was given (never a secret) and what is
 * accepted, and suggests the option a misspelt name meant.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Sdk from "@stellanow/sdk"
import {
  ConfigurationError,
  DeadLetters,
  Environment,
  MessageQueue,
  StellaNowLive,
  StellaNowSDK,
  type StellaNowSDK as Facade,
  type StoreError
} from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect, Layer, Redacted, Result, Schedule } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const project = {
  organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
}

const settings = {
  auth: "none" as const,
  environment: Environment.custom({ brokerUrl: "mqtt://127.0.0.1:1" }),
  ...project
}

/** What `make` threw: it must be a ConfigurationError about options. */
const thrown = (make: () => unknown): ConfigurationError => {
  try {
    make()
  } catch (error) {
    assert.instanceOf(error, ConfigurationError)
    assert.strictEqual((error as ConfigurationError).reason, "InvalidOption")
    return error as ConfigurationError
  }
  return assert.fail("expected a ConfigurationError to be thrown")
}

/** Why building the layer failed. */
const buildError = <A>(layer: Layer.Layer<A, ConfigurationError | StoreError>) =>
  Effect.flip(Effect.scoped(Layer.build(layer)))

/** The Promise presets that need settings (the auth, the environment): the generic ones. */
const genericPresets = new Set(["configureSdk", "configureTokenProviderSdk"])

/** Every Promise preset but the generic ones, by name. */
const promisePresets = Object.entries(Sdk).filter(([name]) =>
  /^configure\w+Sdk$/.test(name) && !genericPresets.has(name)
)
  .map(([name, preset]) => [name, preset as (options?: unknown) => Facade] as const)

/** Every Effect preset but the generic one, by name. */
const effectPresets = Object.entries(StellaNowLive).filter(([name]) => /MqttFifo$|MqttLifo$/.test(name))
  .map(([name, preset]) => [name, preset as (options?: unknown) => Layer.Layer<unknown, ConfigurationError>] as const)

describe("the Promise front door's options", () => {
  it("the README's example is what a preset throws", () => {
    const readme = fs.readFileSync(
      path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../README.md"),
      "utf8"
    )
    const example = /`(invalid StellaNow options: [^`]*)`/.exec(readme)?.[1]
    assert.isDefined(example)
    assert.strictEqual(
      thrown(() => Sdk.configureDevOidcMqttFifoSdk({ logLevel: "warning", queueCapcity: 10 } as any)).message,
      example
    )
  })

  it("logLevel \"warning\" throws at once, naming the option, the value and the allowed ones", () => {
    const error = thrown(() => Sdk.configureSdk({ ...settings, logLevel: "warning" } as any))
    assert.strictEqual(
      error.message,
      `invalid StellaNow options: option "logLevel" must be "debug", "info", "warn", "error" or "none", got "warning"`
    )
    assert.strictEqual(
      thrown(() => new StellaNowSDK(Testing.layer(), { logLevel: "warning" as any })).message,
      error.message
    )
  })

  it("every preset throws at once for a misspelt option, suggesting the one it meant", () => {
    assert.isAtLeast(promisePresets.length, 9)
    for (const [name, preset] of promisePresets) {
      assert.strictEqual(
        thrown(() => preset({ queueCapcity: 10 })).message,
        `invalid StellaNow options: unknown option "queueCapcity" (did you mean "queueCapacity"?)`,
        name
      )
    }
    assert.include(
      thrown(() => Sdk.configureSdk({ ...settings, QueueCapacity: 10 } as any)).message,
      `unknown option "QueueCapacity" (did you mean "queueCapacity"?)`
    )
    assert.include(
      thrown(() =>
        Sdk.configureTokenProviderSdk(
          {
            environment: "prod",
            tokenProvider: async () => ({ accessToken: "t", expiresAt: 1 }),
            QueueCapacity: 10
          } as any
        )
      ).message,
      `unknown option "QueueCapacity" (did you mean "queueCapacity"?)`
    )
    // Nothing close: no guess.
    assert.strictEqual(
      thrown(() => Sdk.configureDevOidcMqttFifoSdk({ colour: "blue" } as any)).message,
      `invalid StellaNow options: unknown option "colour"`
    )
  })

  it("a preset says why auth and environment are not its options", () => {
    assert.include(
      thrown(() => Sdk.configureDevOidcMqttFifoSdk({ auth: "basic" } as any)).message,
      `unknown option "auth": the preset sets it; choose it with configureSdk or StellaNowLive.layer`
    )
  })

  it("names every bad option in one error, with what each accepts", () => {
    const error = thrown(() =>
      Sdk.configureSdk({
        auth: "password",
        environment: "staging",
        organizationId: 42,
        queue: "priority",
        queueCapacity: "10",
        overflow: "drop",
        protocolVersion: 3,
        keepAlive: "5 secs",
        reconnectSchedule: 1000,
        tls: { rejectUnauthorized: "false", ca: 7 },
        oidc: { tokenURL: "https://idp/token", clockSkew: "ten seconds" }
      } as any)
    )
    const problems = error.message.replace("invalid StellaNow options: ", "").split("; ")
    assert.deepStrictEqual(
      problems.sort(),
      [
        `option "auth" must be "oidc", "basic", "none" or an Auth layer, got "password"`,
        `option "environment" must be "prod", "dev", "local" or an Environment (Environment.custom({ brokerUrl, apiBaseUrl })), got "staging"`,
        `option "keepAlive" must be a positive, finite duration ("5 seconds", a number of milliseconds or a Duration), got "5 secs"`,
        `option "oidc.clockSkew" must be a finite duration ("5 seconds", a number of milliseconds or a Duration), got "ten seconds"`,
        `option "organizationId" must be a UUID, got 42`,
        `option "overflow" must be "dropOldest", "dropNewest" or "fail", got "drop"`,
        `option "protocolVersion" must be 4 or 5, got 3`,
        `option "queue" must be "fifo", "lifo" or a MessageQueue layer, got "priority"`,
        `option "queueCapacity" must be a whole number of at least 1, got "10"`,
        `option "reconnectSchedule" must be an Effect Schedule, got 1000`,
        `option "tls.ca" must be a PEM string or Buffer, or an array of them, got 7`,
        `option "tls.rejectUnauthorized" must be true or false, got "false"`,
        `unknown option "oidc.tokenURL" (did you mean "oidc.tokenUrl"?)`
      ].sort()
    )
  })

  it("a logger needs the four methods; a class instance's (pino's) count", () => {
    assert.strictEqual(
      thrown(() => new StellaNowSDK(Testing.layer(), { logger: { info: () => {} } as any })).message,
      `invalid StellaNow options: option "logger" must be a logger with debug, info, warn and error methods ` +
        `(console, pino, winston…), got an object without debug, warn or error`
    )
    assert.include(
      thrown(() => new StellaNowSDK(Testing.layer(), { logger: "console" as any })).message,
      `got "console"`
    )
    class ProtoLogger {
      debug() {}
      info() {}
      warn() {}
      error() {}
    }
    const sdk = new StellaNowSDK(Testing.layer(), { logger: new ProtoLogger(), logLevel: "none" })
    return sdk.close()
  })

  it("options that are not an object, and the generic preset without auth or environment", () => {
    assert.strictEqual(
      thrown(() => Sdk.configureDevOidcMqttFifoSdk("dev" as any)).message,
      `invalid StellaNow options: the options must be an object, got "dev"`
    )
    assert.include(thrown(() => Sdk.configureSdk(null as any)).message, "the options must be an object, got null")
    const missing = thrown(() => Sdk.configureSdk({ environment: "dev" } as any)).message
    assert.include(missing, `option "auth" must be "oidc", "basic", "none" or an Auth layer, got undefined`)
  })

  it("never shows a secret's value, only its type", () => {
    const secret = 31415926535
    const error = thrown(() =>
      Sdk.configureLocalNanomqBasicMqttFifoSdk({
        mqttPassword: secret,
        oidcPassword: ["hunter2-secret"],
        tls: { key: secret }
      } as any)
    )
    assert.include(error.message, `option "mqttPassword" must be a non-empty string or a Redacted string, got a number`)
    assert.include(error.message, `option "oidcPassword" must be a non-empty string or a Redacted string, got an array`)
    assert.include(error.message, `option "tls.key" must be a PEM string or Buffer, got a number`)
    assert.notInclude(error.message, String(secret))
    assert.notInclude(error.message, "hunter2")
  })

  it("a negative, NaN or made-up duration is refused, though Effect 4's Duration reads each", () => {
    const error = thrown(() =>
      Sdk.configureSdk({ ...settings, closeTimeout: "-5 seconds", keepAlive: Number.NaN, stableAfter: {} } as any)
    )
    const duration = `finite duration ("5 seconds", a number of milliseconds or a Duration)`
    assert.deepStrictEqual(error.message.replace("invalid StellaNow options: ", "").split("; "), [
      `option "keepAlive" must be a positive, ${duration}, got NaN`,
      `option "stableAfter" must be a positive, ${duration}, got an object`,
      `option "closeTimeout" must be a ${duration}, got "-5 seconds"`
    ])
  })

  it.effect("the service's own check refuses a negative duration too", () =>
    Effect.gen(function*() {
      const error = yield* buildError(Testing.layer({ closeTimeout: "-5 seconds" }))
      assert.strictEqual(error.message, "closeTimeout must be a finite duration, got -5s")
    }))

  it("undefined is an option left out", () => {
    const sdk = Sdk.configureDevBasicMqttLifoSdk({ logLevel: undefined, queue: undefined, keepAlive: undefined })
    return sdk.close()
  })
})

describe("the Effect presets' options", () => {
  it.effect("every preset fails its layer for a misspelt option", () =>
    Effect.gen(function*() {
      assert.isAtLeast(effectPresets.length, 9)
      for (const [name, preset] of effectPresets) {
        const error = yield* buildError(preset({ queueCapcity: 10 }))
        assert.instanceOf(error, ConfigurationError, name)
        assert.strictEqual(
          error.message,
          `invalid StellaNow options: unknown option "queueCapcity" (did you mean "queueCapacity"?)`,
          name
        )
      }
    }))

  it.effect("the front door's own options are not the layer's, and the error says where they belong", () =>
    Effect.gen(function*() {
      const error = yield* buildError(StellaNowLive.layer({ ...settings, logLevel: "debug" } as any))
      assert.strictEqual(
        error.message,
        `invalid StellaNow options: unknown option "logLevel": an option of the Promise front door ` +
          `(configure…Sdk); with Effect, provide a Logger layer`
      )
    }))

  it.effect("a bad value fails the layer naming the option", () =>
    Effect.gen(function*() {
      const error = yield* buildError(
        StellaNowLive.layer({ ...settings, maxInFlight: 0, brokerUrl: 1883, maxAttempts: 0, deadLetters: {} } as any)
      )
      assert.strictEqual(
        error.message,
        `invalid StellaNow options: option "brokerUrl" must be a broker URL (mqtt://, mqtt-tcp://, mqtts://, ws:// ` +
          `or wss://), got 1883; option "deadLetters" must be a DeadLetters layer, got an object; ` +
          `option "maxInFlight" must be a whole number of at least 1, got 0; ` +
          `option "maxAttempts" must be a whole number of at least 1, got 0`
      )
    }))

  it("a broker URL is checked where it enters too, keeping its reason and hiding its user information", () => {
    const ftp = "ftp://user:pa55word@host"
    for (
      const make of [
        () => Sdk.configureLocalNanomqBasicMqttFifoSdk({ brokerUrl: ftp }),
        () => Sdk.configureSdk({ ...settings, environment: Environment.custom({ brokerUrl: ftp }) } as any)
      ]
    ) {
      const error = Result.flip(Result.try(make))
      assert.isTrue(Result.isSuccess(error))
      const thrownError = Result.getOrThrow(error)
      assert.instanceOf(thrownError, ConfigurationError)
      assert.strictEqual(thrownError.reason, "InvalidBrokerUrl")
      assert.strictEqual(
        thrownError.message,
        `broker URL "ftp://***@host" is invalid: the scheme must be one of mqtt://, mqtt-tcp://, mqtts://, ws://, wss://`
      )
    }
  })

  it.effect("every option, given a good value, builds (without connecting)", () =>
    Effect.gen(function*() {
      const layer = StellaNowLive.layer({
        ...settings,
        environment: "local",
        brokerUrl: "mqtts://127.0.0.1:1",
        mqttUsername: "user",
        mqttPassword: Redacted.make("password"),
        oidcUsername: "user",
        oidcPassword: "password",
        oidcClientId: "client",
        oidc: {
          tokenUrl: "https://idp.example/token",
          refreshBeforeExpiry: "60 seconds",
          retrySchedule: Schedule.spaced("1 second"),
          clockSkew: 0,
          requestTimeout: 5000
        },
        queue: MessageQueue.layerLifo(),
        queueCapacity: 10,
        overflow: "fail",
        clientId: "client-1",
        tls: { ca: ["pem", Buffer.from("pem")], cert: "pem", key: Buffer.from("pem"), rejectUnauthorized: false },
        protocolVersion: 4,
        keepAlive: "10 seconds",
        connectTimeout: 1000,
        reconnectSchedule: Schedule.spaced("1 second"),
        stableAfter: "1 minute",
        maxAuthFailures: 1,
        maxTakeovers: 1,
        renewBeforeExpiry: "10 seconds",
        clientOptions: { resubscribe: false },
        maxInFlight: 10,
        maxAttempts: 2,
        publishTimeout: "5 seconds",
        deadLetters: DeadLetters.layerMemory({ capacity: 10 }),
        startTimeout: "1 second",
        stopGracePeriod: "1 second"
      })
      const built = yield* Effect.result(Effect.scoped(Layer.build(layer)))
      assert.isTrue(Result.isSuccess(built), Result.isFailure(built) ? built.failure.message : "")
    }))
})
