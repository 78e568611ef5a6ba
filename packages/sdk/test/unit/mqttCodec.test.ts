/**
 * The hand-written MQTT codec (`src/internal/mqttCodec.ts`) against mqtt-packet, the codec mqtt.js
 * uses: for any fields, the packets it writes are mqtt-packet's bytes; the packets it reads (CONNACK,
 * PUBACK, PINGRESP, DISCONNECT, MQTT 5 and 3.1.1, with any properties) are what mqtt-packet's parser
 * reads from the same bytes, however a stream splits them; other packets are skipped by their length;
 * and a malformed packet throws `MalformedPacket`.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as mqttPacket from "mqtt-packet"
import * as Codec from "../../src/internal/mqttCodec.js"

type Version = 4 | 5

const versions: ReadonlyArray<Version> = [4, 5]

const generate = (packet: mqttPacket.Packet, protocolVersion: Version): Uint8Array =>
  mqttPacket.generate(packet, { protocolVersion })

/** What mqtt-packet's parser reads from `bytes`, a fresh parser for each call; its errors thrown. */
const parse = (bytes: Uint8Array, protocolVersion: Version): Array<Record<string, unknown>> => {
  const packets: Array<Record<string, unknown>> = []
  const errors: Array<unknown> = []
  const parser = mqttPacket.parser({ protocolVersion })
  parser.on("packet", (packet) => packets.push(packet as unknown as Record<string, unknown>))
  parser.on("error", (error) => errors.push(error))
  parser.parse(Buffer.from(bytes))
  if (errors.length > 0) throw errors[0]
  return packets
}

/** Bytes as arrays of numbers (a Buffer and a Uint8Array compare by content), objects as plain ones. */
const plain = (value: unknown): unknown =>
  value instanceof Uint8Array
    ? Array.from(value)
    : Array.isArray(value)
    ? value.map(plain)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([key, v]) => [key, plain(v)]))
    : value

/** The fields of a packet mqtt-packet read that our `Packet` type has. */
const ourFields = ["cmd", "sessionPresent", "reasonCode", "returnCode", "messageId", "properties"] as const
const asOurs = (packet: Record<string, unknown>): unknown =>
  Object.fromEntries(ourFields.filter((key) => packet[key] !== undefined).map((key) => [key, plain(packet[key])]))

/** Decodes whole packets with a fresh decoder. */
const decode = (bytes: Uint8Array, protocolVersion: Version): Array<Codec.Packet> =>
  new Codec.Decoder(protocolVersion).push(bytes)

/** Our decoding of `bytes` is mqtt-packet's, field by field. */
const assertReadsAsMqttPacket = (bytes: Uint8Array, protocolVersion: Version): void => {
  assert.deepStrictEqual(decode(bytes, protocolVersion).map(plain), parse(bytes, protocolVersion).map(asOurs))
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

/** Any text, lone surrogates too (both sides write them as U+FFFD). */
const text = (maxLength: number, minLength = 0) => fc.string({ unit: "binary", minLength, maxLength })

const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const bytes = fc.uint8Array({ maxLength: 20 }).map((array) => Buffer.from(array))

/**
 * User properties, keys repeated often. Values are not empty: mqtt-packet's parser drops an empty
 * first value of a repeated key (it tests the value's truth), where ours keeps both.
 */
const userProperties = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom("a", "b", "ключ"), text(5)), text(8, 1)), { minLength: 1, maxLength: 6 })
  .map((pairs) => {
    const result: Record<string, string | Array<string>> = Object.create(null)
    for (const [key, value] of pairs) {
      const existing = result[key]
      result[key] = existing === undefined ? value : ([] as Array<string>).concat(existing, value)
    }
    return result
  })

