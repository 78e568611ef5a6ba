/**
 * The bytes a message takes: its envelope's body in UTF-8 (what the queues' byte budget counts) and
 * the MQTT PUBLISH packet it makes (what the broker's Maximum Packet Size and the `maxMessageBytes`
 * option bound). Measured once, when the message is wrapped; an envelope made elsewhere (a persistent
 * queue's row, a test's) is measured when asked.
 */
import type { Envelope } from "../Envelope.js"
import { ValidationError } from "../StellaNowError.js"
import * as MqttCodec from "./mqttCodec.js"

/** Node's `Buffer.byteLength`, when there is a `Buffer`: native, and no copy of the string. */
const nodeByteLength = (globalThis as { Buffer?: { byteLength(text: string, encoding: "utf8"): number } }).Buffer
  ?.byteLength

/**
 * A string's length in UTF-8 bytes where there is no `Buffer` (pages, Deno without Node globals): the
 * platform's `TextEncoder` (a lone surrogate counts as U+FFFD, three bytes, as it is sent).
 */
const encodedLength = (text: string): number => new TextEncoder().encode(text).length

/** A string's length in UTF-8 bytes. */
export const utf8Length = (text: string): number =>
  nodeByteLength === undefined ? encodedLength(text) : nodeByteLength(text, "utf8")

/** The envelope's body in UTF-8 bytes: as measured at wrapping, or measured now. */
export const bodyBytes = (envelope: Envelope): number => envelope.byteLength ?? utf8Length(envelope.body)

/**
 * The size of the PUBLISH packet the SDK sends for the envelope (QoS 1, MQTT 5, no properties), as the
 * codec lays it out. One byte more than MQTT 3.1.1's packet, which has no property length.
 */
export const publishPacketBytes = (envelope: Envelope): number =>
  MqttCodec.publishSize(utf8Length(envelope.topic), bodyBytes(envelope), 5)

const format = (n: number): string => n.toLocaleString("en-US")

/**
 * The `ValidationError` (reason `TooLarge`) of a message whose PUBLISH packet is over the
 * `maxMessageBytes` option or the broker's Maximum Packet Size (`undefined` before the first CONNACK,
 * or when the broker announced none); `undefined` when it fits.
 */
export const tooLarge = (
  envelope: Envelope,
  maxMessageBytes: number,
  brokerMaximum: number | undefined
): ValidationError | undefined => {
  const size = publishPacketBytes(envelope)
  if (size <= maxMessageBytes && (brokerMaximum === undefined || size <= brokerMaximum)) return undefined
  // Named after the tighter of the two limits it broke.
  const broker = brokerMaximum !== undefined && size > brokerMaximum && brokerMaximum <= maxMessageBytes
  const limit = broker
    ? `the broker's Maximum Packet Size of ${format(brokerMaximum)} bytes (from its CONNACK)`
    : `the maxMessageBytes option of ${format(maxMessageBytes)} bytes`
  return new ValidationError({
    reason: "TooLarge",
    event: envelope.eventName,
    detail: `message ${envelope.messageId} is ${format(size)} bytes as an MQTT PUBLISH packet, more than ${limit}; ` +
      `it was not queued`
  })
}
