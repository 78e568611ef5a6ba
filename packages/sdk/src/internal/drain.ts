/**
 * The drain. One fiber takes messages in queue order while connected and publishes them, keeping at
 * most `maxInFlight` unsettled. A message leaves the queue on its PUBACK; whatever stops it short of
 * one puts it back where it was, unless the broker refused it `maxAttempts` times: then it is kept as
 * a dead letter and leaves the queue, so the messages behind it go out. The sink reports each outcome
 * through a callback (its `publisher`), and another fiber settles them in batches: at thousands of
 * messages a second, forking a fiber per message was most of the SDK's cost.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type { Service as DeadLettersService } from "../DeadLetters.js"
import type { Lease, Service as QueueService } from "../MessageQueue.js"
import * as Metrics from "../Metrics.js"
import type { PublishCallback, Service as SinkService } from "../Sink.js"
import type { PublishError, QueueError } from "../StellaNowError.js"
import * as Backoff from "./backoff.js"
import * as BatchAck from "./batchAck.js"
import * as InFlight from "./inFlight.js"
import type { Series } from "./metricSeries.js"
import * as ReasonCodes from "./reasonCodes.js"
import type { Refusals } from "./refusals.js"
import * as Tracing from "./tracing.js"

/** The drain of a started SDK. */
export interface Drain {
  /** The fiber that takes messages from the queue and publishes them. */
  readonly taking: Fiber.Fiber<never>
  /** Waits until every message taken is settled: acknowledged, or given back to the queue. */
  readonly idle: Effect.Effect<void>
  /** Once the scope is closed: settles the last outcomes and gives back every message still unsettled. */
  readonly finish: Effect.Effect<void>
}

/** What the drain works with. */
export interface Options {
  readonly sink: SinkService
  readonly queue: QueueService
  readonly maxInFlight: number
  /** The series of the client's metrics. */
  readonly series: Series
  /** The series of publish failures of one reason. */
  readonly failureSeries: (reason: string) => Series
  /**
   * Told of each batch of messages the broker acknowledged, once they left the queue. Called inside
   * one of the drain's steps (a step per batch, not per message); returns what is left to do.
   */
  readonly acknowledged: (leases: ReadonlyArray<Lease>) => Effect.Effect<void>
  /** Refusals the broker may make of a message before it is dead-lettered. */
  readonly maxAttempts: number
  /** The refusals counted so far, by message. */
  readonly refusals: Refusals
  /** Where dead letters are kept. */
  readonly deadLetters: DeadLettersService
  /** Told of a message dead-lettered, once it left the queue; returns what is left to do. */
  readonly deadLettered: (lease: Lease, reason: string) => Effect.Effect<void>
}

/** One run of the drain: what its steps share. */
interface Run {
  readonly options: Options
  readonly scope: Scope.Scope
  readonly clock: Clock.Clock
  readonly inFlight: InFlight.InFlight
  readonly outcomes: InFlight.Outcomes
}

/**
 * Starts the drain in `scope`: closing the scope stops it, and `finish` then gives back what it
 * left unsettled.
 */
export const start = (options: Options, scope: Scope.Scope): Effect.Effect<Drain> =>
  Effect.gen(function*() {
    const tracer = yield* Effect.tracer
    const clock = yield* Clock.Clock
    const inFlight = yield* InFlight.make(options.maxInFlight, clock)
    const outcomes = yield* InFlight.makeOutcomes
    const run: Run = { options, scope, clock, inFlight, outcomes }
    const publisher = yield* Scope.provide(options.sink.publisher, scope)
    const taking = yield* forkIn(run, takeForever(run, publishAll(run, tracer, publisher)))
    yield* forkIn(run, Effect.forever(Effect.andThen(outcomes.await, settleOutcomes(run, false))))
    return { taking, idle: inFlight.idle, finish: finish(run) } satisfies Drain
  })

/** Forks one of the drain's two fibers (taking, settling) into the run's scope, its logs labelled. */
const forkIn = <A, E>(run: Run, fiber: Effect.Effect<A, E>) =>
  fiber.pipe(
    Effect.annotateLogs({ module: "StellaNow", role: "drain", clientId: run.options.sink.clientId }),
    Effect.forkIn(run.scope)
  )