const connackProperties = fc.record({
  sessionExpiryInterval: u32,
  receiveMaximum: u16,
  maximumQoS: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>,
  retainAvailable: fc.boolean(),
  maximumPacketSize: u32,
  assignedClientIdentifier: text(12),
  topicAliasMaximum: u16,
  reasonString: text(12),
  userProperties,
  wildcardSubscriptionAvailable: fc.boolean(),
  subscriptionIdentifiersAvailable: fc.boolean(),
  sharedSubscriptionAvailable: fc.boolean(),
  serverKeepAlive: u16,
  responseInformation: text(12),
  serverReference: text(12),
  authenticationMethod: text(12),
  authenticationData: bytes
}, { requiredKeys: [] })

const connack = (protocolVersion: Version): fc.Arbitrary<mqttPacket.IConnackPacket> =>
  protocolVersion === 4
    ? fc.record({ sessionPresent: fc.boolean(), returnCode: fc.integer({ min: 0, max: 5 }) })
      .map((fields) => ({ cmd: "connack", ...fields }))
    : fc.record({
      sessionPresent: fc.boolean(),
      reasonCode: fc.integer({ min: 0, max: 255 }),
      properties: fc.option(connackProperties, { nil: undefined })
    }).map(({ properties, ...fields }) => ({
      cmd: "connack",
      ...fields,
      ...(properties === undefined ? {} : { properties })
    } as mqttPacket.IConnackPacket))

/** The PUBACK reason codes mqtt-packet writes and reads (0x95 it refuses: see its own test). */
const pubackCodes = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]

const puback = (protocolVersion: Version): fc.Arbitrary<mqttPacket.IPubackPacket> =>
  protocolVersion === 4
    ? fc.integer({ min: 0, max: 0xffff }).map((messageId) => ({ cmd: "puback", messageId }))
    : fc.record({
      messageId: u16,
      reasonCode: fc.constantFrom(...pubackCodes),
      properties: fc.option(fc.record({ reasonString: text(12), userProperties }, { requiredKeys: [] }), {
        nil: undefined
      })
    }).map(({ properties, ...fields }) => ({
      cmd: "puback",
      ...fields,
      ...(properties === undefined ? {} : { properties })
    }))

const disconnectCodes = [
  0x00,
  0x04,
  0x80,
  0x81,
  0x82,
  0x83,
  0x87,
  0x89,
  0x8b,
  0x8d,
  0x8e,
  0x8f,
  0x90,
  0x93,
  0x94,
  0x95,
  0x96,
  0x97,
  0x98,
  0x99,
  0x9a,
  0x9b,
  0x9c,
  0x9d,
  0x9e,
  0x9f,
  0xa0,
  0xa1,
  0xa2
]

const disconnect = (protocolVersion: Version): fc.Arbitrary<mqttPacket.IDisconnectPacket> =>
  protocolVersion === 4
    ? fc.constant({ cmd: "disconnect" })
    : fc.record({
      reasonCode: fc.constantFrom(...disconnectCodes),
      properties: fc.option(
        fc.record({ reasonString: text(12), userProperties, serverReference: text(12), sessionExpiryInterval: u32 }, {
          requiredKeys: []
        }),
        { nil: undefined }
      )
    }).map(({ properties, ...fields }) => ({
      cmd: "disconnect",
      ...fields,
      ...(properties === undefined ? {} : { properties })
    }))

/** The packets the SDK reads, as mqtt-packet writes them. */
const readPacket = (protocolVersion: Version): fc.Arbitrary<mqttPacket.Packet> =>
  fc.oneof(
    connack(protocolVersion),
    puback(protocolVersion),
    fc.constant<mqttPacket.IPingrespPacket>({ cmd: "pingresp" }),
    disconnect(protocolVersion)
  )

/** Packets the SDK does not read, which it skips by their length. */
const otherPacket: fc.Arbitrary<mqttPacket.Packet> = fc.oneof(
  fc.record({ topic: text(20), payload: text(300), messageId: fc.integer({ min: 1, max: 0xffff }) })
    .map(({ messageId, payload, topic }) => ({
      cmd: "publish" as const,
      qos: 1 as const,
      dup: false,
      retain: false,
      topic,
      payload,
      messageId
    })),
  fc.record({
    messageId: fc.integer({ min: 1, max: 0xffff }),
    granted: fc.array(fc.constantFrom(0, 1, 2), { minLength: 1 })
  })
    .map(({ granted, messageId }) => ({ cmd: "suback" as const, messageId, granted })),
  fc.integer({ min: 1, max: 0xffff }).map((messageId) => ({ cmd: "pubrec" as const, messageId, reasonCode: 0 }))
)

