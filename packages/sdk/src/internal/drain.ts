/**
 * The drain. One fiber takes messages in queue order while connected and publishes them, keeping at
 * most `maxInFlight` unsettled. A message leaves the queue on its PUBACK; whatever stops it short of
 * one puts it back where it was. The sink reports each outcome through a callback (its `publisher`),
 * and another fiber settles them in batches: at thousands of messages a second, forking a fiber per
 * message was most of the SDK's cost.
 */
import { Cause, Clock, Context, Effect, Exit, type Fiber, Option, Scope, type Tracer } from "effect"
import type { Lease, Service as QueueService } from "../MessageQueue.js"
import * as Metrics from "../Metrics.js"
import type { PublishCallback, Service as SinkService } from "../Sink.js"
import type { PublishError } from "../StellaNowError.js"
import * as InFlight from "./inFlight.js"
import type { Series } from "./metricSeries.js"
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
  Effect.gen(function*() {
    const { maxInFlight, queue, sink } = run.options
    while (true) {
      yield* sink.awaitReady
      yield* run.inFlight.room
      // Taken and published in one step, so an interruption cannot strand a taken message.
      yield* Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(queue.take(maxInFlight - run.inFlight.size())), publishAll)
      )
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
    const failures = Effect.forEach(failed, ([lease, cause]) => retry(run, lease, cause, final), { discard: true })
    return acknowledged.length === 0 ? failures : Effect.andThen(acknowledge(run, acknowledged), failures)
  }).pipe(Effect.uninterruptible)

const acknowledge = (run: Run, leases: ReadonlyArray<Lease>) =>
  Effect.andThen(
    Effect.forEach(leases, run.options.queue.ack, { discard: true }),
    Effect.suspend(() => {
      const { series } = run.options
      const now = run.clock.currentTimeMillisUnsafe()
      for (const lease of leases) {
        run.inFlight.remove(lease, Exit.void)
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

/** A failed publish goes back to the queue; one the broker refused, after a pause unless `final`. */
const retry = (run: Run, lease: Lease, cause: Cause.Cause<PublishError>, final: boolean) => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error) && error.value.reason === "Rejected" && !final) {
    // A broker that refuses a message would refuse it again at once: wait before retrying.
    return Effect.logWarning("the broker refused a message; retrying", error.value.message).pipe(
      Effect.andThen(Effect.sleep("1 second")),
      Effect.andThen(giveBack(run, lease, cause)),
      Effect.forkIn(run.scope),
      Effect.asVoid
    )
  }
  return Effect.andThen(
    Effect.logDebug(
      "publish failed; the message goes back to the queue",
      Option.match(error, { onNone: () => Cause.pretty(cause), onSome: (e) => e.message })
    ),
    giveBack(run, lease, cause)
  )
}

/** Puts a message back in the queue, unless it was settled already. */
const giveBack = (run: Run, lease: Lease, cause: Cause.Cause<PublishError>) =>
  Effect.suspend(() => {
    if (!run.inFlight.remove(lease, Exit.failCause(cause))) return Effect.void
    Metrics.publishFailures.updateUnsafe(1, run.options.failureSeries(failureReason(cause)))
    Metrics.retries.updateUnsafe(1, run.options.series)
    recount(run)
    return run.options.queue.nack(lease)
  }).pipe(Effect.uninterruptible)

const failureReason = (cause: Cause.Cause<PublishError>): string =>
  Cause.hasInterruptsOnly(cause) ? "Interrupted" : Cause.findErrorOption(cause).pipe(
    Option.map((error) => error.reason),
    Option.getOrElse(() => "Defect")
  )

/** Settles the last outcomes, then gives back every message still unsettled. */
const finish = (run: Run) =>
  Effect.andThen(
    settleOutcomes(run, true),
    Effect.suspend(() =>
      Effect.forEach(run.inFlight.leases(), (lease) => giveBack(run, lease, Cause.interrupt()), { discard: true })
    )
  )
