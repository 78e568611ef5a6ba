/**
 * The MQTT sink: the `Sink` service made of a connection at a time (`mqttConnection.ts`) and the policy
 * that decides when to make the next one (`reconnectPolicy.ts`). Here live what the SDK sees of them:
 * the connection state, the readiness latch the drain waits on, the connection metrics and logs.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Latch from "effect/Latch"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { nanoid } from "nanoid"
import { Auth, type Credentials, type Service as AuthService } from "../Auth.js"
import * as BrokerUrl from "../BrokerUrl.js"
import type { Envelope } from "../Envelope.js"
import * as Metrics from "../Metrics.js"
import { ConnectionState, defaultReconnectSchedule, type MqttOptions, type Service } from "../Sink.js"
import { type AuthError, ConfigurationError, ConnectionError, type PublishError } from "../StellaNowError.js"
import * as ConnectionLog from "./connectionLog.js"
import * as MetricSeries from "./metricSeries.js"
import type { Connector } from "./mqttClient.js"
import * as MqttConnection from "./mqttConnection.js"
import * as Check from "./options.js"
import * as ReconnectPolicy from "./reconnectPolicy.js"

/** A fresh client id: `StellaNowSDKTypeScript_` and a 10-character nanoid. */
export const makeClientId = (): string => `StellaNowSDKTypeScript_${nanoid(10)}`

/** The sink's options, checked: how to connect, and when to connect again. */
interface Checked {
  readonly settings: MqttConnection.Settings
  readonly budgets: ReconnectPolicy.Budgets
  readonly renewBeforeExpiry: Duration.Duration
  readonly reconnectSchedule: NonNullable<MqttOptions["reconnectSchedule"]>
}

const check = (options: MqttOptions, connector: Connector): Effect.Effect<Checked, ConfigurationError> =>
  Effect.gen(function*() {
    const address = yield* Effect.fromResult(BrokerUrl.parse(options.brokerUrl))
    const keepAlive = yield* Check.duration(options.keepAlive, "30 seconds", "keepAlive")
    const connectTimeout = yield* Check.duration(options.connectTimeout, "10 seconds", "connectTimeout")
    const publishTimeout = yield* Check.duration(options.publishTimeout, "30 seconds", "publishTimeout")
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
    return {
      settings: {
        connector,
        address,
        clientId,
        protocolVersion: options.protocolVersion ?? 5,
        keepAlive,
        connectTimeout,
        publishTimeout,
        tls: options.tls,
        clientOptions: options.clientOptions
      },
      budgets: { stableAfter, maxAuthFailures, maxTakeovers },
      renewBeforeExpiry,
      reconnectSchedule: options.reconnectSchedule ?? defaultReconnectSchedule
    }
  })

/** What the sink's parts share: its options, its state, and the connection publishes go to. */
interface Shared extends Checked {
  readonly auth: AuthService
  readonly state: SubscriptionRef.SubscriptionRef<ConnectionState>
  /** The broker's Maximum Packet Size, from the last CONNACK. */
  readonly maxPacketSize: SubscriptionRef.SubscriptionRef<Option.Option<number>>
  /** Open while a connection takes publishes. */
  readonly ready: Latch.Latch
  readonly clientSeries: MetricSeries.Series
  /** The connection publishes go to, while it takes them. */
  current: MqttConnection.Connection | undefined
}

/** Publishes go to the connection, unless it already stopped taking them. */
const use = (shared: Shared, connection: MqttConnection.Connection) => {
  if (connection.retiring) return
  shared.current = connection
  shared.ready.openUnsafe()
  Metrics.connected.updateUnsafe(1, shared.clientSeries)
}

/** The connection stopped taking publishes: the drain waits for the next one. */
const stopUsing = (shared: Shared) => (connection: MqttConnection.Connection) => {
  if (shared.current !== connection) return
  shared.current = undefined
  shared.ready.closeUnsafe()
  Metrics.connected.updateUnsafe(0, shared.clientSeries)
}

/** Publishes on a connection until it ends, or until its credentials are due for renewal. */
const serve = (shared: Shared, connection: MqttConnection.Connection, credentials: Credentials) =>
  Effect.gen(function*() {
    const destination = shared.settings.address.url
    // Set before publishes flow, so no message sent once connected escapes the broker's limit.
    yield* SubscriptionRef.set(
      shared.maxPacketSize,
      Option.fromNullishOr(MqttConnection.maximumPacketSize(connection))
    )
    use(shared, connection)
    yield* SubscriptionRef.set(shared.state, ConnectionState.Connected({ since: connection.connectedAt }))
    yield* Effect.logInfo(`connected to ${destination}`)
    yield* Effect.logDebug(ConnectionLog.connack(destination, connection.connack))
    const outcome = yield* Effect.raceFirst(
      MqttConnection.closed(connection),
      ReconnectPolicy.awaitRenewal(credentials.expiresAt, shared.renewBeforeExpiry)
    )
    if (outcome === "renew") {
      // Move to fresh credentials before these expire: no new publishes on this connection, let the
      // in-flight ones get their PUBACK, then reconnect at once.
      yield* Effect.logInfo("renewing the connection before its credentials expire")
      yield* MqttConnection.retireGracefully(shared.settings, connection)
      return ReconnectPolicy.Ending.Renewed()
    }
    const lived = (yield* Clock.currentTimeMillis) - connection.connectedAt
    return ReconnectPolicy.Ending.Lost({ error: outcome.error, livedMillis: lived, explained: outcome.explained })
  })