/** Cuts `bytes` at the given points (taken modulo its length). */
const split = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point))
    start = point
  }
  return chunks
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => Buffer.concat(parts)

// ---------------------------------------------------------------------------------------------------
// Same bytes out

describe("mqttCodec: the bytes it writes are mqtt-packet's", () => {
  it("CONNECT, clean, no will, no properties, for any client id, keep-alive and credentials", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...versions),
        text(30, 1),
        u16,
        fc.option(fc.tuple(text(20), fc.option(text(20), { nil: undefined })), { nil: undefined }),
        (protocolVersion, clientId, keepalive, credentials) => {
          const [username, password] = credentials ?? [undefined, undefined]
          const ours = Codec.connect({ protocolVersion, clientId, keepAliveSeconds: keepalive, username, password })
          // mqtt.js sends no CONNECT properties by default; mqtt-packet writes none or `{}` the same way.
          const theirs = generate({
            cmd: "connect",
            protocolId: "MQTT",
            protocolVersion,
            clean: true,
            clientId,
            keepalive,
            ...(username === undefined ? {} : { username }),
            ...(password === undefined ? {} : { password: Buffer.from(password) }),
            ...(protocolVersion === 5 ? { properties: {} } : {})
          }, protocolVersion)
          assert.deepStrictEqual(plain(ours), plain(theirs))
        }
      ),
      { numRuns: 200 }
    )
  })

  it("CONNECT of MQTT 5 with a password and no username, which mqtt-packet will not write, reads as sent", () => {
    fc.assert(
      fc.property(text(30, 1), u16, text(20), (clientId, keepalive, password) => {
        const ours = Codec.connect({ protocolVersion: 5, clientId, keepAliveSeconds: keepalive, password })
        const [read] = parse(ours, 5)
        const fields = [
          "cmd",
          "protocolId",
          "protocolVersion",
          "clean",
          "keepalive",
          "clientId",
          "username",
          "password"
        ]
        assert.deepStrictEqual(plain(Object.fromEntries(fields.map((key) => [key, read?.[key]]))), {
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 5,
          clean: true,
          keepalive,
          clientId: Buffer.from(clientId).toString(),
          username: undefined,
          password: Array.from(Buffer.from(password))
        })
      }),
      { numRuns: 50 }
    )
  })

  it("PUBLISH, QoS 1, for any topic, payload and message id, and publishSize is its length", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...versions),
        text(40),
        fc.oneof({ weight: 4, arbitrary: text(200) }, { weight: 1, arbitrary: text(20_000, 16_000) }),
        fc.integer({ min: 1, max: 0xffff }),
        (protocolVersion, topic, payload, messageId) => {
          const ours = Codec.publish(topic, payload, messageId, protocolVersion)
          const theirs = generate(
            { cmd: "publish", qos: 1, dup: false, retain: false, topic, payload, messageId },
            protocolVersion
          )
          assert.deepStrictEqual(plain(ours), plain(theirs))
          const size = Codec.publishSize(Buffer.byteLength(topic), Buffer.byteLength(payload), protocolVersion)
          assert.strictEqual(size, theirs.length)
        }
      ),
      { numRuns: 100 }
    )
  })

  it("PUBLISH across each length of the remaining length (1 to 4 bytes), past 2 MB", () => {
    for (const protocolVersion of versions) {
      const topic = "stellanow/é"
      const overhead = 2 + Buffer.byteLength(topic) + 2 + (protocolVersion === 5 ? 1 : 0)
      for (const body of [0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 2_200_000]) {
        if (body < overhead) continue
        const payload = "x".repeat(body - overhead)
        const ours = Codec.publish(topic, payload, 65_535, protocolVersion)
        const theirs = generate(
          { cmd: "publish", qos: 1, dup: false, retain: false, topic, payload, messageId: 65_535 },
          protocolVersion
        )
        assert.isTrue(Buffer.from(ours).equals(theirs), `a body of ${body} bytes, MQTT ${protocolVersion}`)
        assert.strictEqual(Codec.publishSize(Buffer.byteLength(topic), payload.length, protocolVersion), theirs.length)
      }
    }
  })

  it("PINGREQ", () => {
    for (const protocolVersion of versions) {
      assert.deepStrictEqual(plain(Codec.pingreq()), plain(generate({ cmd: "pingreq" }, protocolVersion)))
    }
  })

  it("DISCONNECT reads as mqtt-packet's normal one (MQTT 5 may leave reason code 0 out)", () => {
    assert.deepStrictEqual(parse(Codec.disconnect(), 5).map(asOurs), [{ cmd: "disconnect", reasonCode: 0 }])
    assert.deepStrictEqual(
      parse(Codec.disconnect(), 5).map(asOurs),
      parse(generate({ cmd: "disconnect", reasonCode: 0 }, 5), 5).map(asOurs)
    )
    assert.deepStrictEqual(parse(Codec.disconnect(), 4).map(asOurs), [{ cmd: "disconnect" }])
    assert.deepStrictEqual(plain(Codec.disconnect()), plain(generate({ cmd: "disconnect" }, 4)))
  })
})

