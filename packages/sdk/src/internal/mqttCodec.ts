/**
 * The few MQTT packets the WebSocket client (`wsClient.ts`) sends and reads, MQTT 5 and 3.1.1: it sends
 * CONNECT, PUBLISH (QoS 1), PINGREQ and DISCONNECT, and reads CONNACK, PUBACK, PINGRESP and DISCONNECT
 * (anything else is skipped by its length).
 *
 * Written by hand, not taken from mqtt-packet (the codec mqtt.js uses), for the size of a web page:
 * mqtt-packet needs Node's `Buffer`, `events` and streams, and mqtt.js's browser build, which brings
 * them, was 105 KB of the minimal page's 182 KB (minified and gzipped); this module and the client
 * together are about 3 KB.
 * `test/unit/mqttCodec.test.ts` ties it to mqtt-packet: the same bytes out, the same packets read.
 */

/** A packet the SDK reads. Property names and types are mqtt-packet's, so the two compare as they are. */
export type Packet =
  | {
    readonly cmd: "connack"
    readonly sessionPresent: boolean
    /** MQTT 5's reason code; MQTT 3.1.1's return code, as mqtt-packet names it. */
    readonly reasonCode?: number
    readonly returnCode?: number
    readonly properties?: Properties
  }
  | {
    readonly cmd: "puback"
    readonly messageId: number
    readonly reasonCode?: number
    readonly properties?: Properties
  }
  | { readonly cmd: "pingresp" }
  | { readonly cmd: "disconnect"; readonly reasonCode?: number; readonly properties?: Properties }
  | { readonly cmd: "other"; readonly type: number }

/** MQTT 5 properties by mqtt-packet's names: numbers, booleans for the one-byte flags, strings, bytes. */
export type Properties = Record<string, unknown>

/** A packet that does not follow the protocol: the connection cannot be read past it. */
export class MalformedPacket extends Error {
  override readonly name = "MalformedPacket"
}

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder("utf-8", { fatal: true })

// ---------------------------------------------------------------------------------------------------
// Encoding

/** The bytes of the Variable Byte Integer `n` (MQTT's remaining length). */
const varIntLength = (n: number): number => n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4

/** The largest remaining length MQTT can carry. */
export const maxRemainingLength = 268_435_455

/** Writes into a buffer sized beforehand. */
class Writer {
  readonly bytes: Uint8Array
  offset = 0
  constructor(length: number) {
    this.bytes = new Uint8Array(length)
  }
  byte(b: number): void {
    this.bytes[this.offset++] = b
  }
  u16(n: number): void {
    this.bytes[this.offset++] = n >>> 8
    this.bytes[this.offset++] = n & 0xff
  }
  varInt(n: number): void {
    do {
      let digit = n % 128
      n = Math.floor(n / 128)
      if (n > 0) digit |= 0x80
      this.byte(digit)
    } while (n > 0)
  }
  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.offset)
    this.offset += bytes.length
  }
  /** A length-prefixed string or binary field. */
  field(bytes: Uint8Array): void {
    this.u16(bytes.length)
    this.raw(bytes)
  }
}

/** A packet of `type` with its fixed header, its body written by `write` into `bodyLength` bytes. */
const packet = (firstByte: number, bodyLength: number, write: (writer: Writer) => void): Uint8Array => {
  if (bodyLength > maxRemainingLength) {
    throw new RangeError(`an MQTT packet carries at most ${maxRemainingLength} bytes`)
  }
  const writer = new Writer(1 + varIntLength(bodyLength) + bodyLength)
  writer.byte(firstByte)
  writer.varInt(bodyLength)
  write(writer)
  return writer.bytes
}

/** What a CONNECT carries. The session always starts clean, and no will is sent. */
export interface ConnectFields {
  readonly protocolVersion: 4 | 5
  readonly clientId: string
  readonly keepAliveSeconds: number
  readonly username?: string | undefined
  readonly password?: string | undefined
}

const protocolName = utf8.encode("MQTT")

/** A CONNECT: clean start, no will, no properties. */
export const connect = (fields: ConnectFields): Uint8Array => {
  const clientId = utf8.encode(fields.clientId)
  const username = fields.username === undefined ? undefined : utf8.encode(fields.username)
  const password = fields.password === undefined ? undefined : utf8.encode(fields.password)
  const v5 = fields.protocolVersion === 5
  const length = 2 + protocolName.length + 1 + 1 + 2 + (v5 ? 1 : 0) +
    2 + clientId.length +
    (username === undefined ? 0 : 2 + username.length) +
    (password === undefined ? 0 : 2 + password.length)
  const flags = 0x02 | (username === undefined ? 0 : 0x80) | (password === undefined ? 0 : 0x40)
  return packet(0x10, length, (w) => {
    w.field(protocolName)
    w.byte(fields.protocolVersion)
    w.byte(flags)
    w.u16(fields.keepAliveSeconds)
    if (v5) w.varInt(0)
    w.field(clientId)
    if (username !== undefined) w.field(username)
    if (password !== undefined) w.field(password)
  })
}