/** One try: credentials, a connection, and its life; the connection ends with it. */
const attempt = (shared: Shared) => (attempt: number): Effect.Effect<ReconnectPolicy.Ending> =>
  Effect.gen(function*() {
    const { auth, settings } = shared
    yield* SubscriptionRef.set(shared.state, ConnectionState.Connecting({ attempt }))
    const credentials = yield* Effect.result(auth.credentials)
    if (Result.isFailure(credentials)) return ReconnectPolicy.Ending.NoCredentials({ error: credentials.failure })
    yield* Effect.logDebug(ConnectionLog.attempt({
      attempt,
      destination: settings.address.url,
      clientId: settings.clientId,
      protocolVersion: settings.protocolVersion,
      keepAliveSeconds: MqttConnection.keepAliveSeconds(settings),
      credentials: credentials.success,
      now: yield* Clock.currentTimeMillis
    }))
    const connected = yield* Effect.result(MqttConnection.open(settings, credentials.success, stopUsing(shared)))
    if (Result.isFailure(connected)) {
      // Let the auth drop what the broker refused (e.g. a token it deems expired) before the next try.
      if (connected.failure.reason === "Refused" && auth.rejected !== undefined) {
        yield* auth.rejected(credentials.success)
      }
      return ReconnectPolicy.Ending.ConnectFailed({ error: connected.failure })
    }
    return yield* serve(shared, connected.success, credentials.success)
  }).pipe(Effect.scoped)

/** Before waiting to retry: the reconnect counted, the state told. */
const retrying = (shared: Shared) => (error: ConnectionError | AuthError) =>
  Metric.update(
    Metric.withAttributes(Metrics.reconnects, { client_id: shared.settings.clientId, cause: error.reason }),
    1
  ).pipe(Effect.andThen(SubscriptionRef.set(shared.state, ConnectionState.Disconnected({ error }))))

/** The policy gave up: the state and the log say why, and `run` fails with it. */
const giveUp = (shared: Shared, { error, reason }: ReconnectPolicy.GiveUp) => {
  const { address, clientId } = shared.settings
  const final = reason === "Takeovers"
    ? new ConnectionError({
      reason: "DuplicateClientId",
      detail: `the broker at ${address.url} dropped ${shared.budgets.maxTakeovers} connections in a row right ` +
        `after accepting them: another client is probably using the client id ${clientId}`
    })
    : error
  return SubscriptionRef.set(shared.state, ConnectionState.Failed({ error: final })).pipe(
    Effect.andThen(Effect.logError("giving up on the broker connection", final.message)),
    Effect.andThen(Effect.fail(final))
  )
}

/** Connects and keeps connected as the policy says, until it gives up or the fiber is interrupted. */
const run = (shared: Shared): Effect.Effect<never, ConnectionError | AuthError> =>
  Effect.logInfo(`SDK client id is "${shared.settings.clientId}"; connecting to ${shared.settings.address.url}`).pipe(
    Effect.andThen(ReconnectPolicy.run({
      budgets: shared.budgets,
      schedule: shared.reconnectSchedule,
      attempt: attempt(shared),
      retrying: retrying(shared)
    })),
    Effect.catch((decision) => giveUp(shared, decision)),
    Effect.ensuring(Effect.suspend(() => {
      shared.ready.closeUnsafe()
      return SubscriptionRef.update(shared.state, (s) => s._tag === "Failed" ? s : ConnectionState.Idle())
    })),
    Effect.annotateLogs({ module: "Sink", role: "connection", clientId: shared.settings.clientId })
  )

/**
 * Makes the MQTT sink, its connections made by `connector` (mqtt.js, or the WebSocket client for
 * pages); its connection starts with `run`.
 */
export const make = (options: MqttOptions, connector: Connector): Effect.Effect<Service, ConfigurationError, Auth> =>
  Effect.gen(function*() {
    const checked = yield* check(options, connector)
    const { clientId } = checked.settings
    const shared: Shared = {
      ...checked,
      auth: yield* Auth,
      state: yield* SubscriptionRef.make<ConnectionState>(ConnectionState.Idle()),
      maxPacketSize: yield* SubscriptionRef.make(Option.none<number>()),
      ready: yield* Latch.make(false),
      clientSeries: (yield* MetricSeries.maker)({ client_id: clientId }),
      current: undefined
    }

    /** Publishes on the current connection; gives back a way to stop waiting for the outcome. */
    const publishWith = (
      envelope: Envelope,
      done: (exit: Exit.Exit<void, PublishError>) => void
    ): MqttConnection.Published => MqttConnection.publishWith(shared.current, envelope, done)

    const publish = (envelope: Envelope): Effect.Effect<void, PublishError> =>
      Effect.callback<void, PublishError>((resume) => {
        const published = publishWith(envelope, resume)
        return Effect.sync(() => published.forget())
      })

    return {
      clientId,
      destination: checked.settings.address.url,
      state: shared.state,
      maxPacketSize: shared.maxPacketSize,
      run: run(shared),
      awaitReady: shared.ready.await,
      publish,
      // Reports each outcome from the client's own callbacks (the PUBACK, the broker's refusal, the end of
      // the connection): the drain keeps many messages in flight without a fiber per message.
      publisher: Effect.succeed((envelope: Envelope, done: (exit: Exit.Exit<void, PublishError>) => void) =>
        void publishWith(envelope, done)
      )
    } satisfies Service
  })
