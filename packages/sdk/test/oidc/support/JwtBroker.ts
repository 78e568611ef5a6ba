/**
 * A broker that checks JWTs, for OIDC integration tests: a real mosquitto behind a JWT gate.
 *
 * aedes (1.x) answers an MQTT 5 CONNECT with "unacceptable protocol version", and the SDK speaks MQTT
 * 5; mosquitto speaks it but cannot verify JWTs. So the gate, on a free loopback port, reads each
 * client's CONNECT, verifies its username as an RS256 JWT against the token server's JWKS with `jose`
 * (signature, issuer, `exp`, `typ: Bearer`), and either refuses it with CONNACK 134 (bad user name or
 * password; 135 when there is no token) or passes the connection through to mosquitto. When the
 * token's `exp` passes while the client is still connected, the gate sends DISCONNECT (reason 160,
 * maximum connect time) at a packet boundary and closes the connection, as brokers that enforce token
 * expiry do, and counts it as a kick.
 *
 * A subscriber on mosquitto's own port records every PUBLISH on `in/#` with the message id read from
 * its body, so a test counts what the broker accepted: losses and duplicates.
 */
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose"
import { connectAsync, type MqttClient } from "mqtt"
import * as net from "node:net"
import { clientOptions, type Mosquitto, startMosquitto } from "../../support/Mosquitto.js"
import { makeSignal } from "./Signal.js"

const HOST = "127.0.0.1"

export interface JwtBrokerOptions {
  /** The keys tokens are checked against. */
  readonly jwks: JSONWebKeySet
  /** The `iss` tokens must carry. */
  readonly issuer: string
}

/** One connection the gate let through. */
export interface GateConnection {
  readonly clientId: string
  /** The token's `exp`, epoch milliseconds. */
  readonly expiresAt: number
  readonly connectedAt: number
  closedAt: number | undefined
  /** Who ended it: the client (or mosquitto), or the gate because the token expired. */
  closedBy: "client" | "expiry" | undefined
}

export interface GateRefusal {
  readonly at: number
  readonly clientId: string
  readonly reasonCode: number
  readonly why: string
}

export interface Recorded {
  /** Message ids in arrival order (a duplicate appears again). */
  readonly order: ReadonlyArray<string>
  /** How many times each message id arrived. */
  readonly counts: ReadonlyMap<string, number>
  /** Arrivals beyond the first, over all ids. */
  duplicates(): number
}

export interface JwtBroker {
  /** `mqtt://127.0.0.1:PORT` of the gate: where the SDK connects. */
  readonly url: string
  readonly mosquitto: Mosquitto
  readonly connections: ReadonlyArray<GateConnection>
  readonly refusals: ReadonlyArray<GateRefusal>
  /** Connections the gate closed because their token expired. */
  kicks(): number
  readonly recorded: Recorded
  /** Resolves once `condition` holds (re-checked on every gate event and arrival); rejects after `timeoutMs`. */
  until(condition: (broker: JwtBroker) => boolean, timeoutMs: number, what: string): Promise<void>
  close(): Promise<void>
}

/** Splits a byte stream into whole MQTT packets. */
const makeFramer = () => {
  let buffer: Buffer = Buffer.alloc(0)
  const push = (chunk: Buffer): Array<Buffer> => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
    const packets: Array<Buffer> = []
    while (buffer.length >= 2) {
      let length = 0
      let multiplier = 1
      let offset = 1
      let complete = false
      for (; offset < Math.min(buffer.length, 5); offset++) {
        const byte = buffer[offset]!
        length += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0) {
          complete = true
          offset++
          break
        }
      }
      if (!complete) {
        if (buffer.length >= 5) throw new Error("malformed MQTT remaining length")
        break
      }
      if (buffer.length < offset + length) break
      packets.push(buffer.subarray(0, offset + length))
      buffer = buffer.subarray(offset + length)
    }
    return packets
  }
  /** The bytes of an incomplete packet held back so far. */
  const remainder = () => buffer
  return { push, remainder }
}

interface Connect {
  readonly level: number
  readonly clientId: string
  readonly username: string | undefined
}

/** Reads the protocol level, client id and username of a CONNECT packet (MQTT 3.1.1 or 5). */
const parseConnect = (packet: Buffer): Connect => {
  let offset = 1
  while ((packet[offset]! & 0x80) !== 0) offset++
  offset++
  const u16 = () => {
    const value = packet.readUInt16BE(offset)
    offset += 2
    return value
  }
  const varint = () => {
    let value = 0
    let multiplier = 1
    for (;;) {
      const byte = packet[offset++]!
      value += (byte & 0x7f) * multiplier
      multiplier *= 128
      if ((byte & 0x80) === 0) return value
    }
  }
  const string = () => {
    const length = u16()
    const value = packet.subarray(offset, offset + length).toString("utf8")
    offset += length
    return value
  }
  string() // "MQTT"
  const level = packet[offset++]!
  const flags = packet[offset++]!
  u16() // keepalive
  // (`offset += varint()` would add to the offset from before the varint was read.)
  const skip = (length: number) => {
    offset += length
  }
  if (level === 5) skip(varint())
  const clientId = string()
  if ((flags & 0x04) !== 0) {
    if (level === 5) skip(varint())
    string()
    skip(u16())
  }
  const username = (flags & 0x80) !== 0 ? string() : undefined
  return { level, clientId, username }
}

