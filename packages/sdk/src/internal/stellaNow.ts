/**
 * The StellaNow service: `start` and `stop` begin and halt a run (the sink's connection and the
 * drain, in a scope of their own), `close` drains then stops, and the send operations wrap and queue.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Tracer from "effect/Tracer"
import * as DeadLetters from "../DeadLetters.js"
import * as Envelope from "../Envelope.js"
import type * as Message from "../Message.js"
import { type Lease, MessageQueue, type Service as QueueService } from "../MessageQueue.js"
import * as Metrics from "../Metrics.js"
import { type Service as SinkService, Sink } from "../Sink.js"
import type {
  CloseOptions,
  Event as EventType,
  Options,
  Service,
  StartError,
  StopOptions,
  StopResult
} from "../StellaNow.js"
import { defaultMaxMessageBytes, Event } from "../StellaNow.js"
import {
  type AuthError,
  type ConnectionError,
  LifecycleError,
  QueueError,
  type ValidationError
} from "../StellaNowError.js"
import * as Backlog from "./backlog.js"
import * as Closing from "./closing.js"
import * as Drain from "./drain.js"
import * as Lifecycle from "./lifecycle.js"
import * as MessageSize from "./messageSize.js"
import * as MetricSeries from "./metricSeries.js"
import * as Check from "./options.js"
import * as Refusals from "./refusals.js"
import * as Tracing from "./tracing.js"
import * as Waiters from "./waiters.js"

/** What the service's operations share. */
interface Core {
  readonly sink: SinkService
  readonly queue: QueueService
  readonly project: Options["project"]
  readonly maxInFlight: number
  readonly maxMessageBytes: number
  readonly maxAttempts: number
  readonly refusals: Refusals.Refusals
  readonly deadLetters: DeadLetters.Service
  readonly startTimeout: Duration.Duration
  readonly stopGracePeriod: Duration.Duration
  readonly closeTimeout: Duration.Duration
  readonly events: PubSub.PubSub<EventType>
  readonly series: MetricSeries.Series
  readonly dropSeries: MetricSeries.Series
  readonly failureSeries: (reason: string) => MetricSeries.Series
  readonly backlog: Backlog.Backlog
  readonly waiters: Waiters.Waiters
  readonly lifecycle: Lifecycle.Lifecycle
  /** Opened by every acknowledgement, so a drain waiting for the queue to empty looks again. */
  readonly progress: Latch.Latch
  readonly closeReport: Closing.CloseReport
}

export const make = (options: Options) =>
  Effect.gen(function*() {
    const core = yield* makeCore(options)
    const { events, sink } = core
    yield* SubscriptionRef.changes(sink.state).pipe(
      Stream.runForEach((state) => PubSub.publish(events, Event.ConnectionChanged({ state }))),
      Effect.forkScoped
    )
    const close = closing(core)
    // Bounded: `close` gives the drain `closeTimeout`, then `stop` gives in-flight publishes
    // `stopGracePeriod` and the disconnect its own timeout.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* close()
        core.waiters.settleAll(Exit.fail(new LifecycleError({ reason: "Closed", detail: "the SDK was closed" })))
        // Ends every events stream, so listeners finish with the SDK.
        yield* PubSub.shutdown(events)
      })
    )
    return {
      clientId: sink.clientId,
      start: start(core),
      stop: stopping(core),
      close,
      ...sending(core),
      queueSize: core.queue.size,
      connectionState: SubscriptionRef.get(sink.state),
      events: Stream.fromPubSub(events),
      subscribe: Effect.map(PubSub.subscribe(events), Stream.fromSubscription)
    } satisfies Service
  }).pipe(Effect.annotateLogs({ module: "StellaNow" }))

