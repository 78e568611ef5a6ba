/**
 * The MQTT client for pages: MQTT 5 (or 3.1.1) over the platform's own `WebSocket`, `ws://` or
 * `wss://`, with the `mqtt` subprotocol. It does what the SDK asks of a client and no more: CONNECT,
 * QoS 1 PUBLISHes confirmed by their PUBACK, the keepalive's pings (driven by the connection, see
 * `Client.ping`), DISCONNECT. It honours the broker's Receive Maximum, which mqtt.js does not: a
 * publish beyond it waits here for a PUBACK to free a place.
 *
 * Hand-written for the size of a page: mqtt.js's browser build was 105 KB of the minimal page's
 * 182 KB, minified and gzipped, and this client with its codec is about 3 KB. The integration tests
 * run it against mosquitto in Node as well as in Chromium, beside mqtt.js.
 */
import * as Redacted from "effect/Redacted"
import type { Client, Connector, Events } from "./mqttClient.js"
import * as Codec from "./mqttCodec.js"
import { keepAliveSeconds } from "./mqttConnection.js"
import * as ReasonCodes from "./reasonCodes.js"

/** Packet identifiers run from 1 to 65535. */
const maxPacketIds = 65_535

/** An error carrying an MQTT reason code, as mqtt.js reports a refusal. */
const withCode = (message: string, code: number): Error => Object.assign(new Error(message), { code })

/** A publish waiting for a place under the broker's Receive Maximum. */
interface Held {
  readonly topic: string
  readonly payload: string
  readonly callback: (error?: Error | null) => void
}

class WsClient implements Client {
  private readonly socket: WebSocket
  private readonly decoder: Codec.Decoder
  /** Publishes sent and waiting for their PUBACK, by packet identifier. */
  private readonly inFlight = new Map<number, (error?: Error | null) => void>()
  /** Publishes waiting for a place in flight, in the order published. */
  private readonly held: Array<Held> = []
  private lastPacketId = 0
  private receiveMaximum = maxPacketIds
  private connected = false
  private ended = false
  private socketFailed = false
  private pingUnanswered = false
  private readonly onEnded: Array<() => void> = []

  constructor(
    private readonly protocolVersion: 4 | 5,
    url: string,
    private readonly connectPacket: Uint8Array,
    private readonly events: Events
  ) {
    this.decoder = new Codec.Decoder(protocolVersion)
    this.socket = new WebSocket(url, "mqtt")
    this.socket.binaryType = "arraybuffer"
    this.socket.onopen = () => this.socket.send(this.connectPacket)
    this.socket.onmessage = (event) => this.receive(event.data)
    this.socket.onerror = () => {
      this.socketFailed = true
    }
    this.socket.onclose = (event) => this.closed(event.code, event.reason)
  }

  publish(topic: string, payload: string, callback: (error?: Error | null) => void): void {
    if (this.ended) return callback(new Error("connection closed"))
    if (this.inFlight.size >= this.receiveMaximum) {
      this.held.push({ topic, payload, callback })
      return
    }
    this.send(topic, payload, callback)
  }

  end(force: boolean, callback?: () => void): void {
    if (callback !== undefined) {
      if (this.socket.readyState === WebSocket.CLOSED) queueMicrotask(callback)
      else this.onEnded.push(callback)
    }
    if (this.ended) return
    this.ended = true
    if (!force && this.connected && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(Codec.disconnect())
    }
    this.socket.close(1000)
  }

  ping(): void {
    if (!this.connected || this.ended) return
    if (this.pingUnanswered) {
      this.fail(withCode("keepalive timeout: the broker did not answer the last PINGREQ", 141))
      return
    }
    this.pingUnanswered = true
    this.socket.send(Codec.pingreq())
    this.events.pingSent()
  }

  private send(topic: string, payload: string, callback: (error?: Error | null) => void): void {
    let packet: Uint8Array
    try {
      packet = Codec.publish(topic, payload, this.nextPacketId(), this.protocolVersion)
    } catch (error) {
      // Larger than any MQTT packet can be: the message is at fault, as with a broker's 0x95.
      return callback(withCode(`the message cannot be sent: ${(error as Error).message}`, 0x95))
    }
    this.inFlight.set(this.lastPacketId, callback)
    this.socket.send(packet)
  }

