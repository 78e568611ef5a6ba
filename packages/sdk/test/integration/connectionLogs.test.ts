/**
 * `logLevel: "debug"` is enough to troubleshoot a connection, without mqtt.js's `DEBUG=mqttjs*` (which
 * prints the CONNECT packet, password included): every attempt with its broker URL and client id, the
 * CONNACK's reason code, refusals, disconnects, and what each connection published. Against a real
 * mosquitto with a password file; every line and its context is searched for the password.
 */
import { configureSdk, Environment, type UserLogger } from "@stellanow/sdk"
import { Schedule } from "effect"
import * as util from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Messages from "../fixtures/messages.js"
import { type Mosquitto, startMosquitto } from "../support/Mosquitto.js"

const password = "pw-9f8e7d6c5b4a39281706"

/** A user logger keeping every line with its context, as the SDK hands them over. */
const recorder = () => {
  const lines: Array<string> = []
  const record = (level: string) => (text: string, ...rest: Array<unknown>) =>
    void lines.push(`${level} ${text} ${util.inspect(rest, { depth: 8 })}`)
  const logger: UserLogger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error")
  }
  return { lines, logger }
}

let broker: Mosquitto

beforeAll(async () => {
  broker = await startMosquitto({ users: { device: password } })
})

afterAll(async () => {
  await broker?.dispose()
})

const sdkWith = (secret: string, logger: UserLogger) =>
  configureSdk({
    auth: "basic",
    environment: Environment.custom({ brokerUrl: broker.url("mqtt") }),
    organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
    projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
    mqttUsername: "device",
    mqttPassword: secret,
    clientId: "debug-log-test",
    maxAuthFailures: 1,
    reconnectSchedule: Schedule.spaced("100 millis"),
    logger,
    logLevel: "debug"
  })

const message = (i: number) => new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })

describe("the SDK's debug logs", () => {
  it("name each attempt, the CONNACK, refusals, disconnects and publish counts, and never the password", async () => {
    const { lines, logger } = recorder()
    const url = broker.url("mqtt")

    // A refused CONNECT.
    const refused = sdkWith(`${password}-wrong`, logger)
    await expect(refused.start()).rejects.toMatchObject({ _tag: "ConnectionError", reason: "Refused" })
    await refused.close()

    // A good connection, lost when the broker restarts, then a second one.
    const sdk = sdkWith(password, logger)
    try {
      await sdk.start()
      for (let i = 0; i < 3; i++) await sdk.sendMessageAndWait(message(i))
      let disconnected: () => void = () => {}
      const lost = new Promise<void>((resolve) => disconnected = resolve)
      const unsubscribe = await sdk.onEvent((event) => {
        if (event._tag === "ConnectionChanged" && event.state._tag === "Disconnected") disconnected()
      })
      await broker.stop()
      // The SDK has seen the connection go: nothing more is published on it.
      await lost
      unsubscribe()
      await broker.start()
      await sdk.sendMessageAndWait(message(3))
      await sdk.stop()
    } finally {
      await sdk.close()
    }

    /** The lines logged at `level` whose text matches. */
    const logged = (level: string, text: RegExp) =>
      lines.filter((line) => line.startsWith(`${level} [stellanow] `) && text.test(line.slice(level.length + 13)))
    const escaped = url.replace(/[.:/]/g, "\\$&")

    const attempt = (n: number) =>
      new RegExp(
        `^connect attempt ${n} to ${escaped} as client id "debug-log-test" ` +
          `\\(MQTT 5, keepalive 30 s, a username and a password \\(not shown\\)\\)`
      )
    expect(logged("debug", attempt(1))).toHaveLength(2)
    expect(logged("debug", attempt(2))).toHaveLength(1)
    expect(
      logged(
        "warn",
        /^connection refused \(1\/1\) .*\(reason code 0x8[67] \((Bad User Name or Password|Not authorized)\)\)/
      )
    ).toHaveLength(1)
    expect(logged("debug", new RegExp(`^CONNACK from ${escaped}: reason code 0, session present false`)))
      .toHaveLength(2)
    expect(logged("info", new RegExp(`^connection lost; reconnecting the connection to ${escaped} closed`)))
      .toHaveLength(1)
    const summaries = logged("debug", new RegExp(`^connection to ${escaped} ended after [\\d.]+ s: `))
    expect(summaries).toHaveLength(2)
    expect(summaries[0]).toContain(
      "publishes: 3 sent, 3 acknowledged, 0 refused by the broker, 0 unacknowledged when it ended"
    )
    expect(summaries[1]).toContain(
      "publishes: 1 sent, 1 acknowledged, 0 refused by the broker, 0 unacknowledged when it ended"
    )

    const all = lines.join("\n")
    expect(all).toContain("clientId")
    expect(all).not.toContain(password)
  })
})
