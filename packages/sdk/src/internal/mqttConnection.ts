/**
 * One broker connection: one mqtt.js client, from its CONNECT to its end. {@link open} connects
 * (bounded by the connect timeout) and ends the client when its scope closes (bounded too); what happened
 * is told as values — the CONNACK on the connection, a refused or failed CONNECT as a `ConnectionError`,
 * the end as {@link Closed}. Publishing goes through mqtt.js's callbacks, without a fiber per message.
 * When to connect again is not decided here (see `reconnectPolicy.ts`).
 */
import { Clock, Deferred, Duration, Effect, Exit, Redacted, type Scope } from "effect"
import { constVoid } from "effect/Function"
// The default import: mqtt's browser build has nothing else (`import * as` finds no `connect` there),
// and its Node build has one too, the same module.
import mqtt, {
  type IClientOptions,
  type IConnackPacket,
  type IDisconnectPacket,
  type MqttClient,
  type MqttProtocol
} from "mqtt"
import type { Credentials } from "../Auth.js"
import type { BrokerAddress } from "../BrokerUrl.js"
import type { Envelope } from "../Envelope.js"
import type { TlsOptions } from "../Sink.js"
import { ConnectionError, PublishError } from "../StellaNowError.js"
import * as ConnectionLog from "./connectionLog.js"

/** What a connection is made with, but the credentials: fixed for the sink's life. */
export interface Settings {
  readonly address: BrokerAddress
  readonly clientId: string
  readonly protocolVersion: 4 | 5
  readonly keepAlive: Duration.Duration
  /** Bounds the CONNECT (up to the CONNACK) and the end of a connection. */
  readonly connectTimeout: Duration.Duration
  readonly tls?: TlsOptions | undefined
  /** Extra mqtt.js client options, applied last. */
  readonly clientOptions?: Partial<IClientOptions> | undefined
}

/** The keepalive in whole seconds, as the CONNECT carries it. */
export const keepAliveSeconds = (settings: Settings): number =>
  Math.max(1, Math.round(Duration.toSeconds(settings.keepAlive)))

/** How a connection ended, once it was up. */
export interface Closed {
  /** Why: `DuplicateClientId` or `Closed` from the broker's DISCONNECT, an error seen, or `Stopped` by the SDK. */
  readonly error: ConnectionError
  /**
   * Whether the broker or the socket said why (a DISCONNECT or an error). mosquitto closes a
   * taken-over connection without either.
   */
  readonly explained: boolean
}

/** One live broker connection. */
export interface Connection {
  readonly client: MqttClient
  /** Publishes waiting for their PUBACK on this connection, to fail them all if it drops. */
  readonly pending: Set<(exit: Exit.Exit<void, PublishError>) => void>
  /** Called once `pending` empties, while someone waits for that (see `settleInFlight`). */
  onIdle: (() => void) | undefined
  /** Resolved once, with why the connection ended. */
  readonly closed: Deferred.Deferred<Closed>
  /** Set when the connection is being retired: no new publishes on it. */
  retiring: boolean
  /** Told (perhaps more than once) when the connection stops taking publishes. */
  readonly onRetiring: (connection: Connection) => void
  /** Set once the SDK has ended the client (see `disconnect`): the scope's release has nothing left to end. */
  ended: boolean
  /** Why the broker ended it, when it said (DISCONNECT reason code) or an error was seen. */
  endReason: ConnectionError | undefined
  /** The broker's CONNACK. */
  connack: IConnackPacket | undefined
  /** When the CONNACK came (epoch milliseconds). */
  connectedAt: number
  /** Publishes and their outcomes on this connection, for the debug log. */
  readonly stats: ConnectionLog.Stats
}

/** CONNACK reason codes that mean "these credentials will not do" (MQTT 5, and 4/5 of MQTT 3.1.1). */
const refusedCodes = new Set([4, 5, 134, 135, 138, 140])

/** DISCONNECT reason code 142: another connection with our client id took the session over. */
const sessionTakenOver = 142

const publishOptions = { qos: 1, retain: false } as const

/**
 * Whether DEBUG is set (as for `DEBUG=mqttjs*`), so mqtt.js keeps its own debug logging. That prints
 * each CONNECT packet whole, password or token included: the SDK's own debug logs say what a connection
 * did without them (see `connectionLog.ts`).
 */