  /** Sends what waited for a place in flight, as far as the Receive Maximum allows. */
  private sendHeld(): void {
    // A loop, not one: a held publish that cannot be encoded fails at once and frees its place again.
    while (this.inFlight.size < this.receiveMaximum && this.held.length > 0) {
      const next = this.held.shift()!
      this.send(next.topic, next.payload, next.callback)
    }
  }

  private nextPacketId(): number {
    do this.lastPacketId = this.lastPacketId % maxPacketIds + 1
    while (this.inFlight.has(this.lastPacketId))
    return this.lastPacketId
  }

  private receive(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) return this.fail(new Error("the broker sent a text frame, not MQTT"))
    let packets: Array<Codec.Packet>
    try {
      packets = this.decoder.push(new Uint8Array(data))
    } catch (error) {
      return this.fail(new Error(`the broker sent a malformed packet: ${(error as Error).message}`))
    }
    for (const packet of packets) this.dispatch(packet)
  }

  private dispatch(packet: Codec.Packet): void {
    switch (packet.cmd) {
      case "connack":
        return this.connack(packet)
      case "puback":
        return this.puback(packet.messageId, packet.reasonCode ?? 0)
      case "pingresp":
        this.pingUnanswered = false
        return this.events.pingAnswered()
      case "disconnect":
        return this.events.disconnect(packet as Parameters<Events["disconnect"]>[0])
    }
  }

  private connack(packet: Extract<Codec.Packet, { cmd: "connack" }>): void {
    const code = packet.reasonCode ?? packet.returnCode ?? 0
    if (code !== 0) {
      this.fail(withCode(`Connection refused: ${ReasonCodes.name(code) ?? ReasonCodes.hex(code)}`, code))
      return
    }
    this.connected = true
    const receiveMaximum = packet.properties?.["receiveMaximum"]
    if (typeof receiveMaximum === "number" && receiveMaximum > 0) this.receiveMaximum = receiveMaximum
    this.events.connack(packet as Parameters<Events["connack"]>[0])
  }

  private puback(packetId: number, code: number): void {
    const callback = this.inFlight.get(packetId)
    if (callback === undefined) return
    this.inFlight.delete(packetId)
    this.sendHeld()
    // Codes from 0x80 on are refusals; 0x10 (no matching subscribers) is a success.
    if (code >= 0x80) callback(withCode(`Publish error: ${ReasonCodes.name(code) ?? ReasonCodes.hex(code)}`, code))
    else callback()
  }

  /** Tells the error and ends the connection: nothing after it can be trusted. */
  private fail(error: Error): void {
    this.events.error(error)
    this.end(true)
  }

  private closed(code: number, reason: string): void {
    // Before the CONNACK, a failed socket is why the attempt failed. After it, a broker that closes
    // without a DISCONNECT (as mosquitto does to a taken-over session) fails the socket too (1006),
    // yet has said nothing: the close alone tells it, unexplained, as over TCP.
    if (this.socketFailed && !this.connected && !this.ended) {
      this.events.error(new Error(`the WebSocket failed (close code ${code}${reason === "" ? "" : `: ${reason}`})`))
    }
    this.ended = true
    this.connected = false
    const lost = new Error("connection closed")
    const callbacks = [...this.inFlight.values(), ...this.held.map((held) => held.callback)]
    this.inFlight.clear()
    this.held.length = 0
    for (const callback of callbacks) callback(lost)
    this.events.close()
    for (const callback of this.onEnded.splice(0)) callback()
  }
}

/** The broker's WebSocket URL: the path is the URL's, or `/mqtt`. */
const urlOf = (settings: Parameters<Connector>[0]): string => {
  const { address } = settings
  return `${address.tls ? "wss" : "ws"}://${address.host}:${address.port}${address.path ?? "/mqtt"}`
}

/** Connects over the platform's WebSocket. */
export const connect: Connector = (settings, credentials, events) =>
  new WsClient(
    settings.protocolVersion,
    urlOf(settings),
    Codec.connect({
      protocolVersion: settings.protocolVersion,
      clientId: settings.clientId,
      keepAliveSeconds: keepAliveSeconds(settings),
      username: credentials.username === undefined ? undefined : Redacted.value(credentials.username),
      password: credentials.password === undefined ? undefined : Redacted.value(credentials.password)
    }),
    events
  )
