import {
  Cause,
  Clock,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  FiberSet,
  MetricLabel,
  Option,
  PubSub,
  Scope,
  Stream
} from "effect"
import * as Envelope from "../Envelope.js"
import type * as Message from "../Message.js"
import { type Lease, MessageQueue } from "../MessageQueue.js"
import * as Metrics from "../Metrics.js"
import { Sink } from "../Sink.js"
import type { Event as EventType, Options, Service, StartError, StopOptions } from "../StellaNow.js"
import { Event } from "../StellaNow.js"
import { type AuthError, ConfigurationError, type ConnectionError, LifecycleError } from "../StellaNowError.js"

const invalid = (detail: string) => new ConfigurationError({ reason: "InvalidOption", detail })

const duration = (value: Duration.DurationInput | undefined, fallback: Duration.DurationInput, name: string) =>
  Effect.flatMap(
    Effect.try({ try: () => Duration.decode(value ?? fallback), catch: () => invalid(`${name} is not a duration`) }),
    (d) =>
      Duration.greaterThan(d, Duration.zero) && Duration.isFinite(d)
        ? Effect.succeed(d)
        : Effect.fail(invalid(`${name} must be a positive, finite duration, got ${Duration.format(d)}`))
  )

/** A started SDK: its fibers live in `scope`, which `stop` closes. */
interface Running {
  readonly scope: Scope.CloseableScope
  readonly connection: Fiber.RuntimeFiber<never, ConnectionError | AuthError>
  readonly taking: Fiber.RuntimeFiber<never>
  readonly publishing: FiberSet.FiberSet
}

