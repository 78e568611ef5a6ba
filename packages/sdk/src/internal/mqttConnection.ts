/**
 * One broker connection: one MQTT client (mqtt.js, or the WebSocket client for pages, as the settings'
 * `connector` makes them), from its CONNECT to its end. {@link open} connects (bounded by the connect
 * timeout) and ends the client when its scope closes (bounded too); what happened
 * is told as values — the CONNACK on the connection, a refused or failed CONNECT as a `ConnectionError`,
 * the end as {@link Closed}. Publishing goes through the client's callbacks, without a fiber per message.
 * When to connect again is not decided here (see `reconnectPolicy.ts`).
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { constVoid } from "effect/Function"
import type * as Scope from "effect/Scope"
import type { IClientOptions } from "mqtt"
import type { Credentials } from "../Auth.js"
import type { BrokerAddress } from "../BrokerUrl.js"
import type { Envelope } from "../Envelope.js"
import type { TlsOptions } from "../Sink.js"
import { ConnectionError, PublishError } from "../StellaNowError.js"
import * as ConnectionLog from "./connectionLog.js"
import * as MessageSize from "./messageSize.js"
import type { Client, Connack, Connector, Disconnect, Events } from "./mqttClient.js"
import * as ReasonCodes from "./reasonCodes.js"

/** What a connection is made with, but the credentials: fixed for the sink's life. */
export interface Settings {
  /** Makes the MQTT client of each connection: mqtt.js, or the WebSocket client for pages. */
  readonly connector: Connector
  readonly address: BrokerAddress
  readonly clientId: string
  readonly protocolVersion: 4 | 5
  readonly keepAlive: Duration.Duration
  /** Bounds the CONNECT (up to the CONNACK) and the end of a connection. */
  readonly connectTimeout: Duration.Duration
  /** How long a publish may wait for its PUBACK (see {@link expire}). */
  readonly publishTimeout: Duration.Duration
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
  /** The connection's client: set as the attempt starts. */
  client: Client
  /** Publishes waiting for their PUBACK on this connection, in the order sent, to fail them all if it drops. */
  readonly pending: Set<Pending>
  /** Publishes sent on this connection so far: the next one's `sequence`. */
  sent: number
  /**
   * Every publish whose `sequence` is below this was sent before a packet the broker answered (a later
   * publish's PUBACK, or a PINGRESP): the broker has read past it.
   */
  answeredBefore: number
  /** The `sent` count when the last PINGREQ went out. */
  pingedAt: number
  /** When the broker last answered (PUBACK or PINGRESP), or the CONNACK came (epoch milliseconds). */
  lastAnswerAt: number
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
  connack: Connack | undefined
  /** When the CONNACK came (epoch milliseconds). */
  connectedAt: number
  /** Publishes and their outcomes on this connection, for the debug log. */
  readonly stats: ConnectionLog.Stats
  /** Tells when a publish was sent and acknowledged. */
  readonly clock: Clock.Clock
  readonly publishTimeout: Duration.Duration
}

/** CONNACK reason codes that mean "these credentials will not do" (MQTT 5, and 4/5 of MQTT 3.1.1). */
const refusedCodes = new Set([4, 5, 134, 135, 138, 140])

/** DISCONNECT reason code 142: another connection with our client id took the session over. */
const sessionTakenOver = 142

/** Reason code 0x95, "Packet too large". */
const packetTooLarge = 0x95

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
  // Both clients' keepalive: mqtt.js says "Keepalive timeout", the WebSocket client "keepalive timeout: …".
  if (error instanceof Error && /^keepalive timeout/i.test(error.message)) {
    return new ConnectionError({
      reason: "Timeout",
      detail: `the broker at ${destination} stopped answering: ${error.message}`,
      cause: error
    })
  }
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
      detail: `the broker at ${destination} refused the connection (reason code ${ReasonCodes.describe(code)}): ` +
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
const disconnected = (settings: Settings, packet: Disconnect): ConnectionError => {
  if (packet.reasonCode === sessionTakenOver) {
    return new ConnectionError({
      reason: "DuplicateClientId",
      detail: `another connection with client id ${settings.clientId} took over the session at ${settings.address.url}`
    })
  }
  const code = ReasonCodes.describe(packet.reasonCode ?? 0)
  const why = packet.properties?.reasonString === undefined ? "" : `: ${packet.properties.reasonString}`
  return new ConnectionError({
    reason: "Closed",
    detail: `the broker at ${settings.address.url} disconnected (reason code ${code}${why})`
  })
}

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
  for (const pending of connection.pending) pending.settle(lost)
  connection.pending.clear()
  Deferred.doneUnsafe(connection.closed, Exit.succeed(closed))
}