const makeCore = (options: Options) =>
  Effect.gen(function*() {
    const sink = yield* Sink
    const queue = yield* MessageQueue
    const series = yield* MetricSeries.maker
    const clientSeries = series({ client_id: sink.clientId })
    const failureSeriesByReason = new Map<string, MetricSeries.Series>()
    return {
      sink,
      queue,
      project: options.project,
      maxInFlight: yield* Check.count(options.maxInFlight, 1000, "maxInFlight"),
      maxMessageBytes: yield* Check.count(options.maxMessageBytes, defaultMaxMessageBytes, "maxMessageBytes"),
      maxAttempts: yield* Check.count(options.maxAttempts, 5, "maxAttempts"),
      refusals: Refusals.make(),
      // The store in context if there is one (the SQL queues provide theirs), else a bounded one in memory.
      deadLetters: yield* Effect.flatMap(
        Effect.serviceOption(DeadLetters.DeadLetters),
        Option.match({ onSome: Effect.succeed, onNone: () => DeadLetters.makeMemory() })
      ),
      startTimeout: yield* Check.duration(options.startTimeout, "30 seconds", "startTimeout"),
      stopGracePeriod: yield* Check.duration(options.stopGracePeriod, "5 seconds", "stopGracePeriod"),
      closeTimeout: yield* Check.duration(options.closeTimeout, "5 seconds", "closeTimeout", { allowZero: true }),
      events: yield* PubSub.unbounded<EventType>(),
      series: clientSeries,
      dropSeries: series({ client_id: sink.clientId, policy: queue.overflow ?? "unknown" }),
      failureSeries: (reason) => {
        let found = failureSeriesByReason.get(reason)
        if (found === undefined) {
          found = series({ client_id: sink.clientId, reason })
          failureSeriesByReason.set(reason, found)
        }
        return found
      },
      backlog: Backlog.make(yield* initialSize(queue), clientSeries),
      waiters: Waiters.make(),
      lifecycle: yield* Lifecycle.make,
      progress: yield* Latch.make(false),
      closeReport: Closing.makeReport()
    } satisfies Core
  })

/** The queue's size for the gauges at the start; a store that cannot count it now starts them at zero. */
const initialSize = (queue: QueueService) =>
  Effect.catch(
    queue.size,
    (error) => Effect.as(Effect.logWarning(`cannot count the queue; its gauges start at 0: ${error.message}`), 0)
  )

/** The queue's size for a log line: the count, or why there is none. */
const sizeForLog = (core: Core) =>
  Effect.match(core.queue.size, {
    onSuccess: (size) => `${size} message(s)`,
    onFailure: (error) => `an unknown number of messages (${error.message})`
  })

/**
 * What follows the broker's acknowledgement of a batch: the gauges, the waiters, the events. Called
 * inside the drain's own step, so it does its part at once and returns only the events' publishing.
 */
const acknowledged = (core: Core) => (leases: ReadonlyArray<Lease>) => {
  const events = leases.map(({ envelope }) => {
    const { eventName, messageId } = envelope
    core.backlog.acknowledged(envelope)
    core.waiters.acknowledged(messageId)
    return Event.Acknowledged({ messageId, eventName })
  })
  core.progress.openUnsafe()
  core.backlog.report()
  return PubSub.publishAll(core.events, events)
}

/** What follows a message's dead-lettering: the gauges, its waiter, the event. */
const deadLettered = (core: Core) => (lease: Lease, reason: string) => {
  const { envelope } = lease
  const { eventName, messageId } = envelope
  core.backlog.acknowledged(envelope)
  core.backlog.report()
  core.progress.openUnsafe()
  if (core.waiters.has(messageId)) {
    const detail = `message ${messageId} was dead-lettered: ${reason}`
    core.waiters.settle(messageId, Exit.fail(new QueueError({ reason: "DeadLettered", messageId, detail })))
  }
  return PubSub.publish(core.events, Event.DeadLettered({ messageId, eventName, reason }))
}

/** Begins a run: the connection and the drain, in a scope of their own. */
const begin = (core: Core) =>
  Effect.gen(function*() {
    core.closeReport.reset()
    const scope = yield* Scope.make()
    const connection = yield* Effect.forkIn(core.sink.run, scope)
    const drain = yield* Drain.start({
      sink: core.sink,
      queue: core.queue,
      maxInFlight: core.maxInFlight,
      series: core.series,
      failureSeries: core.failureSeries,
      acknowledged: acknowledged(core),
      maxAttempts: core.maxAttempts,
      refusals: core.refusals,
      deadLetters: core.deadLetters,
      deadLettered: deadLettered(core)
    }, scope)
    return { scope, connection, drain } satisfies Lifecycle.Running
  })