const mqttDebugWanted = (): boolean => typeof process !== "undefined" && (process.env?.["DEBUG"] ?? "").length > 0

const protocolOf = (address: BrokerAddress): MqttProtocol =>
  address.transport === "websocket" ? (address.tls ? "wss" : "ws") : (address.tls ? "mqtts" : "mqtt")

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

const noConnack = (settings: Settings, cause?: unknown) =>
  new ConnectionError({
    reason: "Timeout",
    detail: `no CONNACK from ${settings.address.url} within ${Duration.format(settings.connectTimeout)}`,
    ...(cause === undefined ? {} : { cause })
  })

/** Node's codes for a broker certificate that did not verify (OpenSSL's, and Node's own hostname check). */
const tlsCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "HOSTNAME_MISMATCH",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA"
])

/** Whether the error is a broker certificate that did not verify: no retry will make it verify. */
const isTlsError = (code: unknown): code is string =>
  typeof code === "string" && (tlsCodes.has(code) || code.includes("CERT"))

/** A failed CONNECT as a `ConnectionError`: no CONNACK in time, refused credentials, TLS, or unreachable. */
const classify = (settings: Settings, error: unknown): ConnectionError => {
  const destination = settings.address.url
  // mqtt.js's own CONNACK timer has the same length as ours and, started first, fires first.
  if (error instanceof Error && error.message === "connack timeout") return noConnack(settings, error)
  const code = (error as { code?: unknown } | undefined)?.code
  if (isTlsError(code)) {
    const text = error instanceof Error ? error.message : String(error)
    return new ConnectionError({
      reason: "Tls",
      detail: `TLS failed with the broker at ${destination}: its certificate did not verify (${code}: ${text})`,
      cause: error
    })
  }
  if (typeof code === "number" && refusedCodes.has(code)) {
    return new ConnectionError({
      reason: "Refused",
      detail: `the broker at ${destination} refused the connection (reason code ${code}): ` +
        `the credentials were not accepted`,
      cause: error
    })
  }
  const text = error instanceof Error ? error.message : String(error)
  return new ConnectionError({
    reason: "Unreachable",
    detail: `cannot connect to the broker at ${destination}: ${text}`,
    cause: error
  })
}

/** Why the broker ended a connection with a DISCONNECT. */
const disconnected = (settings: Settings, packet: IDisconnectPacket): ConnectionError =>
  packet.reasonCode === sessionTakenOver
    ? new ConnectionError({
      reason: "DuplicateClientId",
      detail: `another connection with client id ${settings.clientId} took over the session at ${settings.address.url}`
    })
    : new ConnectionError({
      reason: "Closed",
      detail: `the broker at ${settings.address.url} disconnected (reason code ${packet.reasonCode ?? 0}` +
        `${packet.properties?.reasonString === undefined ? "" : `: ${packet.properties.reasonString}`})`
    })

const closedUnaccepted = (settings: Settings) =>
  new ConnectionError({
    reason: "Unreachable",
    detail: `the connection to ${settings.address.url} closed before the broker accepted it`
  })

/** No new publishes on the connection; those in flight may still get their PUBACK. */
const stopUsing = (connection: Connection) => {
  connection.retiring = true
  connection.onRetiring(connection)
}

/** Ends the connection's life: its pending publishes fail as lost, and `closed` tells why. */
const retire = (connection: Connection, closed: Closed) => {
  stopUsing(connection)
  const lost = Exit.fail(
    new PublishError({ reason: "ConnectionLost", messageId: "", detail: `connection lost: ${closed.error.detail}` })
  )
  for (const resume of connection.pending) resume(lost)
  connection.pending.clear()
  Deferred.doneUnsafe(connection.closed, Exit.succeed(closed))
}

const makeConnection = (client: MqttClient, onRetiring: (connection: Connection) => void): Connection => ({
  client,
  pending: new Set(),
  onIdle: undefined,
  closed: Deferred.makeUnsafe<Closed>(),
  retiring: false,
  onRetiring,
  ended: false,
  endReason: undefined,
  connack: undefined,
  connectedAt: 0,
  stats: ConnectionLog.makeStats()
})