/** Takes and publishes while connected and there is room, for ever. */
const takeForever = (run: Run, publishAll: (leases: ReadonlyArray<Lease>) => Effect.Effect<void>) =>
  // Uninterruptible but for the waits and the take, so that a batch taken is published in the same
  // step and an interruption cannot strand it. The interruptible parts are made once, not per take: a
  // mask, a restore and a flatMap per take were about 300 B of garbage at a steady rate.
  Effect.uninterruptibleMask((restore) => {
    const { maxInFlight, queue, sink } = run.options
    const ready = restore(sink.awaitReady)
    const room = restore(run.inFlight.room)
    const take = restore(Effect.suspend(() => takeRetrying(queue, maxInFlight - run.inFlight.size())))
    return Effect.gen(function*() {
      while (true) {
        yield* ready
        // Checked in place first: waiting on an open latch still runs an effect and makes its callback.
        if (!run.inFlight.hasRoom()) yield* room
        yield* publishAll(yield* take)
      }
    })
  })

/**
 * Takes from the queue, riding out a store that fails (a database that is down): retried with the
 * SDK's backoff, logged at warn once per outage and at info when it ends, rather than per attempt.
 * A take that succeeds goes straight through: at a steady rate the drain takes a message or two at a
 * time, and making the backoff's step and a generator for every take cost about 1.3 KB and 1 µs each
 * time (the allocation profile of the latency run).
 */
const takeRetrying = (queue: QueueService, max: number): Effect.Effect<ReadonlyArray<Lease>> =>
  Effect.catch(queue.take(max), (error) => rideOutOutage(queue, max, error))

/** Retries a take that failed until the store is back, logging the outage's start and end once each. */
const rideOutOutage = (queue: QueueService, max: number, outage: QueueError): Effect.Effect<ReadonlyArray<Lease>> =>
  Effect.gen(function*() {
    yield* Effect.logWarning(`cannot take from the queue; retrying until it recovers: ${outage.message}`)
    const pause = yield* Schedule.toStepWithSleep(Backoff.schedule)
    while (true) {
      yield* Effect.ignore(pause(undefined))
      const taken = yield* Effect.result(queue.take(max))
      if (Result.isSuccess(taken)) {
        yield* Effect.logInfo("the queue's store is back; sending resumes")
        return taken.success
      }
    }
  })

/** Publishes a batch, each outcome to be reported to the run's `outcomes`. */
const publishAll = (run: Run, tracer: Tracer.Tracer, publisher: PublishCallback) => {
  const collecting = Tracing.isCollecting(tracer)
  const { inFlight, options, outcomes } = run
  return (leases: ReadonlyArray<Lease>) =>
    Effect.sync(() => {
      for (const lease of leases) {
        inFlight.add(lease, collecting ? publishSpan(run, tracer, lease) : undefined)
        publisher(lease.envelope, (exit) => outcomes.push(lease, exit))
      }
      // Counted once per batch: a metric update looks its series up in the registry each time.
      Metrics.messagesSent.updateUnsafe(leases.length, options.series)
      recount(run)
    })
}

const publishSpan = (run: Run, tracer: Tracer.Tracer, lease: Lease): Tracer.Span => {
  const span = tracer.span({
    name: "StellaNow.publish",
    parent: Option.none(),
    annotations: Context.empty(),
    links: [],
    startTime: run.clock.currentTimeNanosUnsafe(),
    kind: "client",
    root: true,
    sampled: true
  })
  span.attribute("stellanow.message_id", lease.envelope.messageId)
  span.attribute("stellanow.event", lease.envelope.eventName)
  span.attribute("stellanow.broker", run.options.sink.destination)
  return span
}

const recount = (run: Run) => Metrics.inFlight.updateUnsafe(run.inFlight.recount(), run.options.series)

const settleOutcomes = (run: Run, final: boolean) =>
  Effect.suspend(() => settle(run, run.outcomes.takeAll(), final)).pipe(Effect.uninterruptible)

