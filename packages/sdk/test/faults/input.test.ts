/**
 * Bad input at every public entry: messages, broker URLs, environment values and options. Each is a
 * typed error with a `reason` and a message naming the problem (never a secret's value); a bad message
 * leaves the queue as it was, and the SDK goes on delivering.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  type ConfigurationError,
  configureSdk,
  Environment,
  Message,
  type MessageQueue,
  type StellaNow,
  StellaNowLive,
  type StoreError,
  ValidationError
} from "@stellanow/sdk"
import { ConfigProvider, Effect, Layer, References, Result } from "effect"
import * as Messages from "../fixtures/messages.js"
import { mosquittoResource, subscribe } from "../support/Mosquitto.js"
import { buildSdk, message, project } from "./support.js"

const secret = "s3cr3t-do-not-print"

/**
 * A message of the class with these fields, as a caller bypassing its constructor makes it (a cast, a
 * deserialized object): Effect 4's `disableChecks` skips filters but still checks types, so the
 * constructor can no longer be talked into making these.
 */
const unchecked = (fields: Record<string, unknown>): unknown =>
  Object.assign(Object.create(Messages.UserDetailsUpdateMessage.prototype), fields)

/** Messages that break a rule, each made the way a caller could make it, and the error expected. */
const badMessages: ReadonlyArray<readonly [string, () => unknown, string, string]> = [
  ["a field of the wrong type", () => unchecked({ patron: "p", user_id: 42 }), "InvalidField", "user_id"],
  ["no entity", () => unchecked({ user_id: "u" }), "MissingEntity", "entity"],
  [
    "an impossible origin date",
    () => unchecked({ patron: "p", user_id: "u", messageOriginDateUTC: "2025-02-30T12:00:00.000Z" }),
    "InvalidOriginDate",
    "2025-02-30T12:00:00.000Z"
  ],
  [
    "an origin date with an offset",
    () => unchecked({ patron: "p", user_id: "u", messageOriginDateUTC: "2025-04-25T12:34:56.789+00:00" }),
    "InvalidOriginDate",
    "+00:00"
  ],
  [
    "an invalid Date",
    () => unchecked({ patron: "p", user_id: "u", messageOriginDateUTC: new Date("nope") }),
    "InvalidOriginDate",
    "NaN"
  ],
  ["a plain object", () => ({ eventName: "user_details_update", payload: "{}" }), "InvalidPayload", "not a StellaNow"],
  ["null", () => null, "InvalidPayload", "not a StellaNow"]
]

/** Builds the SDK's layer, which must fail, and gives its error. */
const buildError = (layer: Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError>) =>
  Layer.build(layer).pipe(Effect.scoped, Effect.flip, Effect.timeout("10 seconds"), Effect.orDie)

// Empty values kept as values (Effect 4's environment provider reads an empty variable as missing by
// default), so an empty username is checked as such.
const fromEnv = (variables: Record<string, string>) =>
  ConfigProvider.fromEnvRecord(variables, { preserveEmptyStrings: true })