const connack = (level: number, reasonCode: number) =>
  level === 5
    ? Buffer.from([0x20, 0x03, 0x00, reasonCode, 0x00])
    : Buffer.from([0x20, 0x02, 0x00, reasonCode === 135 ? 5 : 4])

export const startJwtBroker = async (options: JwtBrokerOptions): Promise<JwtBroker> => {
  const mosquitto = await startMosquitto()
  const keys = createLocalJWKSet(options.jwks)
  const signal = makeSignal()
  const connections: Array<GateConnection> = []
  const refusals: Array<GateRefusal> = []
  const sockets = new Set<net.Socket>()
  const timers = new Set<NodeJS.Timeout>()

  const handle = (client: net.Socket) => {
    sockets.add(client)
    client.once("close", () => sockets.delete(client))
    client.on("error", () => {})
    const frame = makeFramer()
    let pending: Array<Buffer> = []
    let connect: Buffer | undefined
    let upstream: net.Socket | undefined

    const refuse = (parsed: Connect, reasonCode: number, why: string) => {
      refusals.push({ at: Date.now(), clientId: parsed.clientId, reasonCode, why })
      client.end(connack(parsed.level, reasonCode))
      signal.notify()
    }

    const admit = (parsed: Connect, expiresAt: number) => {
      const record: GateConnection = {
        clientId: parsed.clientId,
        expiresAt,
        connectedAt: Date.now(),
        closedAt: undefined,
        closedBy: undefined
      }
      connections.push(record)
      const up = net.connect({ host: HOST, port: mosquitto.tcpPort })
      upstream = up
      sockets.add(up)
      up.on("error", () => client.destroy())
      let kicked = false
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (record.closedAt !== undefined) return
        kicked = true
        record.closedBy = "expiry"
        if (parsed.level === 5) client.write(Buffer.from([0xe0, 0x01, 0xa0]))
        client.end()
        up.destroy()
      }, Math.max(0, expiresAt - Date.now()))
      timers.add(timer)
      const downFrame = makeFramer()
      up.on("data", (chunk: Buffer) => {
        for (const packet of downFrame.push(chunk)) if (!kicked) client.write(packet)
      })
      up.once("close", () => {
        sockets.delete(up)
        client.end()
      })
      client.once("close", () => {
        clearTimeout(timer)
        timers.delete(timer)
        record.closedAt = Date.now()
        record.closedBy ??= "client"
        up.destroy()
        signal.notify()
      })
      up.write(connect!)
      for (const packet of pending) up.write(packet)
      pending = []
      signal.notify()
    }

    client.on("data", (chunk: Buffer) => {
      if (upstream !== undefined) return void upstream.write(chunk)
      if (connect !== undefined) return void pending.push(chunk)
      let packets: Array<Buffer>
      try {
        packets = frame.push(chunk)
      } catch {
        return void client.destroy()
      }
      if (packets.length === 0) return
      const [first, ...rest] = packets
      pending = [...rest, frame.remainder()]
      if ((first![0]! >> 4) !== 1) return void client.destroy()
      connect = first
      const parsed = parseConnect(first!)
      if (parsed.username === undefined) return refuse(parsed, 135, "no token")
      jwtVerify(parsed.username, keys, { issuer: options.issuer, algorithms: ["RS256"] }).then(
        ({ payload }) => {
          if (client.destroyed) return
          if (payload.typ !== "Bearer" || typeof payload.exp !== "number") {
            return refuse(parsed, 134, "not an access token")
          }
          admit(parsed, payload.exp * 1000)
        },
        (error: unknown) => refuse(parsed, 134, error instanceof Error ? error.message : String(error))
      )
    })
  }

  const server = net.createServer(handle)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, HOST, () => resolve())
  })
  const port = (server.address() as net.AddressInfo).port

  // The recorder: on mosquitto itself, QoS 1, connected before anything is published.
  const order: Array<string> = []
  const counts = new Map<string, number>()
  let subscriber: MqttClient
  try {
    subscriber = await connectAsync(mosquitto.url("mqtt"), clientOptions({}, { clean: true }), false)
    await subscriber.subscribeAsync("in/#", { qos: 1 })
  } catch (error) {
    server.close()
    await mosquitto.dispose()
    throw error
  }
  subscriber.on("message", (_topic, payload) => {
    let id: string
    try {
      id = String((JSON.parse(payload.toString("utf8")) as any).value.metadata.messageId)
    } catch {
      id = `unparsable:${payload.toString("hex").slice(0, 32)}`
    }
    order.push(id)
    counts.set(id, (counts.get(id) ?? 0) + 1)
    signal.notify()
  })

  const broker: JwtBroker = {
    url: `mqtt://${HOST}:${port}`,
    mosquitto,
    connections,
    refusals,
    kicks: () => connections.filter((c) => c.closedBy === "expiry").length,
    recorded: { order, counts, duplicates: () => order.length - counts.size },
    until: (condition, timeoutMs, what) => signal.until(() => condition(broker), timeoutMs, what),
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      await subscriber.endAsync(true)
      await mosquitto.dispose()
    }
  }
  return broker
}
