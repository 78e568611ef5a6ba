/**
 * The MQTT client over mqtt.js: TCP, TLS, WebSockets and secure WebSockets, as the broker URL says, in
 * Node, Deno and Bun. The SDK reconnects by itself (`reconnectPolicy.ts`), so mqtt.js never does.
 */
import * as Duration from "effect/Duration"
import { constVoid } from "effect/Function"
import * as Redacted from "effect/Redacted"
// The default import: mqtt's browser build has nothing else (`import * as` finds no `connect` there),
// and its Node build has one too, the same module.
import mqtt, { type IClientOptions, type MqttProtocol } from "mqtt"
import type { Credentials } from "../Auth.js"
import type { BrokerAddress } from "../BrokerUrl.js"
import type { Connector } from "./mqttClient.js"
import { keepAliveSeconds, type Settings } from "./mqttConnection.js"

const publishOptions = { qos: 1, retain: false } as const

/**
 * Whether DEBUG is set (as for `DEBUG=mqttjs*`), so mqtt.js keeps its own debug logging. That prints
 * each CONNECT packet whole, password or token included: the SDK's own debug logs say what a connection
 * did without them (see `connectionLog.ts`).
 */
const mqttDebugWanted = (): boolean => typeof process !== "undefined" && (process.env?.["DEBUG"] ?? "").length > 0

const protocolOf = (address: BrokerAddress): MqttProtocol =>
  address.transport === "websocket" ? (address.tls ? "wss" : "ws") : (address.tls ? "mqtts" : "mqtt")

/** mqtt.js's options for one connection. */
const clientOptions = (settings: Settings, credentials: Credentials): IClientOptions => {
  const { address, tls } = settings
  return {
    protocol: protocolOf(address),
    host: address.host,
    hostname: address.host,
    port: address.port,
    ...(address.path === undefined ? {} : { path: address.path }),
    protocolVersion: settings.protocolVersion,
    clean: true,
    clientId: settings.clientId,
    keepalive: keepAliveSeconds(settings),
    connectTimeout: Duration.toMillis(settings.connectTimeout),
    // The SDK reconnects by itself, with its own schedule and fresh credentials each time.
    reconnectPeriod: 0,
    resubscribe: false,
    queueQoSZero: false,
    // A PINGREQ every keepalive interval, busy or not, rather than the ping timer re-armed for every
    // packet sent: a timer operation per message, for a ping that costs nothing to send. Dead
    // connections are noticed within the same bound.
    reschedulePings: false,
    // mqtt.js asks its `debug` logger whether it is on for every line it would log, several per
    // message; with no DEBUG set, nothing would print.
    ...(mqttDebugWanted() ? {} : { log: constVoid }),
    ...(credentials.username === undefined ? {} : { username: Redacted.value(credentials.username) }),
    ...(credentials.password === undefined ? {} : { password: Redacted.value(credentials.password) }),
    ...(tls?.ca === undefined ? {} : { ca: tls.ca as any }),
    ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls?.key === undefined ? {} : { key: tls.key }),
    ...(tls?.servername === undefined ? {} : { servername: tls.servername }),
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
    ...settings.clientOptions
  }
}

/** Connects with mqtt.js, its events told as the connection expects them. */
export const connect: Connector = (settings, credentials, events) => {
  const client = mqtt.connect(clientOptions(settings, credentials))
  client.once("connect", events.connack)
  client.on("error", events.error)
  client.on("disconnect", events.disconnect)
  client.on("close", events.close)
  client.on("packetsend", (packet) => {
    if (packet.cmd === "pingreq") events.pingSent()
  })
  client.on("packetreceive", (packet) => {
    if (packet.cmd === "pingresp") events.pingAnswered()
  })
  return {
    publish: (topic, payload, callback) => void client.publish(topic, payload, publishOptions, callback),
    end: (force, callback) => void client.end(force, callback)
  }
}
