import { StellaNowSDK, ValidationError } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { describe, expect, it } from "vitest"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"

const recorder = () => {
  const lines: Array<{ level: string; text: string; context: unknown }> = []
  const record = (level: string) => (text: string, context?: unknown) => void lines.push({ level, text, context })
  return {
    lines,
    logger: { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") }
  }
}

describe("the Promise front door", () => {
  it("sends, waits for the acknowledgement, reports the queue, and closes", async () => {
    await using sdk = new StellaNowSDK(Testing.layer(), { logLevel: "none" })
    const queued = await sdk.sendMessage(new UserDetailsUpdateMessage({ patron: "p", user_id: "u0" }))
    expect(await sdk.queueSize()).toBe(1)
    const events: Array<string> = []
    const unsubscribe = await sdk.onEvent((event) => void events.push(event._tag))
    await sdk.start()
    const acked = await sdk.sendMessageAndWait(new UserDetailsUpdateMessage({ patron: "p", user_id: "u1" }))
    expect(acked).not.toBe(queued)
    expect(await sdk.queueSize()).toBe(0)
    expect((await sdk.stop()).remaining).toBe(0)
    expect(events).toContain("Acknowledged")
    unsubscribe()
  })

  it("rejects with the SDK's own error classes", async () => {
    await using sdk = new StellaNowSDK(Testing.layer(), { logLevel: "none" })
    const bad = Object.create(UserDetailsUpdateMessage.prototype)
    await expect(sdk.sendMessage(bad)).rejects.toBeInstanceOf(ValidationError)
    await expect(sdk.sendMessage(bad)).rejects.toMatchObject({ _tag: "ValidationError", reason: "MissingEntity" })
  })

  it("sends the SDK's logs to the user's logger, at the user's level, annotated", async () => {
    const { lines, logger } = recorder()
    const sdk = new StellaNowSDK(Testing.layer({ queueOptions: { capacity: 1 } }), { logger, logLevel: "info" })
    await sdk.sendMessage(new UserDetailsUpdateMessage({ patron: "p", user_id: "u0" }))
    await sdk.sendMessage(new UserDetailsUpdateMessage({ patron: "p", user_id: "u1" }))
    await sdk.start()
    await sdk.stop()
    await sdk.close()
    expect(lines.some((l) => l.level === "warn" && l.text.includes("was dropped"))).toBe(true)
    expect(lines.some((l) => l.level === "info" && l.text.includes("started"))).toBe(true)
    expect(lines.some((l) => l.level === "debug")).toBe(false)
    expect(lines.find((l) => l.text.includes("started"))?.context).toMatchObject({ module: "StellaNow" })

    const quiet = recorder()
    const warnOnly = new StellaNowSDK(Testing.layer(), { logger: quiet.logger, logLevel: "warn" })
    await warnOnly.start()
    await warnOnly.close()
    expect(quiet.lines.filter((l) => l.level === "info")).toEqual([])
  })
})