/** The size of a QoS 1 PUBLISH of a payload of `payloadBytes` to a topic of `topicBytes` (UTF-8 bytes). */
export const publishSize = (topicBytes: number, payloadBytes: number, protocolVersion: 4 | 5): number => {
  const body = 2 + topicBytes + 2 + (protocolVersion === 5 ? 1 : 0) + payloadBytes
  return 1 + varIntLength(body) + body
}

/** A PUBLISH, QoS 1, not retained, no properties. */
export const publish = (topic: string, payload: string, messageId: number, protocolVersion: 4 | 5): Uint8Array => {
  const topicBytes = utf8.encode(topic)
  const payloadBytes = utf8.encode(payload)
  const length = 2 + topicBytes.length + 2 + (protocolVersion === 5 ? 1 : 0) + payloadBytes.length
  return packet(0x32, length, (w) => {
    w.field(topicBytes)
    w.u16(messageId)
    if (protocolVersion === 5) w.varInt(0)
    w.raw(payloadBytes)
  })
}

/** A PINGREQ. */
export const pingreq = (): Uint8Array => new Uint8Array([0xc0, 0x00])

/** A DISCONNECT, normal (reason code 0, which MQTT 5 lets a packet leave out). */
export const disconnect = (): Uint8Array => new Uint8Array([0xe0, 0x00])

// ---------------------------------------------------------------------------------------------------
// Decoding

/** How each property is read, by its identifier: its mqtt-packet name and its type. */
const propertyTypes: Record<
  number,
  readonly [string, "bool" | "u8" | "u16" | "u32" | "var" | "string" | "binary" | "pair"]
> = {
  0x01: ["payloadFormatIndicator", "bool"],
  0x02: ["messageExpiryInterval", "u32"],
  0x03: ["contentType", "string"],
  0x08: ["responseTopic", "string"],
  0x09: ["correlationData", "binary"],
  0x0b: ["subscriptionIdentifier", "var"],
  0x11: ["sessionExpiryInterval", "u32"],
  0x12: ["assignedClientIdentifier", "string"],
  0x13: ["serverKeepAlive", "u16"],
  0x15: ["authenticationMethod", "string"],
  0x16: ["authenticationData", "binary"],
  0x17: ["requestProblemInformation", "bool"],
  0x18: ["willDelayInterval", "u32"],
  0x19: ["requestResponseInformation", "bool"],
  0x1a: ["responseInformation", "string"],
  0x1c: ["serverReference", "string"],
  0x1f: ["reasonString", "string"],
  0x21: ["receiveMaximum", "u16"],
  0x22: ["topicAliasMaximum", "u16"],
  0x23: ["topicAlias", "u16"],
  0x24: ["maximumQoS", "u8"],
  0x25: ["retainAvailable", "bool"],
  0x26: ["userProperties", "pair"],
  0x27: ["maximumPacketSize", "u32"],
  0x28: ["wildcardSubscriptionAvailable", "bool"],
  0x29: ["subscriptionIdentifiersAvailable", "bool"],
  0x2a: ["sharedSubscriptionAvailable", "bool"]
}

/** Reads one packet's body; every read checks its bounds. */
class Reader {
  constructor(readonly bytes: Uint8Array, public offset: number, readonly end: number) {}
  private need(n: number): void {
    if (this.offset + n > this.end) throw new MalformedPacket("a packet ended before its fields did")
  }
  get remaining(): number {
    return this.end - this.offset
  }
  byte(): number {
    this.need(1)
    return this.bytes[this.offset++]!
  }
  u16(): number {
    return (this.byte() << 8) | this.byte()
  }
  u32(): number {
    return this.u16() * 65_536 + this.u16()
  }
  varInt(): number {
    let value = 0
    for (let i = 0, multiplier = 1; i < 4; i++, multiplier *= 128) {
      const digit = this.byte()
      value += (digit & 0x7f) * multiplier
      if ((digit & 0x80) === 0) return value
    }
    throw new MalformedPacket("a Variable Byte Integer longer than 4 bytes")
  }
  binary(): Uint8Array {
    const length = this.u16()
    this.need(length)
    const bytes = this.bytes.slice(this.offset, this.offset + length)
    this.offset += length
    return bytes
  }
  string(): string {
    try {
      return utf8Decoder.decode(this.binary())
    } catch (cause) {
      if (cause instanceof MalformedPacket) throw cause
      throw new MalformedPacket("a string that is not UTF-8")
    }
  }
  read(type: (typeof propertyTypes)[number][1]): unknown {
    switch (type) {
      case "bool":
        return this.byte() !== 0
      case "u8":
        return this.byte()
      case "u16":
        return this.u16()
      case "u32":
        return this.u32()
      case "var":
        return this.varInt()
      case "string":
        return this.string()
      case "binary":
        return this.binary()
      case "pair":
        return [this.string(), this.string()] as const
    }
  }
  /** MQTT 5 properties: repeated ones become arrays, user properties an object, as mqtt-packet reads them. */
  properties(): Properties {
    const length = this.varInt()
    const end = this.offset + length
    if (end > this.end) throw new MalformedPacket("properties longer than their packet")
    const result: Record<string, unknown> = {}
    while (this.offset < end) {
      const id = this.varInt()
      const spec = propertyTypes[id]
      if (spec === undefined) throw new MalformedPacket(`an unknown property identifier ${id}`)
      const [name, type] = spec
      const value = this.read(type)
      if (type === "pair") addUserProperty(result, value as readonly [string, string])
      else if (name in result) result[name] = ([] as Array<unknown>).concat(result[name], value)
      else result[name] = value
    }
    if (this.offset !== end) throw new MalformedPacket("properties longer than their packet")
    return result
  }
}