/** Settles publishes. A message the broker refused goes back after a pause, or at once if `final`. */
const settle = (run: Run, done: ReadonlyArray<InFlight.Outcome>, final: boolean) =>
  Effect.suspend(() => {
    const acknowledged: Array<Lease> = []
    const failed: Array<readonly [Lease, Cause.Cause<PublishError>]> = []
    for (const [lease, exit] of done) {
      // Each publish has one outcome, but `finish` may have given the message back already.
      if (!run.inFlight.has(lease)) continue
      if (Exit.isSuccess(exit)) acknowledged.push(lease)
      else failed.push([lease, exit.cause])
    }
    // Most batches have no failure: no effect is made for none.
    const failures = failed.length === 0
      ? Effect.void
      : Effect.forEach(failed, ([lease, cause]) => retry(run, lease, cause, final), { discard: true })
    if (acknowledged.length === 0) return failures
    return failed.length === 0
      ? acknowledge(run, acknowledged)
      : Effect.andThen(acknowledge(run, acknowledged), failures)
  }).pipe(Effect.uninterruptible)

const acknowledge = (run: Run, leases: ReadonlyArray<Lease>) =>
  Effect.andThen(
    recordAcks(run, leases),
    Effect.suspend(() => {
      const { refusals, series } = run.options
      const now = run.clock.currentTimeMillisUnsafe()
      for (const lease of leases) {
        run.inFlight.remove(lease, Exit.void)
        if (refusals.any()) refusals.forget(lease.envelope.messageId)
        const { wrappedAt } = lease.envelope
        if (wrappedAt !== undefined) Metrics.ackLatency.updateUnsafe((now - wrappedAt) / 1000, series)
      }
      Metrics.messagesAcked.updateUnsafe(leases.length, series)
      const rest = run.options.acknowledged(leases)
      // Counted last, as room wakes the taking fiber.
      recount(run)
      return rest
    })
  )

/**
 * Records the acknowledgements in the queue: in one call when the queue acknowledges batches (the
 * in-memory queues, which cannot fail), else one by one.
 */
const recordAcks = (run: Run, leases: ReadonlyArray<Lease>): Effect.Effect<void> => {
  const ackAll = BatchAck.of(run.options.queue.ack)
  return ackAll !== undefined
    ? ackAll(leases)
    : Effect.forEach(leases, (lease) => ackOrRetry(run, lease), { discard: true })
}

/**
 * Records an acknowledgement in the queue. One the store cannot record is retried in the background
 * with the SDK's backoff, for as long as the run lasts: until then the message stays stored, so at
 * worst it is delivered twice (at least once).
 */
const ackOrRetry = (run: Run, lease: Lease): Effect.Effect<void> =>
  Effect.catch(run.options.queue.ack(lease), (error) =>
    Effect.logWarning(
      `cannot record the acknowledgement of message ${lease.envelope.messageId}; retrying ` +
        `(it may be delivered twice): ${error.message}`
    ).pipe(
      Effect.andThen(Effect.retry(run.options.queue.ack(lease), Backoff.schedule)),
      Effect.ignore,
      Effect.forkIn(run.scope),
      Effect.asVoid
    ))

/**
 * A failed publish goes back to the queue. One the broker refused is counted: after `maxAttempts` it is
 * dead-lettered, before that it goes back after a pause unless `final`.
 */
const retry = (run: Run, lease: Lease, cause: Cause.Cause<PublishError>, final: boolean) => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error) && isRefusal(error.value)) return refused(run, lease, cause, error.value, final)
  return Effect.andThen(
    Effect.logDebug(
      "publish failed; the message goes back to the queue",
      Option.match(error, { onNone: () => Cause.pretty(cause), onSome: (e) => e.message })
    ),
    giveBack(run, lease, cause)
  )
}

/** Whether the failure is the broker's answer to this message, which counts against it. */
const isRefusal = (error: PublishError): boolean => error.reason === "Rejected" || error.reason === "Timeout"

/** Counts a refusal; dead-letters the message at `maxAttempts`, else gives it back. */
const refused = (run: Run, lease: Lease, cause: Cause.Cause<PublishError>, error: PublishError, final: boolean) => {
  const { maxAttempts, refusals } = run.options
  const attempts = refusals.count(lease.envelope.messageId)
  if (attempts >= maxAttempts) return deadLetter(run, lease, cause, error, attempts)
  if (final) return giveBack(run, lease, cause)
  return Effect.andThen(
    Effect.logWarning(`the broker refused a message (attempt ${attempts} of ${maxAttempts}); retrying`, error.message),
    giveBackLater(run, lease, cause)
  )
}

