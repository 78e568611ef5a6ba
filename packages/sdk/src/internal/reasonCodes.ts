/**
 * MQTT's reason codes by name, for errors and logs: MQTT 5's, and MQTT 3.1.1's CONNACK return codes
 * (1 to 5). The names are mqtt.js's (`test/unit/reasonCodes.test.ts` ties them), here so that a page
 * using the WebSocket client need not load mqtt.js to name a refusal.
 */
const names: Record<number, string> = {
  1: "Unacceptable protocol version",
  2: "Identifier rejected",
  3: "Server unavailable",
  4: "Bad username or password",
  5: "Not authorized",
  16: "No matching subscribers",
  17: "No subscription existed",
  128: "Unspecified error",
  129: "Malformed Packet",
  130: "Protocol Error",
  131: "Implementation specific error",
  132: "Unsupported Protocol Version",
  133: "Client Identifier not valid",
  134: "Bad User Name or Password",
  135: "Not authorized",
  136: "Server unavailable",
  137: "Server busy",
  138: "Banned",
  139: "Server shutting down",
  140: "Bad authentication method",
  141: "Keep Alive timeout",
  142: "Session taken over",
  143: "Topic Filter invalid",
  144: "Topic Name invalid",
  145: "Packet identifier in use",
  146: "Packet Identifier not found",
  147: "Receive Maximum exceeded",
  148: "Topic Alias invalid",
  149: "Packet too large",
  150: "Message rate too high",
  151: "Quota exceeded",
  152: "Administrative action",
  153: "Payload format invalid",
  154: "Retain not supported",
  155: "QoS not supported",
  156: "Use another server",
  157: "Server moved",
  158: "Shared Subscriptions not supported",
  159: "Connection rate exceeded",
  160: "Maximum connect time",
  161: "Subscription Identifiers not supported",
  162: "Wildcard Subscriptions not supported"
}

/** The name of a reason code, if MQTT gives it one. */
export const name = (code: number): string | undefined => names[code]

/** Every named code, for the test that ties the names to mqtt.js's. */
export const all: Readonly<Record<number, string>> = names

/** A reason code in hexadecimal, as MQTT 5 lists them: `0x95`. */
export const hex = (code: number): string => `0x${code.toString(16).padStart(2, "0")}`

/** A reason code with its name: `0x95 (Packet too large)`. */
export const describe = (code: number): string => {
  const known = names[code]
  return `${hex(code)}${known === undefined ? "" : ` (${known})`}`
}