/** Halts a run: stops taking, lets the in-flight publishes settle for a while, then disconnects. */
const halt = (core: Core, run: Lifecycle.Running) =>
  Effect.gen(function*() {
    yield* Fiber.interrupt(run.drain.taking)
    // Interruptible, or the deadline could not cut the wait short inside a finalizer.
    yield* run.drain.idle.pipe(Effect.interruptible, Effect.timeoutOption(core.stopGracePeriod))
    // Disconnecting ends the publishes still in flight; `finish` puts their messages back.
    yield* Scope.close(run.scope, Exit.void)
    yield* run.drain.finish
    core.lifecycle.set(undefined)
  })

const start = (core: Core): Effect.Effect<void, StartError> =>
  core.lifecycle.exclusive(
    Effect.gen(function*() {
      const previous = core.lifecycle.running()
      // The connection gave up earlier (a fatal error): begin afresh.
      if (previous !== undefined && previous.connection.pollUnsafe() !== undefined) yield* halt(core, previous)
      const run = core.lifecycle.running() ?? (yield* begin(core))
      core.lifecycle.set(run)
      const last = yield* followLastError(core)
      const outcome = yield* core.lifecycle.abandonable(
        Effect.raceFirst(Effect.result(core.sink.awaitReady), Effect.result(Fiber.join(run.connection))).pipe(
          Effect.timeout(core.startTimeout),
          Effect.result
        )
      )
      yield* Fiber.interrupt(last.fiber)
      if (outcome !== "stopped" && Result.isSuccess(outcome) && Result.isSuccess(outcome.success)) {
        yield* Effect.logInfo(`started; ${yield* sizeForLog(core)} queued`)
        return
      }
      yield* halt(core, run)
      return yield* startFailed(core, outcome, last.error)
    })
  ).pipe(Effect.annotateLogs({ module: "StellaNow", clientId: core.sink.clientId }), Effect.withSpan("StellaNow.start"))

/**
 * Remembers the last error the sink's state told while `start` waits, so a start that times out can
 * say why it did not connect (each new attempt's `Connecting` state would otherwise hide it).
 */
const followLastError = (core: Core) =>
  Effect.gen(function*() {
    const last: { error: ConnectionError | AuthError | undefined } = { error: undefined }
    const fiber = yield* Stream.runForEach(SubscriptionRef.changes(core.sink.state), (state) =>
      Effect.sync(() => {
        if (state._tag === "Disconnected" || state._tag === "Failed") last.error = state.error
      })).pipe(Effect.forkChild)
    return {
      fiber,
      get error() {
        return last.error
      }
    }
  })

/** The error of a start that did not connect: stopped, timed out, or given up by the connection. */
const startFailed = (
  core: Core,
  outcome: "stopped" | Result.Result<Result.Result<unknown, StartError>, unknown>,
  lastError: ConnectionError | AuthError | undefined
): Effect.Effect<never, StartError> =>
  Effect.gen(function*() {
    const size = yield* sizeForLog(core)
    const { destination } = core.sink
    if (outcome === "stopped") {
      return yield* new LifecycleError({
        reason: "Closed",
        detail: `stopped before connecting to ${destination}; ${size} stay queued for the next start`
      })
    }
    if (Result.isFailure(outcome)) {
      return yield* new LifecycleError({
        reason: "StartTimeout",
        detail: `could not connect to ${destination} within ${Duration.format(core.startTimeout)}` +
          `${lastError === undefined ? "" : ` (last error: ${lastError.message})`}; ` +
          `${size} stay queued for the next start`,
        ...(lastError === undefined ? {} : { cause: lastError })
      })
    }
    return yield* Result.match(outcome.success, {
      onFailure: (error) => Effect.fail(error),
      onSuccess: () => Effect.die("unreachable")
    })
  })

/**
 * Waits until the queue is empty. It looks again after each acknowledgement, and every 100 ms for a
 * queue that other processes drain too; it needs no clock while this SDK does the sending. A store
 * that cannot count counts as not empty: the deadline ends the wait.
 */
const waitUntilEmpty = (core: Core) =>
  Effect.gen(function*() {
    while (true) {
      core.progress.closeUnsafe()
      if ((yield* Effect.orElseSucceed(core.queue.size, () => -1)) === 0) return
      yield* Effect.timeoutOption(core.progress.await, "100 millis")
    }
  })

/**
 * Lets the drain send until the queue is empty, the connection gives up, or the deadline passes.
 * Interruptible, so that the deadline holds inside a finalizer too.
 */