/** Follows the client's events: the CONNACK or why there was none, then why the connection ended. */
const watch = (
  settings: Settings,
  connection: Connection,
  settle: (exit: Exit.Exit<Connection, ConnectionError>) => boolean
) => {
  const { client } = connection
  client.once("connect", (packet) => {
    connection.connack = packet
    settle(Exit.succeed(connection))
  })
  client.on("error", (error) => {
    const reason = classify(settings, error)
    if (!settle(Exit.fail(reason))) connection.endReason ??= reason
  })
  client.on("disconnect", (packet) => {
    connection.endReason ??= disconnected(settings, packet)
  })
  client.on("close", () => {
    if (settle(Exit.fail(closedUnaccepted(settings)))) return
    const explained = connection.endReason !== undefined
    retire(connection, {
      error: connection.endReason ??
        new ConnectionError({ reason: "Closed", detail: `the connection to ${settings.address.url} closed` }),
      explained
    })
  })
}

/** One connection attempt, up to the CONNACK. Interrupting it ends the client. */
const connect = (
  settings: Settings,
  credentials: Credentials,
  onRetiring: (connection: Connection) => void
): Effect.Effect<Connection, ConnectionError> =>
  Effect.callback<Connection, ConnectionError>((resume) => {
    const connection = makeConnection(mqtt.connect(clientOptions(settings, credentials)), onRetiring)
    let settled = false
    /** Settles the attempt, once; false when it was settled already. */
    const settle = (exit: Exit.Exit<Connection, ConnectionError>): boolean => {
      if (settled) return false
      settled = true
      if (Exit.isFailure(exit)) connection.client.end(true)
      resume(exit)
      return true
    }
    watch(settings, connection, settle)
    return Effect.sync(() => {
      settled = true
      connection.client.end(true)
    })
  }).pipe(
    Effect.timeoutOrElse({ duration: settings.connectTimeout, orElse: () => Effect.fail(noConnack(settings)) })
  )

/**
 * One connection attempt as a span. The span ends with nothing of the client: the client's options
 * carry the credentials, and a tracer may keep a span's result.
 */
const connectTraced = (
  settings: Settings,
  credentials: Credentials,
  onRetiring: (connection: Connection) => void
): Effect.Effect<Connection, ConnectionError> => {
  let established: Connection | undefined
  return connect(settings, credentials, onRetiring).pipe(
    Effect.map((connection) => {
      established = connection
    }),
    Effect.withSpan("StellaNow.connect", {
      attributes: {
        "server.address": settings.address.host,
        "server.port": settings.address.port,
        "network.transport": settings.address.transport,
        "stellanow.client_id": settings.clientId
      }
    }),
    Effect.map(() => established!)
  )
}

/**
 * Ends a connection: gracefully after its in-flight publishes when `graceful`, else at once; bounded by
 * the connect timeout either way. Not `Effect.interruptible`: as a finalizer of an interrupted fiber it
 * would then be skipped, and the timeout bounds it already.
 */
const disconnect = (settings: Settings, connection: Connection, graceful: boolean) =>
  Effect.callback<void>((resume) => {
    connection.retiring = true
    connection.client.end(!graceful, () => resume(Effect.void))
  }).pipe(
    Effect.timeoutOption(settings.connectTimeout),
    Effect.andThen(Effect.sync(() => {
      connection.client.end(true)
      connection.ended = true
      retire(connection, {
        error: new ConnectionError({ reason: "Stopped", detail: "disconnected by the SDK" }),
        explained: true
      })
    }))
  )

/** The release of {@link open}: the client ended at once unless already, and what the connection did logged. */
const release = (settings: Settings, connection: Connection) =>
  Effect.andThen(
    connection.ended ? Effect.void : disconnect(settings, connection, false),
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.logDebug(ConnectionLog.summary(settings.address.url, connection.stats, now - connection.connectedAt)))
  )

/**
 * Connects with the credentials, up to the CONNACK (bounded by the connect timeout); a refused CONNECT
 * fails with reason `Refused`. The client is ended when the scope closes. `onRetiring` is told when the
 * connection stops taking publishes: it dropped, or it is being retired.
 */
