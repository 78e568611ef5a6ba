import {
  Clock,
  Deferred,
  Duration,
  Effect,
  Exit,
  Latch,
  Metric,
  Redacted,
  Result,
  Schedule,
  SubscriptionRef
} from "effect"
import { constVoid } from "effect/Function"
import * as mqtt from "mqtt"
import { nanoid } from "nanoid"
import { Auth, type Credentials } from "../Auth.js"
import * as BrokerUrl from "../BrokerUrl.js"
import type { Envelope } from "../Envelope.js"
import * as Metrics from "../Metrics.js"
import { ConnectionState, defaultReconnectSchedule, type MqttOptions, type Service } from "../Sink.js"
import { type AuthError, ConfigurationError, ConnectionError, PublishError } from "../StellaNowError.js"
import * as ConnectionLog from "./connectionLog.js"
import * as MetricSeries from "./metricSeries.js"
import * as Check from "./options.js"

export const makeClientId = (): string => `StellaNowSDKTypeScript_${nanoid(10)}`

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

/** One live broker connection. */
interface Connection {
  readonly client: mqtt.MqttClient
  /** Publishes waiting for their PUBACK on this connection, to fail them all if it drops. */
  readonly pending: Set<(exit: Exit.Exit<void, PublishError>) => void>
  /** Called once `pending` empties, while someone waits for that (see `settleInFlight`). */
  onIdle: (() => void) | undefined
  /** Resolved once, with why the connection ended. */
  readonly closed: Deferred.Deferred<ConnectionError>
  /** Set when the connection is being retired: no new publishes on it. */
  retiring: boolean
  /** Why the broker ended it, when it said (DISCONNECT reason code) or an error was seen. */
  endReason: ConnectionError | undefined
  /** The broker's CONNACK, for the debug log. */
  connack: mqtt.IConnackPacket | undefined
  /** Publishes and their outcomes on this connection, for the debug log. */
  readonly stats: ConnectionLog.Stats
}

