import {
  Cause,
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberSet,
  Latch,
  Option,
  PubSub,
  Result,
  Scope,
  Semaphore,
  Stream,
  SubscriptionRef,
  Tracer
} from "effect"
import * as Envelope from "../Envelope.js"
import type * as Message from "../Message.js"
import { type Lease, MessageQueue } from "../MessageQueue.js"
import * as Metrics from "../Metrics.js"
import { Sink } from "../Sink.js"
import type { CloseOptions, Event as EventType, Options, Service, StartError, StopOptions } from "../StellaNow.js"
import { Event } from "../StellaNow.js"
import {
  type AuthError,
  type ConnectionError,
  LifecycleError,
  type PublishError,
  QueueError
} from "../StellaNowError.js"
import * as MetricSeries from "./metricSeries.js"
import * as MqttSink from "./mqttSink.js"
import * as Check from "./options.js"
import * as Tracing from "./tracing.js"

/** A started SDK: its fibers live in `scope`, which `stop` closes. */
interface Running {
  readonly scope: Scope.Closeable
  readonly connection: Fiber.Fiber<never, ConnectionError | AuthError>
  readonly drain: Drain
}

/** The drain of a started SDK. */
interface Drain {
  /** The fiber that takes messages from the queue and publishes them. */
  readonly taking: Fiber.Fiber<never>
  /** Waits until every message taken is settled: acknowledged, or given back to the queue. */
  readonly idle: Effect.Effect<void>
  /** Once the scope is closed: settles the last outcomes and gives back every message still unsettled. */
  readonly finish: Effect.Effect<void>
}

