/**
 * The browser entry (`@stellanow/sdk/browser`) run in Node: what it refuses (TCP brokers, Node-only
 * options, passwords), and delivery over a real mosquitto's websockets listener with its Promise front
 * door and a token provider. The same code in headless Chromium is the browser tests' job.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigurationError, configureBrowserSdk, Environment, StellaNowBrowser } from "@stellanow/sdk/browser"
import { Effect, Exit, Layer } from "effect"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"
import { startMosquitto, subscribe } from "../support/Mosquitto.js"

const organizationId = "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11"
const projectId = "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
const page = { environment: "prod" as const, organizationId, projectId }

const thrown = (f: () => unknown): ConfigurationError => {
  try {
    f()
  } catch (error) {
    assert.instanceOf(error, ConfigurationError)
    return error as ConfigurationError
  }
  return assert.fail("expected a ConfigurationError")
}

describe("the browser entry", () => {
  it("refuses a TCP broker: a page connects over WebSockets only", () => {
    const error = thrown(() =>
      configureBrowserSdk({ ...page, environment: Environment.custom({ brokerUrl: "mqtt://broker.test:1883" }) })
    )
    assert.strictEqual(error.reason, "InvalidBrokerUrl")
    assert.strictEqual(
      error.message,
      "broker URL \"mqtt://broker.test:1883\" cannot be reached from a browser: a page connects over WebSockets " +
        "only (wss://, or ws:// for a local broker)"
    )
    assert.strictEqual(
      thrown(() => configureBrowserSdk({ ...page, brokerUrl: "mqtts://b.test" })).reason,
      "InvalidBrokerUrl"
    )
  })

  it("refuses Node-only options and passwords, naming why, and requires the project", () => {
    const error = thrown(() =>
      configureBrowserSdk({
        ...page,
        tls: { rejectUnauthorized: false },
        oidcPassword: "hunter2-secret",
        clientOptions: {}
      } as unknown as StellaNowBrowser.Options)
    )
    assert.strictEqual(error.reason, "InvalidOption")
    assert.include(error.message, "unknown option \"tls\": not in a browser")
    assert.include(error.message, "unknown option \"oidcPassword\": not in a browser")
    assert.include(error.message, "unknown option \"clientOptions\": not in a browser")
    assert.notInclude(error.message, "hunter2")
    const missing = thrown(() => configureBrowserSdk({ environment: "prod" } as StellaNowBrowser.Options))
    assert.include(missing.message, "option \"organizationId\" must be a UUID")
    assert.include(missing.message, "option \"projectId\" must be a UUID")
    assert.include(
      thrown(() => configureBrowserSdk({ ...page, tokenProvider: "a-token" as never })).message,
      "option \"tokenProvider\" must be a function"
    )
    const both = { ...page, tokenProvider: async () => ({ accessToken: "t", expiresAt: 1 }), auth: "none" as const }
    assert.include(thrown(() => configureBrowserSdk(both)).message, "give \"tokenProvider\" or \"auth\", not both")
  })

  it.effect("the layer fails the same way", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(StellaNowBrowser.layer({ ...page, brokerUrl: "mqtt://b.test" })))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) && exit.cause), "a page connects over WebSockets only")
    }).pipe(Effect.scoped))

  it("delivers over ws:// with a token provider, through the Promise front door", async () => {
    const broker = await startMosquitto({ websockets: true })
    try {
      const subscriber = await subscribe(broker.url("mqtt"), `in/${organizationId}`)
      const reasons: Array<string> = []
      const sdk = configureBrowserSdk({
        ...page,
        environment: Environment.custom({ brokerUrl: broker.url("ws") }),
        tokenProvider: async ({ reason }) => {
          reasons.push(reason)
          return { accessToken: "page-token", expiresAt: Date.now() + 300_000 }
        },
        logLevel: "warn"
      })
      await sdk.start()
      const ids: Array<string> = []
      for (let i = 0; i < 20; i++) {
        ids.push(await sdk.sendMessage(new UserDetailsUpdateMessage({ patron: `p${i}`, user_id: `u${i}` })))
      }
      await subscriber.waitFor(20, 10_000)
      assert.strictEqual((await sdk.close()).remaining, 0)
      const arrived = subscriber.messages.map((m) => JSON.parse(m.payload.toString()).value.metadata.messageId)
      assert.deepStrictEqual(new Set(arrived), new Set(ids))
      assert.deepStrictEqual(reasons, ["first"])
      await subscriber.close()
    } finally {
      await broker.dispose()
    }
  })
})