/** A broker that refuses a message would refuse it again at once: it goes back after a pause. */
const giveBackLater = (run: Run, lease: Lease, cause: Cause.Cause<PublishError>) =>
  Effect.sleep("1 second").pipe(
    Effect.andThen(giveBack(run, lease, cause)),
    Effect.forkIn(run.scope),
    Effect.asVoid
  )

/**
 * Keeps the message as a dead letter, then takes it out of the queue. If the dead letter cannot be
 * kept, the message stays queued: it is tried again, and dead-lettered at its next refusal.
 */
const deadLetter = (
  run: Run,
  lease: Lease,
  cause: Cause.Cause<PublishError>,
  error: PublishError,
  attempts: number
) => {
  const { messageId } = lease.envelope
  const reason = `${error.detail} (refused ${attempts} times)`
  return run.options.deadLetters.put(lease.envelope, reason).pipe(
    Effect.matchEffect({
      onFailure: (storeError) =>
        Effect.andThen(
          Effect.logError(`message ${messageId} could not be dead-lettered; it stays queued`, storeError.message),
          giveBackLater(run, lease, cause)
        ),
      onSuccess: () => removeDeadLetter(run, lease, cause, error, reason)
    })
  )
}

/** The dead-letter metric's `reason`: the broker's reason code (`0x87`), `timeout`, or `refused` without a code. */
const metricReason = (error: PublishError): string =>
  error.reason === "Timeout"
    ? "timeout"
    : error.reasonCode === undefined
    ? "refused"
    : ReasonCodes.hex(error.reasonCode)

/** A message kept as a dead letter leaves the queue, counted and logged (its id and why, never its payload). */
const removeDeadLetter = (
  run: Run,
  lease: Lease,
  cause: Cause.Cause<PublishError>,
  error: PublishError,
  reason: string
) =>
  Effect.andThen(
    ackOrRetry(run, lease),
    Effect.suspend(() => {
      const { envelope } = lease
      if (!run.inFlight.remove(lease, Exit.failCause(cause))) return Effect.void
      run.options.refusals.forget(envelope.messageId)
      Metrics.messagesDeadLettered.updateUnsafe(1, run.options.failureSeries(metricReason(error)))
      recount(run)
      return Effect.andThen(
        Effect.logWarning(`message ${envelope.messageId} (${envelope.eventName}) dead-lettered: ${reason}`),
        run.options.deadLettered(lease, reason)
      )
    })
  )

/** Puts a message back in the queue, unless it was settled already. */
const giveBack = (run: Run, lease: Lease, cause: Cause.Cause<PublishError>) =>
  Effect.suspend(() => {
    if (!run.inFlight.remove(lease, Exit.failCause(cause))) return Effect.void
    Metrics.publishFailures.updateUnsafe(1, run.options.failureSeries(failureReason(cause)))
    Metrics.retries.updateUnsafe(1, run.options.series)
    recount(run)
    return Effect.catch(run.options.queue.nack(lease), (error) =>
      Effect.logWarning(
        `cannot give message ${lease.envelope.messageId} back to the queue; the store keeps it taken ` +
          `until it gives it back (a PostgreSQL lease expires): ${error.message}`
      ))
  }).pipe(Effect.uninterruptible)

const failureReason = (cause: Cause.Cause<PublishError>): string =>
  Cause.hasInterruptsOnly(cause) ? "Interrupted" : Cause.findErrorOption(cause).pipe(
    Option.map((error) => error.reason),
    Option.getOrElse(() => "Defect")
  )

/**
 * Settles the last outcomes, then gives back every message still unsettled — all at once, so a store
 * that commits them together (or is down and times out) costs one wait, not one per message.
 */
const finish = (run: Run) =>
  Effect.andThen(
    settleOutcomes(run, true),
    Effect.suspend(() =>
      Effect.forEach(run.inFlight.leases(), (lease) => giveBack(run, lease, Cause.interrupt()), {
        discard: true,
        concurrency: "unbounded"
      })
    )
  )