export const open = (
  settings: Settings,
  credentials: Credentials,
  onRetiring: (connection: Connection) => void
): Effect.Effect<Connection, ConnectionError, Scope.Scope> => {
  const acquire = Effect.tap(
    connectTraced(settings, credentials, onRetiring),
    (connection) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        connection.connectedAt = now
      })
  )
  return Effect.acquireRelease(
    // Interruptible, unlike most acquisitions: stopping the SDK should not wait out a connect timeout.
    // An attempt interrupted before its CONNACK ends its client by itself (see `connect`).
    Effect.interruptible(acquire),
    (connection) => release(settings, connection)
  )
}

/** The Maximum Packet Size the broker announced in the connection's CONNACK (MQTT 5), if any. */
export const maximumPacketSize = (connection: Connection): number | undefined =>
  connection.connack?.properties?.maximumPacketSize

/** Completes when the connection has ended, telling why. */
export const closed = (connection: Connection): Effect.Effect<Closed> => Deferred.await(connection.closed)

/** Waits until no publish is waiting for its PUBACK on the connection (bounded by `limit`). */
const settleInFlight = (connection: Connection, limit: Duration.Duration) =>
  Effect.callback<void>((resume) => {
    if (connection.pending.size === 0) return resume(Effect.void)
    connection.onIdle = () => resume(Effect.void)
    return Effect.sync(() => {
      connection.onIdle = undefined
    })
  }).pipe(Effect.timeoutOption(limit))

/**
 * Retires a connection gracefully, as before its credentials expire: no new publishes on it, the
 * in-flight ones given their time to get their PUBACK, then a graceful DISCONNECT.
 */
export const retireGracefully = (settings: Settings, connection: Connection): Effect.Effect<void> =>
  Effect.suspend(() => {
    stopUsing(connection)
    return Effect.andThen(
      settleInFlight(connection, settings.connectTimeout),
      disconnect(settings, connection, true)
    )
  })

/** Removes a publish from the connection's pending set, telling a waiter when it empties. */
const forget = (connection: Connection, entry: (exit: Exit.Exit<void, PublishError>) => void): boolean => {
  const removed = connection.pending.delete(entry)
  if (removed && connection.pending.size === 0 && connection.onIdle !== undefined) {
    const onIdle = connection.onIdle
    connection.onIdle = undefined
    onIdle()
  }
  return removed
}

/** Publishes on the connection (QoS 1); returns a function that stops waiting for the outcome. */
export const publishWith = (
  connection: Connection | undefined,
  envelope: Envelope,
  done: (exit: Exit.Exit<void, PublishError>) => void
): () => void => {
  if (connection === undefined || connection.retiring) {
    done(Exit.fail(
      new PublishError({ reason: "NotConnected", messageId: envelope.messageId, detail: "not connected" })
    ))
    return constVoid
  }
  const lost = (detail: string, cause?: unknown) =>
    Exit.fail(
      new PublishError({
        reason: "ConnectionLost",
        messageId: envelope.messageId,
        detail,
        ...(cause === undefined ? {} : { cause })
      })
    )
  // Called with the PUBACK, or by `retire` when the connection ends first.
  const settle = (exit: Exit.Exit<void, PublishError>) => {
    if (forget(connection, settle)) {
      if (Exit.isSuccess(exit)) connection.stats.acknowledged++
      else connection.stats.unacknowledged++
      done(Exit.isSuccess(exit) ? exit : lost("the connection was lost before the broker acknowledged the message"))
    }
  }
  connection.pending.add(settle)
  connection.stats.sent++
  connection.client.publish(envelope.topic, envelope.body, publishOptions, (error) => {
    if (error === undefined || error === null) return settle(Exit.void)
    if (!forget(connection, settle)) return
    if (typeof (error as { code?: unknown }).code === "number") {
      // A reason code in the PUBACK: the broker itself refused the message.
      connection.stats.refused++
      return done(Exit.fail(
        new PublishError({
          reason: "Rejected",
          messageId: envelope.messageId,
          detail: `the broker did not accept the message: ${error.message}`,
          cause: error
        })
      ))
    }
    // mqtt.js fails the publishes still awaiting their PUBACK with a plain Error ("Connection closed")
    // as the connection goes down under them, before its "close" event: the connection is lost, the
    // broker refused nothing.
    connection.stats.unacknowledged++
    stopUsing(connection)
    done(lost(`the connection was lost before the broker acknowledged the message: ${error.message}`, error))
  })
  return () => void forget(connection, settle)
}
