/**
 * The reason codes' names (`src/internal/reasonCodes.ts`), kept so that a page using the WebSocket
 * client need not load mqtt.js to name a refusal, are mqtt.js's own: the same name for every code, and
 * no code mqtt.js names left out.
 */
import { assert, describe, it } from "@effect/vitest"
import { ReasonCodes as MqttJs } from "mqtt"
import * as ReasonCodes from "../../src/internal/reasonCodes.js"

/** mqtt.js's table by numeric code, without its empty name for 0 (success). */
const mqttJsNames = Object.entries(MqttJs as Record<string, string>)
  .filter(([, name]) => name !== "")
  .map(([code, name]) => [Number(code), name] as const)

describe("ReasonCodes", () => {
  it("names every code as mqtt.js does", () => {
    const ours = Object.entries(ReasonCodes.all).map(([code, name]) => [Number(code), name] as const)
    assert.isAbove(ours.length, 0)
    for (const [code, name] of ours) {
      assert.strictEqual(name, (MqttJs as Record<number, string>)[code], `code ${code}`)
      assert.strictEqual(ReasonCodes.name(code), name)
    }
  })

  it("leaves out no code mqtt.js names", () => {
    assert.isAbove(mqttJsNames.length, 40)
    for (const [code, name] of mqttJsNames) assert.strictEqual(ReasonCodes.all[code], name, `code ${code}`)
  })

  it("describes a code in hexadecimal with its name, and an unknown one by its number alone", () => {
    assert.strictEqual(ReasonCodes.describe(0x95), "0x95 (Packet too large)")
    assert.strictEqual(ReasonCodes.describe(0x10), "0x10 (No matching subscribers)")
    assert.strictEqual(ReasonCodes.describe(0xfe), "0xfe")
    assert.strictEqual(ReasonCodes.hex(5), "0x05")
    assert.isUndefined(ReasonCodes.name(0))
  })
})