const drainFor = (core: Core, run: Lifecycle.Running, deadline: Duration.Duration) =>
  Effect.raceFirst(waitUntilEmpty(core), Effect.asVoid(Fiber.await(run.connection))).pipe(
    Effect.interruptible,
    Effect.timeoutOption(deadline)
  )

/** Stops, after draining until `deadline` if one is given; reports what is left and whether it ran. */
const halting = (core: Core, deadline: Option.Option<Duration.Duration>) =>
  Effect.suspend(() => {
    // A start still waiting for the broker gives up at once, rather than holding the lock until
    // its timeout: stopping (and closing the SDK) must not hang on a broker that is away.
    core.lifecycle.abandon()
    return core.lifecycle.exclusive(
      Effect.gen(function*() {
        const run = core.lifecycle.running()
        if (run !== undefined) {
          if (Option.isSome(deadline)) yield* drainFor(core, run, deadline.value)
          yield* halt(core, run)
        }
        const { remaining, storeError } = yield* remainingAfterStop(core)
        if (run !== undefined) yield* Effect.logInfo(`stopped; ${remaining} message(s) stay queued`)
        return { remaining, started: run !== undefined, ...(storeError === undefined ? {} : { storeError }) }
      })
    )
  })

/**
 * What a stop leaves queued: the store's count, or — when the store cannot count (it is down) — this
 * SDK's own count of what it queued and saw acknowledged, with the store's error.
 */
const remainingAfterStop = (core: Core): Effect.Effect<StopResult> =>
  Effect.catch(
    Effect.map(core.queue.size, (remaining) => ({ remaining })),
    (storeError) =>
      Effect.as(
        Effect.logWarning(
          `stopped without the queue's count (${storeError.message}); by this SDK's own count ` +
            `${core.backlog.depth()} message(s) stay queued`
        ),
        { remaining: core.backlog.depth(), storeError }
      )
  )

/** The result for the caller, without the internal `started`. */
const result = ({ remaining, storeError }: StopResult): StopResult =>
  storeError === undefined ? { remaining } : { remaining, storeError }

const stopping = (core: Core) => (stopOptions?: StopOptions) =>
  halting(core, Option.map(Option.fromNullishOr(stopOptions?.drainTimeout), Duration.fromInputUnsafe)).pipe(
    Effect.map(result),
    Effect.annotateLogs({ module: "StellaNow", clientId: core.sink.clientId }),
    Effect.withSpan("StellaNow.stop")
  )

const closing = (core: Core) => (closeOptions?: CloseOptions) =>
  Effect.gen(function*() {
    const timeout = closeOptions?.timeout === undefined
      ? core.closeTimeout
      : Duration.fromInputUnsafe(closeOptions.timeout)
    // Zero, or a negative duration (Effect 4 has them), sends nothing more.
    const flush = Duration.isPositive(timeout) ? Option.some(timeout) : Option.none()
    const stopped = yield* halting(core, flush)
    const { remaining, started } = stopped
    if (core.closeReport.due(remaining, started)) {
      yield* Effect.logWarning(Closing.leftBehind(remaining, started, timeout, core.queue.persistent))
    }
    return result(stopped)
  }).pipe(
    Effect.annotateLogs({ module: "StellaNow", clientId: core.sink.clientId }),
    Effect.withSpan("StellaNow.close")
  )