// ---------------------------------------------------------------------------------------------------
// Same packets read

describe("mqttCodec: the packets it reads are mqtt-packet's", () => {
  for (const protocolVersion of versions) {
    it(`CONNACK, MQTT ${protocolVersion}, with any flags, code and properties`, () => {
      fc.assert(
        fc.property(connack(protocolVersion), (packet) => {
          assertReadsAsMqttPacket(generate(packet, protocolVersion), protocolVersion)
        }),
        { numRuns: 200 }
      )
    })

    it(`PUBACK, MQTT ${protocolVersion}, with any message id, reason code and properties`, () => {
      fc.assert(
        fc.property(puback(protocolVersion), (packet) => {
          assertReadsAsMqttPacket(generate(packet, protocolVersion), protocolVersion)
        }),
        { numRuns: 200 }
      )
    })

    it(`DISCONNECT, MQTT ${protocolVersion}, with any reason code and properties`, () => {
      fc.assert(
        fc.property(disconnect(protocolVersion), (packet) => {
          assertReadsAsMqttPacket(generate(packet, protocolVersion), protocolVersion)
        }),
        { numRuns: 200 }
      )
    })

    it(`PINGRESP, MQTT ${protocolVersion}`, () => {
      assertReadsAsMqttPacket(generate({ cmd: "pingresp" }, protocolVersion), protocolVersion)
    })
  }

  it("PUBACK and DISCONNECT of MQTT 5 leaving out reason code 0 and properties", () => {
    assertReadsAsMqttPacket(new Uint8Array([0x40, 0x02, 0x12, 0x34]), 5)
    assertReadsAsMqttPacket(new Uint8Array([0x40, 0x03, 0x12, 0x34, 0x10]), 5)
    assertReadsAsMqttPacket(new Uint8Array([0xe0, 0x00]), 5)
    assertReadsAsMqttPacket(new Uint8Array([0xe0, 0x01, 0x8b]), 5)
  })

  it("PUBACK of MQTT 5 with reason code 0x95 (packet too large), which mqtt-packet refuses", () => {
    const bytes = new Uint8Array([0x40, 0x04, 0x00, 0x07, 0x95, 0x00])
    assert.throws(() => parse(bytes, 5), /Invalid puback reason code/)
    assert.deepStrictEqual(decode(bytes, 5), [{ cmd: "puback", messageId: 7, reasonCode: 0x95 }])
  })
})

// ---------------------------------------------------------------------------------------------------
// Streams