export const make = (options: Options) =>
  Effect.gen(function*() {
    const sink = yield* Sink
    const queue = yield* MessageQueue
    const maxInFlight = options.maxInFlight ?? 1000
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
      return yield* invalid(`maxInFlight must be a whole number of at least 1, got ${String(maxInFlight)}`)
    }
    const startTimeout = yield* duration(options.startTimeout, "30 seconds", "startTimeout")
    const stopGracePeriod = yield* duration(options.stopGracePeriod, "5 seconds", "stopGracePeriod")
    const project = options.project

    const events = yield* PubSub.unbounded<EventType>()
    const labels = [MetricLabel.make("client_id", sink.clientId)]
    const dropLabels = [...labels, MetricLabel.make("policy", queue.overflow ?? "unknown")]
    // Kept by arithmetic rather than by asking the queue, which may be a database.
    let depth = yield* queue.size
    let bytes = 0
    let inFlightNow = 0
    Metrics.queueDepth.unsafeUpdate(depth, labels)
    const waiters = new Map<string, Deferred.Deferred<string, LifecycleError>>()
    const lock = yield* Effect.makeSemaphore(1)
    let running: Running | undefined

    yield* sink.state.changes.pipe(
      Stream.runForEach((state) => PubSub.publish(events, Event.ConnectionChanged({ state }))),
      Effect.forkScoped
    )

    const settle = (messageId: string, exit: Exit.Exit<string, LifecycleError>) => {
      const waiter = waiters.get(messageId)
      if (waiter !== undefined) {
        waiters.delete(messageId)
        Deferred.unsafeDone(waiter, exit)
      }
    }

    const acknowledged = (lease: Lease) =>
      Effect.zipRight(
        queue.ack(lease),
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const { eventName, messageId, wrappedAt } = lease.envelope
          depth--
          bytes = Math.max(0, bytes - lease.envelope.body.length)
          Metrics.messagesAcked.unsafeUpdate(1, labels)
          Metrics.queueDepth.unsafeUpdate(depth, labels)
          Metrics.queueBytes.unsafeUpdate(bytes, labels)
          if (wrappedAt !== undefined) {
            Metrics.ackLatency.unsafeUpdate((now - wrappedAt) / 1000, labels)
          }
          settle(messageId, Exit.succeed(messageId))
          return PubSub.publish(events, Event.Acknowledged({ messageId, eventName }))
        })
      )

    /** One publish; whatever stops it short of a PUBACK puts the message back where it was. */
    const publishOne = (lease: Lease) =>
      Effect.suspend(() => {
        Metrics.messagesSent.unsafeUpdate(1, labels)
        Metrics.inFlight.unsafeUpdate(++inFlightNow, labels)
        return sink.publish(lease.envelope)
      }).pipe(
        Effect.tapError((error) =>
          error.reason === "Rejected"
            // A broker that refuses a message would refuse it again at once: wait before retrying.
            ? Effect.zipRight(
              Effect.logWarning("the broker refused a message; retrying", error.message),
              Effect.sleep("1 second")
            )
            : Effect.logDebug("publish failed; the message goes back to the queue", error.message)
        ),
        Effect.onExit((exit) => {
          Metrics.inFlight.unsafeUpdate(--inFlightNow, labels)
          if (Exit.isSuccess(exit)) return acknowledged(lease)
          const reason = Exit.isInterrupted(exit) ? "Interrupted" : Cause.failureOption(exit.cause).pipe(
            Option.map((error) => error.reason),
            Option.getOrElse(() => "Defect")
          )
          Metrics.publishFailures.unsafeUpdate(1, [...labels, MetricLabel.make("reason", reason)])
          Metrics.retries.unsafeUpdate(1, labels)
          return queue.nack(lease)
        }),
        Effect.ignore,
        Effect.withSpan("StellaNow.publish", {
          attributes: {
            "stellanow.message_id": lease.envelope.messageId,
            "stellanow.event": lease.envelope.eventName,
            "server.address": sink.destination
          }
        })
      )

    /** Takes messages in queue order while connected, keeping at most `maxInFlight` unacknowledged. */
    const takeLoop = (publishing: FiberSet.FiberSet) =>
      Effect.gen(function*() {
        let inFlight = 0
        const room = yield* Effect.makeLatch(true)
        const release = Effect.sync(() => {
          inFlight--
          room.unsafeOpen()
        })
        while (true) {
          yield* sink.awaitReady
          yield* room.await
          const leases = yield* queue.take(maxInFlight - inFlight)
          inFlight += leases.length
          if (inFlight >= maxInFlight) room.unsafeClose()
          for (const lease of leases) {
            yield* FiberSet.run(publishing, Effect.ensuring(publishOne(lease), release))
          }
        }
      }).pipe(Effect.annotateLogs({ module: "StellaNow", role: "drain", clientId: sink.clientId }))

    const halt = (run: Running) =>
      Effect.gen(function*() {
        yield* Fiber.interrupt(run.taking)
        yield* FiberSet.awaitEmpty(run.publishing).pipe(Effect.timeoutOption(stopGracePeriod))
        yield* Scope.close(run.scope, Exit.void)
      })

    const begin = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const publishing = yield* Scope.extend(FiberSet.make(), scope)
      const connection = yield* Effect.forkIn(sink.run, scope)
      const taking = yield* Effect.forkIn(takeLoop(publishing), scope)
      return { scope, connection, taking, publishing } satisfies Running
    })

    const start: Effect.Effect<void, StartError> = lock.withPermits(1)(
      Effect.gen(function*() {
        if (running !== undefined && Option.isSome(yield* Fiber.poll(running.connection))) {
          // The connection gave up earlier (a fatal error): begin afresh.
          yield* halt(running)
          running = undefined
        }
        const run = running ?? (yield* begin)
        running = run
        const outcome = yield* Effect.raceFirst(
          Effect.either(sink.awaitReady),
          Effect.either(Fiber.join(run.connection))
        )
          .pipe(Effect.timeout(startTimeout), Effect.either)
        if (Either.isRight(outcome) && Either.isRight(outcome.right)) {
          const size = yield* queue.size
          yield* Effect.logInfo(`started; ${size} message(s) queued`)
          return
        }
        yield* halt(run)
        running = undefined
        const size = yield* queue.size
        if (Either.isLeft(outcome)) {
          return yield* new LifecycleError({
            reason: "StartTimeout",
            detail: `could not connect to ${sink.destination} within ${Duration.format(startTimeout)}; ` +
              `${size} message(s) stay queued for the next start`
          })
        }
        return yield* Either.match(outcome.right, {
          onLeft: (error) => Effect.fail(error),
          onRight: () => Effect.die("unreachable")
        })
      })
    ).pipe(Effect.annotateLogs({ module: "StellaNow", clientId: sink.clientId }), Effect.withSpan("StellaNow.start"))

    const waitUntilEmpty = Effect.gen(function*() {
      while ((yield* queue.size) > 0) yield* Effect.sleep("10 millis")
    })

    const stop = (stopOptions?: StopOptions) =>
      lock.withPermits(1)(
        Effect.gen(function*() {
          const run = running
          if (run !== undefined) {
            if (stopOptions?.drainTimeout !== undefined) {
              yield* Effect.timeoutOption(waitUntilEmpty, stopOptions.drainTimeout)
            }
            yield* halt(run)
            running = undefined
          }
          const remaining = yield* queue.size
          if (run !== undefined) yield* Effect.logInfo(`stopped; ${remaining} message(s) stay queued`)
          return { remaining }
        })
      ).pipe(Effect.annotateLogs({ module: "StellaNow", clientId: sink.clientId }), Effect.withSpan("StellaNow.stop"))

    /** Queues an envelope, reporting whatever the overflow policy dropped to make room. */
    const enqueue = (envelope: Envelope.Envelope) =>
      Effect.gen(function*() {
        const dropped = yield* queue.offer(envelope)
        Metrics.messagesQueued.unsafeUpdate(1, labels)
        bytes += envelope.body.length
        if (Option.isNone(dropped)) depth++
        else bytes = Math.max(0, bytes - dropped.value.body.length)
        Metrics.queueDepth.unsafeUpdate(depth, labels)
        Metrics.queueBytes.unsafeUpdate(bytes, labels)
        if (Option.isSome(dropped)) {
          Metrics.messagesDropped.unsafeUpdate(1, dropLabels)
          const { eventName, messageId } = dropped.value
          yield* Effect.logWarning(`the queue is full: message ${messageId} (${eventName}) was dropped`)
          const detail = `message ${messageId} was dropped: the queue is full`
          settle(messageId, Exit.fail(new LifecycleError({ reason: "Dropped", detail })))
          yield* PubSub.publish(events, Event.Dropped({ messageId, eventName }))
        }
        return envelope.messageId
      })

    const annotate = (envelope: Envelope.Envelope) =>
      Effect.annotateCurrentSpan({
        "stellanow.message_id": envelope.messageId,
        "stellanow.event": envelope.eventName
      })

    const sendMessage = (message: Message.Message) =>
      Envelope.wrap(message, project).pipe(
        Effect.tap(annotate),
        Effect.flatMap(enqueue),
        Effect.withSpan("StellaNow.sendMessage")
      )

    const sendMessageAndWait = (message: Message.Message) =>
      Effect.gen(function*() {
        const envelope = yield* Envelope.wrap(message, project)
        yield* annotate(envelope)
        const waiter = yield* Deferred.make<string, LifecycleError>()
        const forget = Effect.sync(() => waiters.delete(envelope.messageId))
        // Registered before queueing, so an acknowledgement cannot slip past it.
        waiters.set(envelope.messageId, waiter)
        yield* Effect.tapError(enqueue(envelope), () => forget)
        return yield* Effect.onInterrupt(Deferred.await(waiter), () => forget)
      }).pipe(Effect.withSpan("StellaNow.sendMessageAndWait"))

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* stop()
        const closed = Exit.fail(new LifecycleError({ reason: "Closed", detail: "the SDK was closed" }))
        for (const id of [...waiters.keys()]) settle(id, closed)
        // Ends every events stream, so listeners finish with the SDK.
        yield* PubSub.shutdown(events)
      })
    )

    return {
      clientId: sink.clientId,
      start,
      stop,
      sendMessage,
      sendMessageAndWait,
      queueSize: queue.size,
      connectionState: sink.state.get,
      events: Stream.fromPubSub(events)
    } satisfies Service
  }).pipe(Effect.annotateLogs({ module: "StellaNow" }))