/** The send operations: wrap, queue, and for `sendMessageAndWait` wait for the acknowledgement. */
const sending = (core: Core) => {
  const enqueue = enqueuing(core)
  const annotate = (envelope: Envelope.Envelope) =>
    Effect.annotateCurrentSpan({
      "stellanow.message_id": envelope.messageId,
      "stellanow.event": envelope.eventName
    })

  /** Queues a wrapped message and waits for its acknowledgement. */
  const enqueueAndWait = (envelope: Envelope.Envelope) =>
    Effect.suspend(() => {
      const forget = Effect.sync(() => core.waiters.forget(envelope.messageId))
      // Registered before queueing, so an acknowledgement cannot slip past it.
      const waiter = core.waiters.register(envelope.messageId)
      return Effect.andThen(
        Effect.tapError(enqueue(envelope), () => forget),
        Effect.onInterrupt(Deferred.await(waiter), () => forget)
      )
    })

  /**
   * Wraps a message and hands its envelope to `then`, in a span named `spanName` only when a tracer
   * collects spans. The fiber's tracer is read in place (`withFiber` is one step, as `Effect.tracer`
   * plus a flatMap would be two): the common case, no collecting tracer, goes straight to wrapping and
   * queueing, the wrapping done in place with the fiber's clock (`Envelope.wrapAt`: no effect of its own).
   */
  const wrapThen = <A, E>(
    spanName: string,
    traceOptions: Tracer.TraceOptions | undefined,
    then: (envelope: Envelope.Envelope) => Effect.Effect<A, E>
  ) =>
  (message: Message.Message) =>
    Effect.withFiber((fiber) =>
      Tracing.isCollecting(fiber.getRef(Tracer.Tracer))
        ? Envelope.wrap(message, core.project).pipe(
          Effect.tap(annotate),
          Effect.flatMap(then),
          Effect.withSpan(spanName, undefined, traceOptions)
        )
        : wrappedThen(Envelope.wrapAt(message, core.project, fiber.getRef(Clock.Clock)), then)
    )

  const sendMessage = wrapThen("StellaNow.sendMessage", { captureStackTrace: false }, enqueue)
  const sendMessageAndWait = wrapThen("StellaNow.sendMessageAndWait", undefined, enqueueAndWait)

  return { sendMessage, sendMessageAndWait }
}

/**
 * The broker's Maximum Packet Size as its last CONNACK announced it, read in place (no fiber step per
 * message); `undefined` before the first connection, when it announced none, or for a sink that does
 * not tell.
 */
const brokerMaximum = (core: Core): number | undefined => {
  const announced = core.sink.maxPacketSize
  return announced === undefined ? undefined : Option.getOrUndefined(SubscriptionRef.getUnsafe(announced))
}

/** Hands a wrapped message to `then`, or fails with why it could not be wrapped. */
const wrappedThen = <A, E>(
  envelope: Result.Result<Envelope.Envelope, ValidationError>,
  then: (envelope: Envelope.Envelope) => Effect.Effect<A, E>
): Effect.Effect<A, E | ValidationError> =>
  Result.isSuccess(envelope) ? then(envelope.success) : Effect.fail(envelope.failure)

/**
 * Queues an envelope, reporting whatever the overflow policy dropped to make room. A message over a
 * size limit is refused first; one the policy dropped itself fails, for it was not queued.
 */
const enqueuing = (core: Core) => {
  const reportDrop = ({ eventName, messageId }: Envelope.Envelope) => {
    Metrics.messagesDropped.updateUnsafe(1, core.dropSeries)
    // Made only for a `sendMessageAndWait` waiting on it: an error is costly, and a flood drops many.
    if (core.waiters.has(messageId)) {
      const detail = `message ${messageId} was dropped: the queue is full`
      core.waiters.settle(messageId, Exit.fail(new QueueError({ reason: "Dropped", messageId, detail })))
    }
    return Effect.andThen(
      Effect.logWarning(`the queue is full: message ${messageId} (${eventName}) was dropped`),
      PubSub.publish(core.events, Event.Dropped({ messageId, eventName }))
    )
  }
  const droppedItself = (envelope: Envelope.Envelope) =>
    new QueueError({
      reason: "Dropped",
      messageId: envelope.messageId,
      detail: `message ${envelope.messageId} was not queued: the queue is full and its overflow policy ` +
        `(${core.queue.overflow ?? "unknown"}) dropped it`
    })
  const queued = (envelope: Envelope.Envelope) => (dropped: ReadonlyArray<Envelope.Envelope>) => {
    core.closeReport.reset()
    Metrics.messagesQueued.updateUnsafe(1, core.series)
    core.backlog.offered(envelope, dropped)
    if (dropped.length === 0) return Effect.succeed(envelope.messageId)
    const reported = Effect.forEach(dropped, reportDrop, { discard: true })
    return dropped.some((gone) => gone.messageId === envelope.messageId)
      ? Effect.andThen(reported, Effect.fail(droppedItself(envelope)))
      : Effect.as(reported, envelope.messageId)
  }
  return (envelope: Envelope.Envelope): Effect.Effect<string, ValidationError | QueueError> => {
    const refused = MessageSize.tooLarge(envelope, core.maxMessageBytes, brokerMaximum(core))
    return refused === undefined ? Effect.flatMap(core.queue.offer(envelope), queued(envelope)) : Effect.fail(refused)
  }
}