/** The client of a connection whose attempt has not started: nothing to publish on, nothing to end. */
const unstarted: Client = {
  publish: (_topic, _payload, callback) => callback(new Error("not connected")),
  end: (_force, callback) => callback?.()
}

const makeConnection = (
  onRetiring: (connection: Connection) => void,
  clock: Clock.Clock,
  publishTimeout: Duration.Duration
): Connection => ({
  client: unstarted,
  pending: new Set(),
  sent: 0,
  answeredBefore: 0,
  pingedAt: 0,
  lastAnswerAt: 0,
  onIdle: undefined,
  closed: Deferred.makeUnsafe<Closed>(),
  retiring: false,
  onRetiring,
  ended: false,
  endReason: undefined,
  connack: undefined,
  connectedAt: 0,
  stats: ConnectionLog.makeStats(),
  clock,
  publishTimeout
})

/** The refusal of one message: the broker's reason code, and how it told it. */
const refusal = (messageId: string, code: number, how: string, cause?: unknown) =>
  new PublishError({
    reason: "Rejected",
    messageId,
    reasonCode: code,
    detail: `refused by the broker: reason code ${ReasonCodes.describe(code)}; ${how}`,
    ...(cause === undefined ? {} : { cause })
  })

/**
 * The broker refused a PUBLISH without naming it: a DISCONNECT 0x95, or a PUBACK mqtt.js could not
 * read (see {@link unreadablePuback}). Both say "too large", which is about size alone: whichever
 * publish the broker meant, the largest one awaiting its PUBACK is at least as large, so over the limit
 * too. A message is blamed only while no larger one is in flight, so a small message sent after a big
 * one is never blamed for it; the others merely lose the connection, which does not count against them.
 */
const refuseLargest = (connection: Connection, code: number, how: string) => {
  let largest: { readonly pending: Pending; readonly bytes: number } | undefined
  for (const pending of connection.pending) {
    const bytes = MessageSize.publishPacketBytes(pending.envelope)
    if (largest === undefined || bytes > largest.bytes) largest = { pending, bytes }
  }
  largest?.pending.refuse(code, how)
}

/**
 * mqtt-packet's error for a PUBACK whose reason code MQTT 5 does not allow there. mosquitto answers a
 * message over its `message_size_limit` with PUBACK 0x95 (Packet too large), which is not one of them.
 */
const isUnreadablePuback = (error: unknown): error is Error =>
  error instanceof Error && error.message === "Invalid puback reason code"

/**
 * A PUBACK mqtt.js could not read: mqtt.js never calls that publish's callback, and its parser drops
 * the rest of what it had read, the next PUBACKs included. The refusal is blamed as a 0x95 (see
 * {@link refuseLargest}), and the connection, which can no longer be trusted, is ended: the other
 * publishes in flight go back to the queue as lost, uncounted.
 */
const unreadablePuback = (settings: Settings, connection: Connection, error: Error) => {
  refuseLargest(connection, packetTooLarge, `the broker answered with a PUBACK mqtt.js cannot read (${error.message})`)
  connection.endReason ??= new ConnectionError({
    reason: "Closed",
    detail: `the broker at ${settings.address.url} sent a PUBACK with a reason code MQTT 5 does not allow ` +
      `(as mosquitto does for a message over its message_size_limit); reconnecting`,
    cause: error
  })
  connection.client.end(true)
}

/** What the connection does with its client's events: the CONNACK or why there was none, then why it ended. */
const events = (
  settings: Settings,
  connection: Connection,
  settle: (exit: Exit.Exit<Connection, ConnectionError>) => boolean
): Events => ({
  connack: (packet) => {
    connection.connack = packet
    settle(Exit.succeed(connection))
  },
  error: (error) => {
    const reason = classify(settings, error)
    if (settle(Exit.fail(reason))) return
    if (isUnreadablePuback(error)) return unreadablePuback(settings, connection, error)
    connection.endReason ??= reason
  },
  disconnect: (packet) => {
    // Only 0x95 is blamed on a message: size picks the culprit (see `refuseLargest`). A DISCONNECT
    // 0x97 (quota exceeded) or 0x99 (payload format invalid) names no packet, and no rule finds its
    // message without risking an innocent one: those stay a lost connection, counted against none.
    if (packet.reasonCode === packetTooLarge) {
      refuseLargest(connection, packetTooLarge, "the broker disconnected, naming a packet too large")
    }
    connection.endReason ??= disconnected(settings, packet)
  },
  close: () => {
    if (settle(Exit.fail(closedUnaccepted(settings)))) return
    const explained = connection.endReason !== undefined
    retire(connection, {
      error: connection.endReason ??
        new ConnectionError({ reason: "Closed", detail: `the connection to ${settings.address.url} closed` }),
      explained
    })
  },
  // An answer to a ping proves the broker read what came before it.
  pingSent: () => {
    connection.pingedAt = connection.sent
  },
  pingAnswered: () => answered(connection, connection.pingedAt)
})