describe("bad input", () => {
  it.live("every bad message is a ValidationError; the queue keeps what it had and delivery goes on", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      const subscriber = yield* Effect.acquireRelease(
        Effect.promise(() => subscribe(broker.url("mqtt"), "in/#")),
        (s) => Effect.promise(() => s.close())
      )
      const sdk = yield* buildSdk(
        StellaNowLive.layer({
          auth: "none",
          environment: Environment.custom({ brokerUrl: broker.url("mqtt") }),
          ...project
        })
      )
      for (let i = 0; i < 5; i++) yield* sdk.sendMessage(message(i))
      for (const [label, make, reason, named] of badMessages) {
        for (const entry of [sdk.sendMessage, sdk.sendMessageAndWait]) {
          const error = yield* Effect.flip(entry(make() as Message.Message))
          assert.strictEqual(error._tag, "ValidationError", label)
          assert.strictEqual(error._tag === "ValidationError" ? error.reason : undefined, reason, label)
          assert.include(error.message, named, label)
          assert.strictEqual(yield* sdk.queueSize, 5, `${label}: nothing queued, nothing lost`)
        }
      }
      yield* sdk.start
      yield* sdk.sendMessageAndWait(message(5))
      yield* Effect.promise(() => subscriber.waitFor(6))
      assert.strictEqual(subscriber.messages.length, 6)
      assert.strictEqual(yield* sdk.queueSize, 0)
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Warn")))

  it.effect("a bad field throws a ValidationError from the message's constructor", () =>
    Effect.sync(() => {
      const bad: ReadonlyArray<readonly [() => unknown, string, string]> = [
        [() => new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: 42 as any }), "InvalidField", "user_id"],
        [() => new Messages.UserDetailsUpdateMessage({ patron: "", user_id: "u" }), "InvalidEntity", "patron"],
        [
          () => new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: "u", messageOriginDateUTC: "yesterday" }),
          "InvalidOriginDate",
          "yesterday"
        ],
        [
          () =>
            Message.raw({
              eventName: "e",
              entities: [{ entityTypeDefinitionId: "patron", entityId: "p" }],
              payload: "[1]"
            }),
          "InvalidPayload",
          "JSON object"
        ],
        [() => Message.raw({ eventName: "e", entities: [], payload: "{}" }), "MissingEntity", "entity"]
      ]
      for (const [make, reason, named] of bad) {
        const error = Result.try(make)
        assert.isTrue(Result.isFailure(error))
        const thrown = Result.isFailure(error)
          ? (error.failure as { _tag?: string; reason?: string; message: string })
          : undefined
        assert.strictEqual(thrown?._tag, "ValidationError")
        assert.strictEqual(thrown?.reason, reason)
        assert.include(thrown?.message, named)
      }
    }))

  it.live("the Promise front door rejects a bad message with the same ValidationError, and keeps working", () =>
    Effect.promise(async () => {
      const sdk = configureSdk({
        auth: "none",
        environment: Environment.custom({ brokerUrl: "mqtt://127.0.0.1:1" }),
        ...project,
        logLevel: "none"
      })
      try {
        await sdk.sendMessage(message(0))
        const error = await sdk.sendMessage({} as Message.Message).then(() => undefined, (e: unknown) => e)
        assert.instanceOf(error, ValidationError)
        assert.strictEqual(error instanceof ValidationError ? error.reason : undefined, "InvalidPayload")
        assert.instanceOf(error, Error)
        await sdk.sendMessage(message(1))
        assert.strictEqual(await sdk.queueSize(), 2)
      } finally {
        await sdk.close()
      }
    }))

  it.live("a bad broker URL is a ConfigurationError naming it, without its credentials", () =>
    Effect.gen(function*() {
      const urls: ReadonlyArray<readonly [string, string]> = [
        ["http://127.0.0.1:1883", "scheme"],
        ["mqtt://", "no host"],
        ["mqtt://127.0.0.1:99999", "99999"],
        ["mqtt://127.0.0.1:port", "port"],
        ["", "empty"],
        [`mqtt://device:${secret}@:1883`, "no host"],
        [`ftp://device:${secret}@broker.example`, "scheme"]
      ]
      for (const [brokerUrl, named] of urls) {
        const error = yield* buildError(
          StellaNowLive.layer({ auth: "none", environment: Environment.custom({ brokerUrl }), ...project })
        )
        assert.strictEqual(error._tag, "ConfigurationError", brokerUrl)
        assert.strictEqual(error.reason, "InvalidBrokerUrl", brokerUrl)
        assert.include(error.message, named, brokerUrl)
        assert.notInclude(error.message, secret, brokerUrl)
      }
    }))

  it.live("bad environment values are a ConfigurationError naming each variable, never a secret", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Record<string, string>, "basic" | "none", string, ReadonlyArray<string>]> = [
        [{ ORGANIZATION_ID: secret, PROJECT_ID: project.projectId }, "none", "InvalidVariable", [
          "ORGANIZATION_ID",
          "UUID"
        ]],
        [{ PROJECT_ID: project.projectId }, "none", "MissingVariable", ["ORGANIZATION_ID"]],
        [{ ...asEnv(project), MQTT_USERNAME: "device" }, "basic", "MissingVariable", ["MQTT_PASSWORD", "basic"]],
        [{ ...asEnv(project), MQTT_PASSWORD: secret }, "basic", "MissingVariable", ["MQTT_USERNAME", "basic"]],
        [
          { ...asEnv(project), MQTT_USERNAME: "", MQTT_PASSWORD: secret },
          "basic",
          "InvalidVariable",
          ["MQTT_USERNAME", "non-empty"]
        ],
        [
          { ...asEnv(project), STELLANOW_BROKER_URL: `ftp://device:${secret}@broker.example` },
          "none",
          "InvalidVariable",
          ["STELLANOW_BROKER_URL", "scheme"]
        ],
        [
          { ...asEnv(project), STELLANOW_API_URL: `api.example.com/${secret}` },
          "none",
          "InvalidVariable",
          ["STELLANOW_API_URL", "http"]
        ]
      ]
      for (const [variables, auth, reason, named] of cases) {
        const error = yield* buildEnvError(variables, auth)
        const label = JSON.stringify(Object.keys(variables))
        assert.strictEqual(error._tag, "ConfigurationError", label)
        assert.strictEqual(error.reason, reason, label)
        for (const name of named) assert.include(error.message, name, label)
        assert.notInclude(error.message, secret, label)
      }
    }))

  it.live("bad variables of the project and of the auth mode are all named in one error (WIRE.md §6)", () =>
    Effect.gen(function*() {
      const error = yield* buildEnvError({ ORGANIZATION_ID: "not-a-uuid", PROJECT_ID: project.projectId }, "basic")
      for (const name of ["ORGANIZATION_ID", "MQTT_USERNAME", "MQTT_PASSWORD"]) assert.include(error.message, name)
      assert.include(error.message, `needed for auth mode "basic"`)
      // The endpoint variables are read with them.
      const endpoints = yield* buildEnvError({
        PROJECT_ID: project.projectId,
        STELLANOW_BROKER_URL: "ftp://broker.example",
        STELLANOW_API_URL: "api.example.com"
      }, "none")
      assert.strictEqual(endpoints.reason, "MissingVariable")
      for (const name of ["ORGANIZATION_ID", "STELLANOW_BROKER_URL", "STELLANOW_API_URL"]) {
        assert.include(endpoints.message, name)
      }
    }))

  it.live("bad options are a ConfigurationError naming the option", () =>
    Effect.gen(function*() {
      const options: ReadonlyArray<readonly [Partial<StellaNowLive.Settings>, string]> = [
        [{ queueCapacity: -1 }, "queueCapacity"],
        [{ queueCapacity: 0 }, "queueCapacity"],
        [{ queueCapacity: 1.5 }, "queueCapacity"],
        [{ overflow: "dropSome" as MessageQueue.OverflowPolicy }, "overflow"],
        [{ maxInFlight: 0 }, "maxInFlight"],
        [{ maxInFlight: Number.NaN }, "maxInFlight"],
        [{ startTimeout: 0 }, "startTimeout"],
        [{ stopGracePeriod: "-1 seconds" }, "stopGracePeriod"],
        [{ keepAlive: "0 seconds" }, "keepAlive"],
        [{ connectTimeout: 0 }, "connectTimeout"],
        [{ maxTakeovers: 0 }, "maxTakeovers"],
        [{ maxAuthFailures: -2 }, "maxAuthFailures"],
        [{ clientId: "" }, "clientId"]
      ]
      for (const [option, named] of options) {
        const error = yield* buildError(
          StellaNowLive.layer({
            auth: "none",
            environment: Environment.custom({ brokerUrl: "mqtt://127.0.0.1:1" }),
            ...project,
            ...option
          })
        )
        const label = JSON.stringify(option)
        assert.strictEqual(error._tag, "ConfigurationError", label)
        assert.strictEqual(error.reason, "InvalidOption", label)
        assert.include(error.message, named, label)
      }
    }))
})

const asEnv = (info: typeof project) => ({ ORGANIZATION_ID: info.organizationId, PROJECT_ID: info.projectId })

/** The error of building the SDK with only these environment variables. */
const buildEnvError = (variables: Record<string, string>, auth: "basic" | "none") =>
  buildError(StellaNowLive.layer({ auth, environment: Environment.custom({ brokerUrl: "mqtt://127.0.0.1:1" }) })).pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, fromEnv(variables))
  )