export const make = (options: Options) =>
  Effect.gen(function*() {
    const sink = yield* Sink
    const queue = yield* MessageQueue
    const maxInFlight = yield* Check.count(options.maxInFlight, 1000, "maxInFlight")
    const startTimeout = yield* Check.duration(options.startTimeout, "30 seconds", "startTimeout")
    const stopGracePeriod = yield* Check.duration(options.stopGracePeriod, "5 seconds", "stopGracePeriod")
    const closeTimeout = yield* Check.duration(options.closeTimeout, "5 seconds", "closeTimeout", { allowZero: true })
    const project = options.project

    const events = yield* PubSub.unbounded<EventType>()
    const series = yield* MetricSeries.maker
    const clientSeries = series({ client_id: sink.clientId })
    const dropSeries = series({ client_id: sink.clientId, policy: queue.overflow ?? "unknown" })
    const failureSeriesByReason = new Map<string, MetricSeries.Series>()
    const failureSeries = (reason: string) => {
      let found = failureSeriesByReason.get(reason)
      if (found === undefined) {
        found = series({ client_id: sink.clientId, reason })
        failureSeriesByReason.set(reason, found)
      }
      return found
    }
    // Kept by arithmetic rather than by asking the queue, which may be a database.
    let depth = yield* queue.size
    let bytes = 0
    Metrics.queueDepth.updateUnsafe(depth, clientSeries)
    const waiters = new Map<string, Deferred.Deferred<string, LifecycleError | QueueError>>()
    const lock = yield* Semaphore.make(1)
    let running: Running | undefined
    /** Set while `start` waits for a connection; `stop` completes it. */
    let abandonStart: Deferred.Deferred<"stopped"> | undefined
    /** Opened by every acknowledgement, so a drain waiting for the queue to empty looks again. */
    const progress = yield* Latch.make(false)
    /** Set once `close` reported what it left; a start or a new message makes the next close report again. */
    let closeReported = false

    yield* SubscriptionRef.changes(sink.state).pipe(
      Stream.runForEach((state) => PubSub.publish(events, Event.ConnectionChanged({ state }))),
      Effect.forkScoped
    )

    const settleWaiter = (messageId: string, exit: Exit.Exit<string, LifecycleError | QueueError>) => {
      const waiter = waiters.get(messageId)
      if (waiter !== undefined) {
        waiters.delete(messageId)
        Deferred.doneUnsafe(waiter, exit)
      }
    }

    /**
     * The drain. One fiber takes messages in queue order while connected and publishes them, keeping at
     * most `maxInFlight` unsettled. A message leaves the queue on its PUBACK; whatever stops it short of
     * one puts it back where it was. The MQTT sink reports each outcome through a callback, and another
     * fiber settles them in batches: at thousands of messages a second, forking a fiber per message was
     * most of the SDK's cost. Any other sink publishes with a fiber per message, which settles its own.
     */
    const startDrain = (scope: Scope.Scope) =>
      Effect.gen(function*() {
        const tracer = yield* Effect.tracer
        const clock = yield* Clock.Clock
        const collecting = Tracing.isCollecting(tracer)
        /** Taken from the queue, and neither acknowledged nor given back yet, with its span if spans are collected. */
        const unsettled = new Map<Lease, Tracer.Span | undefined>()
        const outcomes: Array<readonly [Lease, Exit.Exit<void, PublishError>]> = []
        const room = yield* Latch.make(true)
        const idle = yield* Latch.make(true)
        const outcome = yield* Latch.make(false)

        const counted = () => {
          if (unsettled.size < maxInFlight) room.openUnsafe()
          else room.closeUnsafe()
          if (unsettled.size === 0) idle.openUnsafe()
          else idle.closeUnsafe()
          Metrics.inFlight.updateUnsafe(unsettled.size, clientSeries)
        }

        /** Takes the message out of `unsettled`, ending its span; false if it was settled already. */
        const unsettle = (lease: Lease, exit: Exit.Exit<unknown, unknown>): boolean => {
          if (!unsettled.has(lease)) return false
          unsettled.get(lease)?.end(clock.currentTimeNanosUnsafe(), exit)
          unsettled.delete(lease)
          return true
        }

        const giveBack = (lease: Lease, cause: Cause.Cause<PublishError>) =>
          Effect.suspend(() => {
            if (!unsettle(lease, Exit.failCause(cause))) return Effect.void
            const reason = Cause.hasInterruptsOnly(cause) ? "Interrupted" : Cause.findErrorOption(cause).pipe(
              Option.map((error) => error.reason),
              Option.getOrElse(() => "Defect")
            )
            Metrics.publishFailures.updateUnsafe(1, failureSeries(reason))
            Metrics.retries.updateUnsafe(1, clientSeries)
            counted()
            return queue.nack(lease)
          }).pipe(Effect.uninterruptible)

        const acknowledge = (leases: ReadonlyArray<Lease>) =>
          Effect.andThen(
            Effect.forEach(leases, queue.ack, { discard: true }),
            Effect.suspend(() => {
              const now = clock.currentTimeMillisUnsafe()
              const acknowledged = leases.map((lease) => {
                unsettle(lease, Exit.void)
                const { body, eventName, messageId, wrappedAt } = lease.envelope
                depth--
                bytes = Math.max(0, bytes - body.length)
                if (wrappedAt !== undefined) Metrics.ackLatency.updateUnsafe((now - wrappedAt) / 1000, clientSeries)
                settleWaiter(messageId, Exit.succeed(messageId))
                return Event.Acknowledged({ messageId, eventName })
              })
              Metrics.messagesAcked.updateUnsafe(acknowledged.length, clientSeries)
              progress.openUnsafe()
              Metrics.queueDepth.updateUnsafe(depth, clientSeries)
              Metrics.queueBytes.updateUnsafe(bytes, clientSeries)
              counted()
              return PubSub.publishAll(events, acknowledged)
            })
          )

        /** Settles publishes. A message the broker refused goes back after a pause, or at once if `final`. */
        const settle = (done: ReadonlyArray<readonly [Lease, Exit.Exit<void, PublishError>]>, final: boolean) =>
          Effect.suspend(() => {
            const acknowledged: Array<Lease> = []
            const failed: Array<readonly [Lease, Cause.Cause<PublishError>]> = []
            for (const [lease, exit] of done) {
              // Each publish has one outcome, but `finish` may have given the message back already.
              if (!unsettled.has(lease)) continue
              if (Exit.isSuccess(exit)) acknowledged.push(lease)
              else failed.push([lease, exit.cause])
            }
            const failures = Effect.forEach(failed, ([lease, cause]) => {
              const error = Cause.findErrorOption(cause)
              if (Option.isSome(error) && error.value.reason === "Rejected" && !final) {
                // A broker that refuses a message would refuse it again at once: wait before retrying.
                return Effect.logWarning("the broker refused a message; retrying", error.value.message).pipe(
                  Effect.andThen(Effect.sleep("1 second")),
                  Effect.andThen(giveBack(lease, cause)),
                  Effect.forkIn(scope)
                )
              }
              return Effect.andThen(
                Effect.logDebug(
                  "publish failed; the message goes back to the queue",
                  Option.match(error, { onNone: () => Cause.pretty(cause), onSome: (e) => e.message })
                ),
                giveBack(lease, cause)
              )
            }, { discard: true })
            return acknowledged.length === 0 ? failures : Effect.andThen(acknowledge(acknowledged), failures)
          }).pipe(Effect.uninterruptible)

        const settleOutcomes = (final: boolean) =>
          Effect.suspend(() => {
            outcome.closeUnsafe()
            return settle(outcomes.splice(0), final)
          }).pipe(Effect.uninterruptible)

        const callback = MqttSink.publishCallback(sink)
        const publishNow: (lease: Lease) => void = callback !== undefined
          ? (lease) =>
            callback(lease.envelope, (exit) => {
              outcomes.push([lease, exit])
              outcome.openUnsafe()
            })
          : yield* Effect.map(
            Scope.provide(FiberSet.makeRuntime<never, void, PublishError>(), scope),
            (runFork) => (lease: Lease) =>
              void runFork(Effect.onExit(sink.publish(lease.envelope), (exit) => settle([[lease, exit]], false)))
          )

        const publishSpan = (lease: Lease): Tracer.Span => {
          const span = tracer.span({
            name: "StellaNow.publish",
            parent: Option.none(),
            annotations: Context.empty(),
            links: [],
            startTime: clock.currentTimeNanosUnsafe(),
            kind: "client",
            root: true,
            sampled: true
          })
          span.attribute("stellanow.message_id", lease.envelope.messageId)
          span.attribute("stellanow.event", lease.envelope.eventName)
          span.attribute("stellanow.broker", sink.destination)
          return span
        }

        const publishAll = (leases: ReadonlyArray<Lease>) =>
          Effect.sync(() => {
            for (const lease of leases) {
              unsettled.set(lease, collecting ? publishSpan(lease) : undefined)
              Metrics.messagesSent.updateUnsafe(1, clientSeries)
              publishNow(lease)
            }
            counted()
          })

        /** Forks one of the drain's two fibers (taking, settling) into the run's scope, its logs labelled. */
        const forkDrainFiber = <A, E>(fiber: Effect.Effect<A, E>) =>
          fiber.pipe(
            Effect.annotateLogs({ module: "StellaNow", role: "drain", clientId: sink.clientId }),
            Effect.forkIn(scope)
          )

        const taking = yield* Effect.gen(function*() {
          while (true) {
            yield* sink.awaitReady
            yield* room.await
            // Taken and published in one step, so an interruption cannot strand a taken message.
            yield* Effect.uninterruptibleMask((restore) =>
              Effect.flatMap(restore(queue.take(maxInFlight - unsettled.size)), publishAll)
            )
          }
        }).pipe(forkDrainFiber)
        yield* Effect.forever(Effect.andThen(outcome.await, settleOutcomes(false))).pipe(forkDrainFiber)
        const finish = Effect.andThen(
          settleOutcomes(true),
          Effect.suspend(() =>
            Effect.forEach([...unsettled.keys()], (lease) => giveBack(lease, Cause.interrupt()), { discard: true })
          )
        )
        return { taking, idle: idle.await, finish } satisfies Drain
      })

    const halt = (run: Running) =>
      Effect.gen(function*() {
        yield* Fiber.interrupt(run.drain.taking)
        // Interruptible, or the deadline could not cut the wait short inside a finalizer.
        yield* run.drain.idle.pipe(Effect.interruptible, Effect.timeoutOption(stopGracePeriod))
        // Disconnecting ends the publishes still in flight; `finish` puts their messages back.
        yield* Scope.close(run.scope, Exit.void)
        yield* run.drain.finish
      })

    const begin = Effect.gen(function*() {
      closeReported = false
      const scope = yield* Scope.make()
      const connection = yield* Effect.forkIn(sink.run, scope)
      const drain = yield* startDrain(scope)
      return { scope, connection, drain } satisfies Running
    })

    const start: Effect.Effect<void, StartError> = lock.withPermits(1)(
      Effect.gen(function*() {
        if (running !== undefined && running.connection.pollUnsafe() !== undefined) {
          // The connection gave up earlier (a fatal error): begin afresh.
          yield* halt(running)
          running = undefined
        }
        const run = running ?? (yield* begin)
        running = run
        const abandoned = yield* Deferred.make<"stopped">()
        abandonStart = abandoned
        const outcome = yield* Effect.raceFirst(
          Effect.raceFirst(Effect.result(sink.awaitReady), Effect.result(Fiber.join(run.connection))).pipe(
            Effect.timeout(startTimeout),
            Effect.result
          ),
          Deferred.await(abandoned)
        ).pipe(Effect.ensuring(Effect.sync(() => (abandonStart = undefined))))
        if (outcome === "stopped") {
          yield* halt(run)
          running = undefined
          return yield* new LifecycleError({
            reason: "Closed",
            detail: `stopped before connecting to ${sink.destination}; ` +
              `${yield* queue.size} message(s) stay queued for the next start`
          })
        }
        if (Result.isSuccess(outcome) && Result.isSuccess(outcome.success)) {
          const size = yield* queue.size
          yield* Effect.logInfo(`started; ${size} message(s) queued`)
          return
        }
        yield* halt(run)
        running = undefined
        const size = yield* queue.size
        if (Result.isFailure(outcome)) {
          return yield* new LifecycleError({
            reason: "StartTimeout",
            detail: `could not connect to ${sink.destination} within ${Duration.format(startTimeout)}; ` +
              `${size} message(s) stay queued for the next start`
          })
        }
        return yield* Result.match(outcome.success, {
          onFailure: (error) => Effect.fail(error),
          onSuccess: () => Effect.die("unreachable")
        })
      })
    ).pipe(Effect.annotateLogs({ module: "StellaNow", clientId: sink.clientId }), Effect.withSpan("StellaNow.start"))

    /**
     * Waits until the queue is empty. It looks again after each acknowledgement, and every 100 ms for a
     * queue that other processes drain too; it needs no clock while this SDK does the sending.
     */
    const waitUntilEmpty = Effect.gen(function*() {
      while (true) {
        progress.closeUnsafe()
        if ((yield* queue.size) === 0) return
        yield* Effect.timeoutOption(progress.await, "100 millis")
      }
    })

    /**
     * Lets the drain send until the queue is empty, the connection gives up, or the deadline passes.
     * Interruptible, so that the deadline holds inside a finalizer too.
     */
    const drainFor = (run: Running, deadline: Duration.Duration) =>
      Effect.raceFirst(waitUntilEmpty, Effect.asVoid(Fiber.await(run.connection))).pipe(
        Effect.interruptible,
        Effect.timeoutOption(deadline)
      )

    /** Stops, after draining until `deadline` if one is given; reports what is left and whether it ran. */
    const halting = (deadline: Option.Option<Duration.Duration>) =>
      Effect.suspend(() => {
        // A start still waiting for the broker gives up at once, rather than holding the lock until
        // its timeout: stopping (and closing the SDK) must not hang on a broker that is away.
        if (abandonStart !== undefined) Deferred.doneUnsafe(abandonStart, Exit.succeed("stopped" as const))
        return lock.withPermits(1)(
          Effect.gen(function*() {
            const run = running
            if (run !== undefined) {
              if (Option.isSome(deadline)) yield* drainFor(run, deadline.value)
              yield* halt(run)
              running = undefined
            }
            const remaining = yield* queue.size
            if (run !== undefined) yield* Effect.logInfo(`stopped; ${remaining} message(s) stay queued`)
            return { remaining, started: run !== undefined }
          })
        )
      })

    const stop = (stopOptions?: StopOptions) =>
      halting(Option.map(Option.fromNullishOr(stopOptions?.drainTimeout), Duration.fromInputUnsafe)).pipe(
        Effect.map(({ remaining }) => ({ remaining })),
        Effect.annotateLogs({ module: "StellaNow", clientId: sink.clientId }),
        Effect.withSpan("StellaNow.stop")
      )

    /** What becomes of the messages a close leaves behind. */
    const fate = queue.persistent === true
      ? "they stay in the persistent queue for the next start"
      : queue.persistent === false
      ? "they are lost with the in-memory queue"
      : "whether they are kept depends on the queue"

    const leftBehind = (remaining: number, started: boolean, timeout: Duration.Duration) =>
      !started
        ? `closed before start: ${remaining} queued message(s) were not sent; ${fate}`
        : !Duration.isPositive(timeout)
        ? `closed without sending what is queued (close timeout 0): ${remaining} message(s) were not sent; ${fate}`
        : `closed with ${remaining} message(s) not sent within ${Duration.format(timeout)}; ${fate}`

    const close = (closeOptions?: CloseOptions) =>
      Effect.gen(function*() {
        const timeout = closeOptions?.timeout === undefined
          ? closeTimeout
          : Duration.fromInputUnsafe(closeOptions.timeout)
        // Zero, or a negative duration (Effect 4 has them), sends nothing more.
        const flush = Duration.isPositive(timeout) ? Option.some(timeout) : Option.none()
        const { remaining, started } = yield* halting(flush)
        // An SDK closed twice in a row (the Promise front door's `close`, then its scope) warns once.
        if (remaining > 0 && (started || !closeReported)) {
          yield* Effect.logWarning(leftBehind(remaining, started, timeout))
        }
        closeReported = true
        return { remaining }
      }).pipe(
        Effect.annotateLogs({ module: "StellaNow", clientId: sink.clientId }),
        Effect.withSpan("StellaNow.close")
      )

    /** Queues an envelope, reporting whatever the overflow policy dropped to make room. */
    const enqueue = (envelope: Envelope.Envelope) =>
      Effect.flatMap(queue.offer(envelope), (dropped) => {
        closeReported = false
        Metrics.messagesQueued.updateUnsafe(1, clientSeries)
        bytes += envelope.body.length
        if (Option.isNone(dropped)) depth++
        else bytes = Math.max(0, bytes - dropped.value.body.length)
        Metrics.queueDepth.updateUnsafe(depth, clientSeries)
        Metrics.queueBytes.updateUnsafe(bytes, clientSeries)
        return Option.isNone(dropped)
          ? Effect.succeed(envelope.messageId)
          : Effect.as(reportDrop(dropped.value), envelope.messageId)
      })

    const reportDrop = ({ eventName, messageId }: Envelope.Envelope) => {
      Metrics.messagesDropped.updateUnsafe(1, dropSeries)
      // Made only for a `sendMessageAndWait` waiting on it: an error is costly, and a flood drops many.
      if (waiters.has(messageId)) {
        const detail = `message ${messageId} was dropped: the queue is full`
        settleWaiter(messageId, Exit.fail(new QueueError({ reason: "Dropped", messageId, detail })))
      }
      return Effect.andThen(
        Effect.logWarning(`the queue is full: message ${messageId} (${eventName}) was dropped`),
        PubSub.publish(events, Event.Dropped({ messageId, eventName }))
      )
    }

    const annotate = (envelope: Envelope.Envelope) =>
      Effect.annotateCurrentSpan({
        "stellanow.message_id": envelope.messageId,
        "stellanow.event": envelope.eventName
      })

    // The fiber's tracer is read in place (`withFiber` is one step, as `Effect.tracer` plus a flatMap
    // would be two): the common case, no collecting tracer, goes straight to wrapping and queueing.
    const sendMessage = (message: Message.Message) =>
      Effect.withFiber((fiber) =>
        Tracing.isCollecting(fiber.getRef(Tracer.Tracer))
          ? Envelope.wrap(message, project).pipe(
            Effect.tap(annotate),
            Effect.flatMap(enqueue),
            Effect.withSpan("StellaNow.sendMessage", undefined, { captureStackTrace: false })
          )
          : Effect.flatMap(Envelope.wrap(message, project), enqueue)
      )

    /** Queues a wrapped message and waits for its acknowledgement. */
    const enqueueAndWait = (envelope: Envelope.Envelope) =>
      Effect.gen(function*() {
        const waiter = yield* Deferred.make<string, LifecycleError | QueueError>()
        const forget = Effect.sync(() => waiters.delete(envelope.messageId))
        // Registered before queueing, so an acknowledgement cannot slip past it.
        waiters.set(envelope.messageId, waiter)
        yield* Effect.tapError(enqueue(envelope), () => forget)
        return yield* Effect.onInterrupt(Deferred.await(waiter), () => forget)
      })

    const sendMessageAndWait = (message: Message.Message) =>
      Effect.withFiber((fiber) =>
        Tracing.isCollecting(fiber.getRef(Tracer.Tracer))
          ? Envelope.wrap(message, project).pipe(
            Effect.tap(annotate),
            Effect.flatMap(enqueueAndWait),
            Effect.withSpan("StellaNow.sendMessageAndWait")
          )
          : Effect.flatMap(Envelope.wrap(message, project), enqueueAndWait)
      )

    // Bounded: `close` gives the drain `closeTimeout`, then `stop` gives in-flight publishes
    // `stopGracePeriod` and the disconnect its own timeout.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* close()
        const closed = Exit.fail(new LifecycleError({ reason: "Closed", detail: "the SDK was closed" }))
        for (const id of [...waiters.keys()]) settleWaiter(id, closed)
        // Ends every events stream, so listeners finish with the SDK.
        yield* PubSub.shutdown(events)
      })
    )

    return {
      clientId: sink.clientId,
      start,
      stop,
      close,
      sendMessage,
      sendMessageAndWait,
      queueSize: queue.size,
      connectionState: SubscriptionRef.get(sink.state),
      events: Stream.fromPubSub(events),
      subscribe: Effect.map(PubSub.subscribe(events), Stream.fromSubscription)
    } satisfies Service
  }).pipe(Effect.annotateLogs({ module: "StellaNow" }))