/** One connection attempt, up to the CONNACK. Interrupting it ends the client. */
const connect = (
  settings: Settings,
  credentials: Credentials,
  onRetiring: (connection: Connection) => void,
  clock: Clock.Clock
): Effect.Effect<Connection, ConnectionError> =>
  Effect.callback<Connection, ConnectionError>((resume) => {
    const connection = makeConnection(onRetiring, clock, settings.publishTimeout)
    let settled = false
    /** Settles the attempt, once; false when it was settled already. */
    const settle = (exit: Exit.Exit<Connection, ConnectionError>): boolean => {
      if (settled) return false
      settled = true
      if (Exit.isFailure(exit)) connection.client.end(true)
      resume(exit)
      return true
    }
    try {
      connection.client = settings.connector(settings, credentials, events(settings, connection, settle))
    } catch (error) {
      // A URL the platform's WebSocket refuses, say: no client, nothing to end.
      settle(Exit.fail(classify(settings, error)))
    }
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
  return Effect.clockWith((clock) => connect(settings, credentials, onRetiring, clock)).pipe(
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
        connection.lastAnswerAt = now
      })
  )
  return Effect.acquireRelease(
    // Interruptible, unlike most acquisitions: stopping the SDK should not wait out a connect timeout.
    // An attempt interrupted before its CONNACK ends its client by itself (see `connect`).
    Effect.interruptible(acquire),
    (connection) => release(settings, connection)
  ).pipe(
    Effect.tap((connection) => Effect.forkScoped(sweep(settings, connection))),
    Effect.tap((connection) => keepAlive(settings, connection))
  )
}

/**
 * The keepalive of a client that leaves it to the connection (see `Client.ping`): a ping every interval,
 * the broker's Server Keep Alive if its CONNACK set one, for as long as the connection's scope is open.
 */
const keepAlive = (settings: Settings, connection: Connection) => {
  const { client } = connection
  if (client.ping === undefined) return Effect.void
  const serverKeepAlive = connection.connack?.properties?.serverKeepAlive
  // A Server Keep Alive of 0 turns the keepalive off, as MQTT 5 says.
  if (serverKeepAlive === 0) return Effect.void
  const interval = serverKeepAlive === undefined ? settings.keepAlive : Duration.seconds(serverKeepAlive)
  // Called on the client: the WebSocket client's `ping` is a method, and detached it loses `this`.
  return Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(interval), Effect.sync(() => client.ping?.()))))
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
const forget = (connection: Connection, entry: Pending): boolean => {
  const removed = connection.pending.delete(entry)
  if (removed && connection.pending.size === 0 && connection.onIdle !== undefined) {
    const onIdle = connection.onIdle
    connection.onIdle = undefined
    onIdle()
  }
  return removed
}

/** What `publishWith` gives back: a way to stop waiting for the outcome. */
export interface Published {
  readonly forget: () => void
}

const notPublished: Published = { forget: constVoid }

/**
 * A publish waiting for its PUBACK, settled once by whichever comes first: the PUBACK, the broker's
 * refusal, the publish timeout, the end of the connection. One object with methods rather than the
 * five closures per publish it replaced (about 300 B less allocated per message at a steady rate).
 */
class Pending implements Published {
  constructor(
    readonly connection: Connection,
    /** What was published: its size is what a "packet too large" refusal is about. */
    readonly envelope: Envelope,
    /** Its place among the connection's publishes. */
    readonly sequence: number,
    /** When it was sent (epoch milliseconds). */
    readonly sentAt: number,
    readonly done: (exit: Exit.Exit<void, PublishError>) => void
  ) {}

  /** Settles it with the PUBACK (success), or as lost with the connection (any failure). */
  settle(exit: Exit.Exit<void, PublishError>): void {
    const { connection } = this
    if (!forget(connection, this)) return
    if (Exit.isSuccess(exit)) {
      connection.stats.acknowledged++
      answered(connection, this.sequence)
      return this.done(exit)
    }
    connection.stats.unacknowledged++
    this.done(lost(this.envelope.messageId, "the connection was lost before the broker acknowledged the message"))
  }

  /** Settles it as refused by the broker, with the reason code and how the broker said it. */
  refuse(code: number, how: string, cause?: unknown): void {
    this.blame(refusal(this.envelope.messageId, code, how, cause))
  }