const addUserProperty = (result: Record<string, unknown>, [key, value]: readonly [string, string]) => {
  const users = (result["userProperties"] ??= Object.create(null)) as Record<string, string | Array<string>>
  const existing = users[key]
  users[key] = existing === undefined ? value : ([] as Array<string>).concat(existing, value)
}

/** The reason code and properties an MQTT 5 acknowledgement may leave out when they are 0 and none. */
const reasonAndProperties = (reader: Reader, protocolVersion: 4 | 5) => {
  if (protocolVersion === 4) return {}
  if (reader.remaining === 0) return { reasonCode: 0 }
  const reasonCode = reader.byte()
  if (reader.remaining === 0) return { reasonCode }
  return { reasonCode, ...someProperties(reader) }
}

/** The properties that follow, left out when there are none, as mqtt-packet leaves them out. */
const someProperties = (reader: Reader): { properties?: Properties } => {
  const properties = reader.properties()
  return Object.keys(properties).length === 0 ? {} : { properties }
}

const decodeBody = (type: number, reader: Reader, protocolVersion: 4 | 5): Packet => {
  switch (type) {
    case 2: {
      const sessionPresent = (reader.byte() & 0x01) === 1
      const code = reader.byte()
      if (protocolVersion === 4) return { cmd: "connack", sessionPresent, returnCode: code }
      // A refused MQTT 5 CONNACK may still carry properties (a reason string); a short one, none.
      return {
        cmd: "connack",
        sessionPresent,
        reasonCode: code,
        ...(reader.remaining === 0 ? {} : someProperties(reader))
      }
    }
    case 4:
      return { cmd: "puback", messageId: reader.u16(), ...reasonAndProperties(reader, protocolVersion) }
    case 13:
      return { cmd: "pingresp" }
    case 14:
      return { cmd: "disconnect", ...reasonAndProperties(reader, protocolVersion) }
    default:
      return { cmd: "other", type }
  }
}

/**
 * Reads packets from a stream of bytes: WebSocket frames may split a packet or carry several. A
 * malformed packet throws `MalformedPacket`; nothing after it can be trusted.
 */
export class Decoder {
  private buffered: Uint8Array = new Uint8Array(0)
  constructor(readonly protocolVersion: 4 | 5) {}

  /** The packets completed by `chunk`, in order. */
  push(chunk: Uint8Array): Array<Packet> {
    const bytes = this.buffered.length === 0 ? chunk : concat(this.buffered, chunk)
    const packets: Array<Packet> = []
    let offset = 0
    for (;;) {
      const header = readFixedHeader(bytes, offset)
      if (header === undefined || header.end > bytes.length) break
      const reader = new Reader(bytes, header.bodyStart, header.end)
      const decoded = decodeBody(bytes[offset]! >>> 4, reader, this.protocolVersion)
      if (decoded.cmd !== "other" && reader.offset !== header.end) {
        throw new MalformedPacket(`a ${decoded.cmd.toUpperCase()} longer than its fields`)
      }
      packets.push(decoded)
      offset = header.end
    }
    this.buffered = offset === bytes.length ? new Uint8Array(0) : bytes.slice(offset)
    return packets
  }
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const joined = new Uint8Array(a.length + b.length)
  joined.set(a)
  joined.set(b, a.length)
  return joined
}

/** Where the packet at `offset` starts its body and ends, once its fixed header is all there. */
const readFixedHeader = (bytes: Uint8Array, offset: number): { bodyStart: number; end: number } | undefined => {
  let length = 0
  for (let i = 0, multiplier = 1; i < 4; i++, multiplier *= 128) {
    const at = offset + 1 + i
    if (at >= bytes.length) return undefined
    const digit = bytes[at]!
    length += (digit & 0x7f) * multiplier
    if ((digit & 0x80) === 0) return { bodyStart: at + 1, end: at + 1 + length }
  }
  throw new MalformedPacket("a remaining length longer than 4 bytes")
}
