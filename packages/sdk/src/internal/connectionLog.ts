import type * as mqtt from "mqtt"
import type { Credentials } from "../Auth.js"

/**
 * The words of the sink's debug logs about its connection: enough to troubleshoot one without mqtt.js's
 * own `DEBUG=mqttjs*` output, which prints the CONNECT packet with the password (or the OIDC token)
 * in clear. No credential is ever part of them, only whether one was sent.
 */

/** What a connection did, counted as it goes. */
export interface Stats {
  /** Publishes written on the connection. */
  sent: number
  /** Publishes the broker acknowledged (PUBACK). */
  acknowledged: number
  /** Publishes the broker refused (a PUBACK with an error reason code). */
  refused: number
  /** Publishes still waiting for their PUBACK when the connection ended. */
  unacknowledged: number
}

export const makeStats = (): Stats => ({ sent: 0, acknowledged: 0, refused: 0, unacknowledged: 0 })

const credentialsSent = (credentials: Credentials, now: number): string => {
  const sent = [
    ...(credentials.username === undefined ? [] : ["a username"]),
    ...(credentials.password === undefined ? [] : ["a password"])
  ]
  if (sent.length === 0) return "no credentials"
  const expiry = credentials.expiresAt === undefined
    ? ""
    : `, expiring in ${Math.round((credentials.expiresAt - now) / 1000)} s`
  return `${sent.join(" and ")} (not shown)${expiry}`
}

/** One connection attempt: where, as whom, how. */
export const attempt = (options: {
  readonly attempt: number
  readonly destination: string
  readonly clientId: string
  readonly protocolVersion: number
  readonly keepAliveSeconds: number
  readonly credentials: Credentials
  readonly now: number
}): string =>
  `connect attempt ${options.attempt} to ${options.destination} as client id "${options.clientId}" ` +
  `(MQTT ${options.protocolVersion === 5 ? "5" : "3.1.1"}, keepalive ${options.keepAliveSeconds} s, ` +
  `${credentialsSent(options.credentials, options.now)})`

/** The CONNACK's properties worth knowing when a connection misbehaves; not the authentication data. */
const connackProperties = [
  "reasonString",
  "assignedClientIdentifier",
  "serverKeepAlive",
  "sessionExpiryInterval",
  "receiveMaximum",
  "maximumPacketSize",
  "maximumQoS",
  "retainAvailable",
  "topicAliasMaximum",
  "serverReference"
] as const

/** The broker's CONNACK: its reason code, whether it kept a session, and the limits it announced. */
export const connack = (destination: string, packet: mqtt.IConnackPacket | undefined): string => {
  if (packet === undefined) return `connected to ${destination} (no CONNACK seen)`
  const code = packet.reasonCode ?? packet.returnCode ?? 0
  const properties = connackProperties.flatMap((name) => {
    const value = packet.properties?.[name]
    return value === undefined ? [] : [`${name} ${JSON.stringify(value)}`]
  })
  return `CONNACK from ${destination}: reason code ${code}, session present ${packet.sessionPresent}` +
    (properties.length === 0 ? "" : `, ${properties.join(", ")}`)
}

/** What a connection did, once it ended. */
export const summary = (destination: string, stats: Stats, lifetimeMillis: number): string =>
  `connection to ${destination} ended after ${(lifetimeMillis / 1000).toFixed(1)} s: ` +
  `publishes: ${stats.sent} sent, ${stats.acknowledged} acknowledged, ${stats.refused} refused by the broker, ` +
  `${stats.unacknowledged} unacknowledged when it ended`