  /** Settles it as never acknowledged, though the broker answered later packets (see {@link expire}). */
  expire(): void {
    this.blame(unacknowledged(this.envelope.messageId, this.connection.publishTimeout))
  }

  /** Stops waiting for the outcome. */
  forget(): void {
    forget(this.connection, this)
  }

  /** Settles it as the broker's doing: refused, or skipped. */
  private blame(error: PublishError): void {
    if (!forget(this.connection, this)) return
    this.connection.stats.refused++
    this.done(Exit.fail(error))
  }

  /** The client's callback for the publish: the PUBACK, a refusal in it, or the connection going down. */
  answer(error: Error | undefined | null): void {
    if (error === undefined || error === null) return this.settle(Exit.void)
    const code = (error as { code?: unknown }).code
    // A reason code in the PUBACK: the broker itself refused the message.
    if (typeof code === "number") return this.refuse(code, "in its PUBACK", error)
    // mqtt.js fails the publishes still awaiting their PUBACK with a plain Error ("Connection closed")
    // as the connection goes down under them, before its "close" event: the connection is lost, the
    // broker refused nothing.
    const { connection } = this
    if (!forget(connection, this)) return
    connection.stats.unacknowledged++
    stopUsing(connection)
    this.done(
      lost(
        this.envelope.messageId,
        `the connection was lost before the broker acknowledged the message: ${error.message}`,
        error
      )
    )
  }
}

/** Publishes on the connection (QoS 1); gives back a way to stop waiting for the outcome. */
export const publishWith = (
  connection: Connection | undefined,
  envelope: Envelope,
  done: (exit: Exit.Exit<void, PublishError>) => void
): Published => {
  if (connection === undefined || connection.retiring) {
    done(Exit.fail(
      new PublishError({ reason: "NotConnected", messageId: envelope.messageId, detail: "not connected" })
    ))
    return notPublished
  }
  const pending = new Pending(connection, envelope, connection.sent++, connection.clock.currentTimeMillisUnsafe(), done)
  connection.pending.add(pending)
  connection.stats.sent++
  connection.client.publish(envelope.topic, envelope.body, (error) => pending.answer(error))
  return pending
}

const lost = (messageId: string, detail: string, cause?: unknown) =>
  Exit.fail(
    new PublishError({ reason: "ConnectionLost", messageId, detail, ...(cause === undefined ? {} : { cause }) })
  )

const unacknowledged = (messageId: string, timeout: Duration.Duration) =>
  new PublishError({
    reason: "Timeout",
    messageId,
    detail: `no PUBACK within ${Duration.format(timeout)}, though the broker answered packets sent after it`
  })

/** The broker answered a packet sent after the first `before` publishes: it has read past them. */
const answered = (connection: Connection, before: number) => {
  connection.answeredBefore = Math.max(connection.answeredBefore, before)
  connection.lastAnswerAt = connection.clock.currentTimeMillisUnsafe()
}

/**
 * Publishes that waited `publishTimeout` for their PUBACK. mqtt.js waits for ever, and a PUBACK can go
 * missing while the connection stays up. If the broker answered a packet sent after it (a later
 * publish's PUBACK, a PINGRESP), it read the publish and did not acknowledge it: the publish fails with
 * `Timeout`, counted against its message. If the broker answered nothing for as long, the connection is
 * what is wrong: it is ended, and its publishes go back to the queue as lost, uncounted.
 */
const expire = (settings: Settings, connection: Connection, now: number) => {
  const limit = Duration.toMillis(settings.publishTimeout)
  for (const pending of connection.pending) {
    // In the order sent: the first one still within its time ends the sweep.
    if (now - pending.sentAt < limit) return
    if (connection.answeredBefore > pending.sequence) {
      pending.expire()
      continue
    }
    if (now - connection.lastAnswerAt >= limit) {
      connection.endReason ??= new ConnectionError({
        reason: "Timeout",
        detail: `no PUBACK from ${settings.address.url} within ${Duration.format(settings.publishTimeout)}`
      })
      connection.client.end(true)
    }
    return
  }
}

/** How often the publishes' deadlines are looked at: a tenth of the timeout, at most once a second. */
const sweepInterval = (settings: Settings): Duration.Duration =>
  Duration.max(
    Duration.millis(10),
    Duration.min(Duration.seconds(1), Duration.divideUnsafe(settings.publishTimeout, 10))
  )

/** Looks at the publishes' deadlines for as long as the connection's scope is open. */
const sweep = (settings: Settings, connection: Connection) =>
  Effect.sleep(sweepInterval(settings)).pipe(
    Effect.andThen(Effect.sync(() => expire(settings, connection, connection.clock.currentTimeMillisUnsafe()))),
    Effect.forever
  )