export const make = (options: MqttOptions): Effect.Effect<Service, ConfigurationError, Auth> =>
  Effect.gen(function*() {
    const auth = yield* Auth
    const address = yield* Effect.fromResult(BrokerUrl.parse(options.brokerUrl))
    const keepAlive = yield* Check.duration(options.keepAlive, "30 seconds", "keepAlive")
    const connectTimeout = yield* Check.duration(options.connectTimeout, "10 seconds", "connectTimeout")
    const stableAfter = yield* Check.duration(options.stableAfter, "10 seconds", "stableAfter")
    const renewBeforeExpiry = yield* Check.duration(options.renewBeforeExpiry, "30 seconds", "renewBeforeExpiry")
    const maxAuthFailures = yield* Check.count(options.maxAuthFailures, 3, "maxAuthFailures")
    const maxTakeovers = yield* Check.count(options.maxTakeovers, 5, "maxTakeovers")
    const clientId = options.clientId ?? makeClientId()
    if (clientId.length === 0 || clientId.length > 65535) {
      return yield* new ConfigurationError({
        reason: "InvalidOption",
        detail: "clientId must be 1 to 65535 characters"
      })
    }
    const reconnectSchedule = options.reconnectSchedule ?? defaultReconnectSchedule
    const destination = address.url
    const clientSeries = (yield* MetricSeries.maker)({ client_id: clientId })
    const state = yield* SubscriptionRef.make<ConnectionState>(ConnectionState.Idle())
    const ready = yield* Latch.make(false)
    let current: Connection | undefined

    const clientOptions = (credentials: Credentials): mqtt.IClientOptions => ({
      protocol: address.transport === "websocket" ? (address.tls ? "wss" : "ws") : (address.tls ? "mqtts" : "mqtt"),
      host: address.host,
      hostname: address.host,
      port: address.port,
      ...(address.path === undefined ? {} : { path: address.path }),
      protocolVersion: options.protocolVersion ?? 5,
      clean: true,
      clientId,
      keepalive: Math.max(1, Math.round(Duration.toSeconds(keepAlive))),
      connectTimeout: Duration.toMillis(connectTimeout),
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
      ...(options.tls?.ca === undefined ? {} : { ca: options.tls.ca as any }),
      ...(options.tls?.cert === undefined ? {} : { cert: options.tls.cert }),
      ...(options.tls?.key === undefined ? {} : { key: options.tls.key }),
      ...(options.tls?.servername === undefined ? {} : { servername: options.tls.servername }),
      rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
      ...options.clientOptions
    })

    const noConnack = (cause?: unknown) =>
      new ConnectionError({
        reason: "Timeout",
        detail: `no CONNACK from ${destination} within ${Duration.format(connectTimeout)}`,
        ...(cause === undefined ? {} : { cause })
      })

    const classify = (error: unknown): ConnectionError => {
      // mqtt.js's own CONNACK timer has the same length as ours and, started first, fires first.
      if (error instanceof Error && error.message === "connack timeout") return noConnack(error)
      const code = (error as { code?: unknown } | undefined)?.code
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

    /** No new publishes on the connection; those in flight may still get their PUBACK. */
    const stopUsing = (connection: Connection) => {
      connection.retiring = true
      if (current === connection) {
        current = undefined
        ready.closeUnsafe()
        Metrics.connected.updateUnsafe(0, clientSeries)
      }
    }

    const retire = (connection: Connection, reason: ConnectionError) => {
      stopUsing(connection)
      const lost = Exit.fail(
        new PublishError({ reason: "ConnectionLost", messageId: "", detail: `connection lost: ${reason.detail}` })
      )
      for (const resume of connection.pending) resume(lost)
      connection.pending.clear()
      Deferred.doneUnsafe(connection.closed, Exit.succeed(reason))
    }

    /** One connection attempt, up to the CONNACK. Interrupting it ends the client. */
    const connect = (credentials: Credentials): Effect.Effect<Connection, ConnectionError> =>
      Effect.callback<Connection, ConnectionError>((resume) => {
        const client = mqtt.connect(clientOptions(credentials))
        const closed = Deferred.makeUnsafe<ConnectionError>()
        const connection: Connection = {
          client,
          pending: new Set(),
          onIdle: undefined,
          closed,
          retiring: false,
          endReason: undefined,
          connack: undefined,
          stats: ConnectionLog.makeStats()
        }
        let settled = false
        const settle = (exit: Exit.Exit<Connection, ConnectionError>) => {
          if (settled) return
          settled = true
          if (Exit.isFailure(exit)) client.end(true)
          resume(exit)
        }
        client.once("connect", (packet) => {
          connection.connack = packet
          settle(Exit.succeed(connection))
        })
        client.on("error", (error) => {
          if (!settled) return settle(Exit.fail(classify(error)))
          connection.endReason ??= classify(error)
        })
        client.on("disconnect", (packet) => {
          connection.endReason ??= packet.reasonCode === sessionTakenOver
            ? new ConnectionError({
              reason: "DuplicateClientId",
              detail: `another connection with client id ${clientId} took over the session at ${destination}`
            })
            : new ConnectionError({
              reason: "Closed",
              detail: `the broker at ${destination} disconnected (reason code ${packet.reasonCode ?? 0}` +
                `${packet.properties?.reasonString === undefined ? "" : `: ${packet.properties.reasonString}`})`
            })
        })
        client.on("close", () => {
          if (!settled) {
            return settle(Exit.fail(
              new ConnectionError({
                reason: "Unreachable",
                detail: `the connection to ${destination} closed before the broker accepted it`
              })
            ))
          }
          retire(
            connection,
            connection.endReason ??
              new ConnectionError({ reason: "Closed", detail: `the connection to ${destination} closed` })
          )
        })
        return Effect.sync(() => {
          settled = true
          client.end(true)
        })
      }).pipe(
        Effect.timeoutOrElse({ duration: connectTimeout, orElse: () => Effect.fail(noConnack()) })
      )

    /**
     * One connection attempt as a span. The span ends with nothing of the client: the client's options
     * carry the credentials, and a tracer may keep a span's result.
     */
    const connectTraced = (credentials: Credentials): Effect.Effect<Connection, ConnectionError> => {
      let established: Connection | undefined
      return connect(credentials).pipe(
        Effect.map((connection) => {
          established = connection
        }),
        Effect.withSpan("StellaNow.connect", {
          attributes: {
            "server.address": address.host,
            "server.port": address.port,
            "network.transport": address.transport,
            "stellanow.client_id": clientId
          }
        }),
        Effect.map(() => established!)
      )
    }

    /** Ends a connection: gracefully after its in-flight publishes when `graceful`, else at once. */
    const disconnect = (connection: Connection, graceful: boolean) =>
      Effect.callback<void>((resume) => {
        connection.retiring = true
        connection.client.end(!graceful, () => resume(Effect.void))
      }).pipe(
        Effect.timeoutOption(connectTimeout),
        Effect.andThen(Effect.sync(() => {
          connection.client.end(true)
          retire(connection, new ConnectionError({ reason: "Stopped", detail: "disconnected by the SDK" }))
        }))
      )

    /** Waits until no publish is waiting for its PUBACK on the connection (bounded by `limit`). */
    const settleInFlight = (connection: Connection, limit: Duration.Duration) =>
      Effect.callback<void>((resume) => {
        if (connection.pending.size === 0) return resume(Effect.void)
        connection.onIdle = () => resume(Effect.void)
        return Effect.sync(() => {
          connection.onIdle = undefined
        })
      }).pipe(Effect.timeoutOption(limit))

    const awaitRenewal = (credentials: Credentials): Effect.Effect<"renew"> =>
      credentials.expiresAt === undefined ? Effect.never : Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const remaining = credentials.expiresAt! - now
        const margin = Math.min(Duration.toMillis(renewBeforeExpiry), remaining / 5)
        // At least a second between renewals, so credentials that are already about to expire cannot
        // make the sink reconnect in a tight loop.
        yield* Effect.sleep(Duration.millis(Math.max(1000, remaining - margin)))
        return "renew" as const
      })

    const run: Effect.Effect<never, ConnectionError | AuthError> = Effect.gen(function*() {
      // The schedule's step, made afresh to reset the backoff after a good connection.
      let backoff = yield* Schedule.toStepWithSleep(reconnectSchedule)
      const resetBackoff = Effect.map(Schedule.toStepWithSleep(reconnectSchedule), (step) => {
        backoff = step
      })
      let attempt = 0
      let authFailures = 0
      let takeovers = 0
      const fail = (error: ConnectionError | AuthError) =>
        SubscriptionRef.set(state, ConnectionState.Failed({ error })).pipe(
          Effect.andThen(Effect.logError("giving up on the broker connection", error.message)),
          Effect.andThen(Effect.fail(error))
        )
      const waitToRetry = (error: ConnectionError | AuthError) =>
        Metric.update(Metric.withAttributes(Metrics.reconnects, { client_id: clientId, cause: error.reason }), 1)
          .pipe(
            Effect.andThen(SubscriptionRef.set(state, ConnectionState.Disconnected({ error }))),
            // The schedule's end (its `Done`) is the only way the step fails: then the sink gives up.
            Effect.andThen(Effect.suspend(() => Effect.catch(backoff(error), () => fail(error))))
          )

      yield* Effect.logInfo(`SDK client id is "${clientId}"; connecting to ${destination}`)
      while (true) {
        attempt++
        yield* SubscriptionRef.set(state, ConnectionState.Connecting({ attempt }))
        const credentials = yield* Effect.result(auth.credentials)
        if (Result.isFailure(credentials)) {
          if (!credentials.failure.isTransient) return yield* fail(credentials.failure)
          yield* Effect.logWarning("could not get credentials; will retry", credentials.failure.message)
          yield* waitToRetry(credentials.failure)
          continue
        }
        yield* Effect.logDebug(ConnectionLog.attempt({
          attempt,
          destination,
          clientId,
          protocolVersion: options.protocolVersion ?? 5,
          keepAliveSeconds: Math.max(1, Math.round(Duration.toSeconds(keepAlive))),
          credentials: credentials.success,
          now: yield* Clock.currentTimeMillis
        }))
        const connected = yield* Effect.result(connectTraced(credentials.success))
        if (Result.isFailure(connected)) {
          const error = connected.failure
          // A broker that cannot be reached is not one taking our session over: start counting afresh.
          if (error.reason !== "Refused") takeovers = 0
          if (error.reason === "Refused") {
            authFailures++
            // Let the auth drop what the broker refused (e.g. a token it deems expired) before the next try.
            if (auth.rejected !== undefined) yield* auth.rejected(credentials.success)
            yield* Effect.logWarning(`connection refused (${authFailures}/${maxAuthFailures})`, error.message)
            if (authFailures >= maxAuthFailures) return yield* fail(error)
          } else {
            yield* Effect.logDebug("connection attempt failed", error.message)
          }
          yield* waitToRetry(error)
          continue
        }
        const connection = connected.success
        const since = yield* Clock.currentTimeMillis
        current = connection
        authFailures = 0
        ready.openUnsafe()
        Metrics.connected.updateUnsafe(1, clientSeries)
        yield* SubscriptionRef.set(state, ConnectionState.Connected({ since }))
        yield* Effect.logInfo(`connected to ${destination}`)
        yield* Effect.logDebug(ConnectionLog.connack(destination, connection.connack))
        const logSummary = Effect.suspend(() =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.logDebug(ConnectionLog.summary(destination, connection.stats, now - since)))
        )

        const outcome = yield* Effect.raceFirst(Deferred.await(connection.closed), awaitRenewal(credentials.success))
          .pipe(Effect.onInterrupt(() =>
            Effect.andThen(disconnect(connection, false), logSummary)
          ))
        if (outcome === "renew") {
          // Move to fresh credentials before these expire: no new publishes on this connection, let
          // the in-flight ones get their PUBACK, then reconnect at once.
          yield* Effect.logInfo("renewing the connection before its credentials expire")
          stopUsing(connection)
          yield* settleInFlight(connection, connectTimeout)
          yield* disconnect(connection, true)
          yield* logSummary
          // The connection served until we retired it: it counts as a good one.
          yield* resetBackoff
          takeovers = 0
          attempt = 0
          continue
        }
        yield* logSummary
        const lived = (yield* Clock.currentTimeMillis) - since
        const stable = lived >= Duration.toMillis(stableAfter)
        if (stable) {
          yield* resetBackoff
          takeovers = 0
          attempt = 0
        }
        let error = outcome
        // mosquitto closes a taken-over connection without a DISCONNECT, so a string of connections
        // that the broker drops soon after accepting them, without a reason code or an error, is
        // treated as a duplicate client id too.
        const unexplained = connection.endReason === undefined
        if (error.reason === "DuplicateClientId" || (!stable && unexplained)) {
          takeovers++
          if (takeovers >= maxTakeovers) {
            error = new ConnectionError({
              reason: "DuplicateClientId",
              detail: `the broker at ${destination} dropped ${takeovers} connections in a row right after ` +
                `accepting them: another client is probably using the client id ${clientId}`
            })
            return yield* fail(error)
          }
        }
        yield* Effect.logInfo("connection lost; reconnecting", error.message)
        yield* waitToRetry(error)
      }
    }).pipe(
      Effect.ensuring(Effect.suspend(() => {
        ready.closeUnsafe()
        return SubscriptionRef.update(state, (s) => s._tag === "Failed" ? s : ConnectionState.Idle())
      })),
      Effect.annotateLogs({ module: "Sink", role: "connection", clientId })
    ) as Effect.Effect<never, ConnectionError | AuthError>

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

    /** Publishes on the current connection; returns a function that stops waiting for the outcome. */
    const publishWith = (envelope: Envelope, done: (exit: Exit.Exit<void, PublishError>) => void): () => void => {
      const connection = current
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

    const publish = (envelope: Envelope): Effect.Effect<void, PublishError> =>
      Effect.callback<void, PublishError>((resume) => Effect.sync(publishWith(envelope, resume)))

    return {
      clientId,
      destination,
      state,
      run,
      awaitReady: ready.await,
      publish,
      // Reports each outcome from mqtt.js's own callbacks (the PUBACK, the broker's refusal, the end of
      // the connection): the drain keeps many messages in flight without a fiber per message.
      publisher: Effect.succeed((envelope: Envelope, done: (exit: Exit.Exit<void, PublishError>) => void) =>
        void publishWith(envelope, done)
      )
    } satisfies Service
  })