describe("mqttCodec: a stream", () => {
  for (const protocolVersion of versions) {
    it(`MQTT ${protocolVersion}: packets split anywhere read as each whole, others skipped`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              { weight: 4, arbitrary: readPacket(protocolVersion).map((packet) => generate(packet, protocolVersion)) },
              { weight: 1, arbitrary: otherPacket.map((packet) => generate(packet, protocolVersion)) },
              { weight: 1, arbitrary: fc.constant(Codec.disconnect()) }
            ),
            { maxLength: 8 }
          ),
          fc.array(fc.nat(), { maxLength: 12 }),
          (packets, cuts) => {
            const expected = packets.flatMap((bytes) => decode(bytes, protocolVersion))
            assert.strictEqual(expected.length, packets.length)
            const decoder = new Codec.Decoder(protocolVersion)
            const read = split(concat(packets), cuts).flatMap((chunk) => decoder.push(chunk))
            assert.deepStrictEqual(read.map(plain), expected.map(plain))
            // Whatever the decoder holds back is the start of a packet; here there is none.
            assert.deepStrictEqual(decoder.push(new Uint8Array(0)), [])
          }
        ),
        { numRuns: 200 }
      )
    })
  }

  it("a PUBLISH or SUBACK in the stream is skipped and the packets after it read", () => {
    const publish = generate({
      cmd: "publish",
      qos: 1,
      dup: false,
      retain: false,
      topic: "t",
      payload: "x".repeat(20_000),
      messageId: 9
    }, 5)
    const suback = generate({ cmd: "suback", messageId: 3, granted: [1] }, 5)
    const puback = generate({ cmd: "puback", messageId: 9, reasonCode: 0 }, 5)
    const read = new Codec.Decoder(5).push(concat([publish, suback, puback, generate({ cmd: "pingresp" }, 5)]))
    assert.deepStrictEqual(read, [
      { cmd: "other", type: 3 },
      { cmd: "other", type: 9 },
      { cmd: "puback", messageId: 9, reasonCode: 0 },
      { cmd: "pingresp" }
    ])
  })
})

// ---------------------------------------------------------------------------------------------------
// Malformed

describe("mqttCodec: a malformed packet throws MalformedPacket", () => {
  const assertMalformed = (bytes: ReadonlyArray<number>, protocolVersion: Version = 5) =>
    assert.throws(() => new Codec.Decoder(protocolVersion).push(new Uint8Array(bytes)), Codec.MalformedPacket)

  it("a remaining length of 5 bytes", () => {
    assertMalformed([0x20, 0xff, 0xff, 0xff, 0xff, 0x01])
  })

  it("a string running past its packet, though not past the stream", () => {
    // CONNACK whose reason string claims 10 bytes in a 7-byte body, PINGRESPs after it.
    assertMalformed([0x20, 0x07, 0x00, 0x00, 0x04, 0x1f, 0x00, 0x0a, 0x41, ...Array(12).fill([0xd0, 0x00]).flat()])
  })

  it("properties running past their packet", () => {
    assertMalformed([0xe0, 0x02, 0x00, 0x05, 0xd0, 0x00, 0xd0, 0x00, 0xd0, 0x00])
  })

  it("an unknown property identifier", () => {
    assertMalformed([0x20, 0x05, 0x00, 0x00, 0x02, 0x7f, 0x00])
  })

  it("a reason string that is not UTF-8", () => {
    assertMalformed([0xe0, 0x06, 0x80, 0x04, 0x1f, 0x00, 0x01, 0xff])
  })

  it("a packet longer than its fields", () => {
    assertMalformed([0x40, 0x03, 0x00, 0x01, 0x00], 4)
  })

  /** Random bytes, and packets of any type with a random body of the length their header says. */
  const anyBytes = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 60 }))
      .map(([type, body]) => new Uint8Array([type << 4, body.length, ...body]))
  )

  it("any bytes either read or throw MalformedPacket, never another error", () => {
    fc.assert(
      fc.property(fc.constantFrom(...versions), anyBytes, (protocolVersion, bytes) => {
        try {
          new Codec.Decoder(protocolVersion).push(bytes)
        } catch (error) {
          assert.instanceOf(error, Codec.MalformedPacket)
        }
      }),
      { numRuns: 500 }
    )
  })
})
