import type { Envelope } from "@stellanow/sdk"
import { QueueError, StoreError } from "@stellanow/sdk"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Latch, Option, Schedule, type Scope } from "effect"
import { Deadlines } from "./deadlines.js"

/** What became of one offer in a committed batch. */
export type OfferOutcome =
  | { readonly _tag: "Queued"; readonly dropped: Option.Option<Envelope.Envelope> }
  | { readonly _tag: "Full" }

/** One group commit: new messages, acknowledged ones to delete, given-back ones to release. */
export interface Batch {
  readonly offers: ReadonlyArray<Envelope.Envelope>
  readonly acks: ReadonlyArray<number>
  readonly nacks: ReadonlyArray<number>
}

/** Commits a batch in one transaction; one outcome per offer, in order. */
export type Commit = (batch: Batch) => Effect.Effect<ReadonlyArray<OfferOutcome>, StoreError>

type Resume<A, E> = (effect: Effect.Effect<A, E>) => void

interface OfferRequest {
  readonly envelope: Envelope.Envelope
  /** Set when the caller starts waiting. */
  resume: Resume<Option.Option<Envelope.Envelope>, QueueError>
  cancelled: boolean
  /** In a batch being committed: from then on, whether it is stored is up to that commit. */
  committing: boolean
  /** When the caller gives up waiting (`storeTimeout` after the offer), in the clock's milliseconds. */
  readonly deadline: number
  /** Completed (or given up by its caller): nothing more is reported to it. */
  settled: boolean
}

/** Completes an offer's wait, once. */
const settle = (request: OfferRequest, outcome: Effect.Effect<Option.Option<Envelope.Envelope>, QueueError>) => {
  if (request.settled) return
  request.settled = true
  request.resume(outcome)
}

interface NackRequest {
  readonly sequence: number
  readonly resume: Resume<void, never> | undefined
}

/** The single writer of a queue: every change to the table goes through it, in group commits. */
export interface Writer {
  /**
   * Completes once the message is committed (or refused by the overflow policy); fails with
   * `StoreFailed` when the commit failed, or `storeTimeout` passed first.
   */
  readonly offer: (envelope: Envelope.Envelope) => Effect.Effect<Option.Option<Envelope.Envelope>, QueueError>
  /**
   * Records an acknowledgement and completes at once: the delete is committed with the next batch,
   * at most `ackDelay` later. A crash before then delivers the message again (at least once).
   */
  readonly ack: (sequence: number) => Effect.Effect<void>
  /**
   * Completes once the release is committed, or once it failed and was left to retry in the
   * background; fails with a `StoreError` (`"Timeout"`) when `storeTimeout` passed first (the release
   * stays pending).
   */
  readonly nack: (sequence: number) => Effect.Effect<void, StoreError>
  /**
   * The sequences acknowledged whose deletes are not committed yet, those of the commit under way
   * included: their rows are still in the table, and no longer in the queue.
   */
  readonly acknowledged: () => ReadonlyArray<number>
}

/** Offers per transaction at most. */
const maxOffersPerBatch = 5_000

/** Acknowledgements waiting at most, by default, before they are committed without waiting for `ackDelay`. */
const defaultMaxPendingAcks = 1_000

/** Transient failures (an unreachable server, a busy file) are retried this way before giving up. */
const transientRetry = Schedule.max([Schedule.exponential("50 millis", 2), Schedule.recurs(6)]).pipe(
  Schedule.jittered
)

/** After a failure, acknowledgements and releases are retried in the background on this schedule. */
const backgroundRetry = Schedule.min([Schedule.exponential("200 millis", 2), Schedule.spaced("10 seconds")]).pipe(
  Schedule.jittered
)

/** The writer's settings. */
interface Settings {
  readonly capacity: number
  readonly store: string
  readonly ackDelay: Duration.Input
  readonly closeTimeout: Duration.Input
  /** How long an offer or a release waits for its commit at most. */
  readonly storeTimeout: Duration.Input
  /**
   * Acknowledgements waiting at most before they are committed without waiting for `ackDelay`; default
   * 1,000.
   */
  readonly maxPendingAcks?: number | undefined
}

/** A batch as taken from the pending work: the requests, to be settled once it is committed. */
interface Taken {
  readonly offers: Array<OfferRequest>
  readonly acks: Array<number>
  readonly nacks: Array<NackRequest>
}

/** The work waiting for the writer, and the latch that wakes it when there is some. */
class Pending {
  constructor(readonly maxPendingAcks: number) {}
  offers: Array<OfferRequest> = []
  /** Every offer waiting, until its deadline or until it is settled. */
  readonly deadlines = new Deadlines<OfferRequest>()
  acks: Array<number> = []
  nacks: Array<NackRequest> = []
  /**
   * The acknowledgements of the batch being committed: their rows stay in the table until the commit,
   * so they are still reported as acknowledged (a count of the table that left them out was too high
   * while a batch of deletes was under way).
   */
  committingAcks: ReadonlyArray<number> = []
  /** The error of the last failed commit attempt, until one succeeds: what a timed-out wait reports. */
  lastFailure: StoreError | undefined = undefined
  closing = false
  readonly signal = Latch.makeUnsafe(false)

  get size(): number {
    return this.offers.length + this.acks.length + this.nacks.length
  }

  /** Whether to commit now rather than let acknowledgements gather. */
  get urgent(): boolean {
    return this.closing || this.offers.length > 0 || this.nacks.length > 0 || this.acks.length >= this.maxPendingAcks
  }

  /** The next batch: every acknowledgement and release, and up to `maxOffersPerBatch` offers. */
  take(): Taken {
    const taken = this.offers.length <= maxOffersPerBatch ? this.offers : this.offers.slice(0, maxOffersPerBatch)
    this.offers = taken === this.offers ? [] : this.offers.slice(maxOffersPerBatch)
    const batch = { offers: taken.filter((request) => !request.cancelled), acks: this.acks, nacks: this.nacks }
    for (const request of batch.offers) request.committing = true
    this.committingAcks = this.acks
    this.acks = []
    this.nacks = []
    return batch
  }

  /**
   * Puts a failed batch's acknowledgements and releases back to be retried, unless closing: until they
   * are committed their rows stay, so at worst a message is delivered again. Whether they are retried.
   */
  requeue(batch: Taken): boolean {
    const retried = !this.closing && batch.acks.length + batch.nacks.length > 0
    if (retried) {
      this.acks = [...batch.acks, ...this.acks]
      this.nacks = [...batch.nacks.map((r) => ({ sequence: r.sequence, resume: undefined })), ...this.nacks]
    }
    this.committingAcks = []
    return retried
  }

  acknowledged(): ReadonlyArray<number> {
    return this.committingAcks.length === 0 ? this.acks.slice() : [...this.committingAcks, ...this.acks]
  }
}

/** Completes each request of a committed batch with its outcome. */
const settleCommitted = (pending: Pending, batch: Taken, outcomes: ReadonlyArray<OfferOutcome>, capacity: number) => {
  for (const request of batch.nacks) request.resume?.(Effect.void)
  pending.committingAcks = []
  batch.offers.forEach((request, i) => {
    const outcome = outcomes[i]!
    settle(
      request,
      outcome._tag === "Full"
        ? Effect.fail(
          new QueueError({
            reason: "Full",
            messageId: request.envelope.messageId,
            capacity,
            detail: `the message queue is full (capacity ${capacity}); ` +
              `message ${request.envelope.messageId} was not queued`
          })
        )
        : Effect.succeed(outcome.dropped)
    )
  })
  pending.deadlines.prune()
}

/**
 * A batch whose commit failed: its offers fail (their callers learn the message was not stored), its
 * acknowledgements and releases are retried after `retryDelay`, or given up with a warning when closing.
 */
const settleFailed = (
  pending: Pending,
  batch: Taken,
  error: StoreError,
  retryDelay: Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (const request of batch.nacks) request.resume?.(Effect.void)
    // Decided before anything yields, so they are never reported twice.
    const retried = pending.requeue(batch)
    for (const request of batch.offers) {
      const { messageId } = request.envelope
      const detail = `message ${messageId} could not be stored: ${error.message}`
      settle(request, Effect.fail(new QueueError({ reason: "StoreFailed", messageId, detail, cause: error })))
    }
    pending.deadlines.prune()
    if (batch.offers.length > 0) {
      yield* Effect.logError(`${batch.offers.length} message(s) could not be stored: ${error.message}`)
    }
    if (batch.acks.length + batch.nacks.length === 0) return
    if (!retried) {
      yield* Effect.logWarning(
        `${batch.acks.length} acknowledgement(s) and ${batch.nacks.length} release(s) could not be committed ` +
          `before closing (${error.message}): those messages may be delivered again`
      )
      return
    }
    yield* Effect.logWarning(
      `${batch.acks.length} acknowledgement(s) and ${batch.nacks.length} release(s) will be retried: ` +
        error.message
    )
    yield* retryDelay
  })

/** The failure of a commit, as the queue's error (a defect becomes one too). */
const failureOf = (cause: Cause.Cause<StoreError>, store: string): StoreError =>
  Option.getOrElse(
    Cause.findErrorOption(cause),
    () =>
      new StoreError({
        reason: "Failed",
        store,
        detail: "the queue's writer failed unexpectedly",
        cause: Cause.squash(cause)
      })
  )

/** Waits until there is something to commit now, or acknowledgements have waited `ackDelay`. */
const awaitWork = (pending: Pending, ackDelay: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    while (!pending.urgent) {
      pending.signal.closeUnsafe()
      if (pending.urgent) return
      if (pending.acks.length === 0) {
        // Opened by an offer, a release, the first acknowledgement, or closing.
        yield* pending.signal.await
        continue
      }
      yield* Effect.raceFirst(pending.signal.await, Effect.sleep(ackDelay))
      return
    }
  })

/**
 * Commits a batch, retrying transient failures. Each attempt leaves out the offers whose callers gave
 * up waiting (`storeTimeout`) since the last one: a message whose `sendMessage` failed is stored only
 * if the attempt under way when it gave up lands.
 */
const commitRetrying = (pending: Pending, commit: Commit, batch: Taken) =>
  Effect.suspend(() => {
    const offers = batch.offers.filter((request) => !request.cancelled)
    return Effect.map(
      commit({
        offers: offers.map((request) => request.envelope),
        acks: batch.acks,
        nacks: batch.nacks.map((request) => request.sequence)
      }),
      (outcomes) => ({ offers, outcomes })
    )
  }).pipe(
    Effect.tapError((error) => Effect.sync(() => pending.lastFailure = error)),
    Effect.retry({ while: (error) => error.isTransient && !pending.closing, schedule: transientRetry })
  )

/** The writer fiber: commits batches until closing and nothing is pending. */
const run = (pending: Pending, commit: Commit, settings: Settings): Effect.Effect<void> =>
  Effect.gen(function*() {
    const ackDelay = Duration.fromInputUnsafe(settings.ackDelay)
    // The background retry's delays, started afresh after each successful commit.
    let retryStep = yield* Schedule.toStepWithSleep(backgroundRetry)
    const retryDelay = Effect.suspend(() => Effect.ignore(retryStep(undefined)))
    while (!pending.closing || pending.size > 0) {
      yield* awaitWork(pending, ackDelay)
      const batch = pending.take()
      if (batch.offers.length + batch.acks.length + batch.nacks.length === 0) continue
      const exit = yield* Effect.exit(commitRetrying(pending, commit, batch))
      if (Exit.isSuccess(exit)) {
        pending.lastFailure = undefined
        settleCommitted(pending, { ...batch, offers: exit.value.offers }, exit.value.outcomes, settings.capacity)
        retryStep = yield* Schedule.toStepWithSleep(backgroundRetry)
      } else {
        yield* settleFailed(pending, batch, failureOf(exit.cause, settings.store), retryDelay)
      }
    }
  }).pipe(Effect.annotateLogs({ module: "SqlMessageQueue", fiber: "writer" }))

const format = (duration: Duration.Duration) => Duration.format(duration)

/** The store did not answer in time: a `"Timeout"`, with the last failure, if any, as its cause. */
const timedOut = (pending: Pending, settings: Settings, what: string): StoreError => {
  const last = pending.lastFailure
  return new StoreError({
    reason: "Timeout",
    store: settings.store,
    detail: last === undefined ? what : `${what} (last error: ${last.detail})`,
    ...(last?.code === undefined ? {} : { code: last.code }),
    ...(last === undefined ? {} : { cause: last })
  })
}

/**
 * An offer that waited `storeTimeout`: one still waiting for its batch is withdrawn (not stored), with
 * the store's last failure, if any, as the cause; one in a commit under way may still be stored.
 */
const offerTimedOut = (
  request: OfferRequest,
  pending: Pending,
  settings: Settings,
  storeTimeout: Duration.Duration
): QueueError => {
  const { messageId } = request.envelope
  const committing = request.committing
  const error = !committing && pending.lastFailure !== undefined
    ? pending.lastFailure
    : timedOut(
      pending,
      settings,
      committing
        ? `its commit did not complete within ${format(storeTimeout)}; it may still be stored, and then delivered`
        : `the store did not take it within ${format(storeTimeout)}`
    )
  const detail = committing
    ? `message ${messageId} is not known to be stored: ${error.message}`
    : `message ${messageId} could not be stored: ${error.message}`
  return new QueueError({ reason: "StoreFailed", messageId, detail, cause: error })
}

/** Closing: lets the writer commit what is pending within `closeTimeout`, then fails what is left. */
const close = (pending: Pending, fiber: Fiber.Fiber<void>, settings: Settings): Effect.Effect<void> =>
  Effect.gen(function*() {
    pending.closing = true
    pending.signal.openUnsafe()
    const done = yield* Fiber.join(fiber).pipe(Effect.timeoutOption(settings.closeTimeout), Effect.exit)
    if (Exit.isFailure(done) || Option.isNone(done.value)) yield* Fiber.interrupt(fiber)
    for (const request of pending.offers) {
      const { messageId } = request.envelope
      const detail = `${settings.store}: the queue was closed before message ${messageId} was stored`
      settle(request, Effect.fail(new QueueError({ reason: "Closed", messageId, detail })))
    }
    for (const request of pending.nacks) request.resume?.(Effect.void)
    if (pending.acks.length + pending.nacks.length > 0) {
      yield* Effect.logWarning(
        `closed with ${pending.acks.length} acknowledgement(s) and ${pending.nacks.length} release(s) not ` +
          "committed: those messages may be delivered again"
      )
    }
  })

/**
 * Starts the writer fiber in the scope, committing each batch with `commit`.
 *
 * Offers (and releases) that arrive while a transaction runs join the next one: a burst of
 * `sendMessage` costs one commit, not one per message. Acknowledgements do not wait for a commit of
 * their own: they are committed with the next batch, when `maxPendingAcks` are waiting, or `ackDelay` after
 * the first — so delivering does not cost a commit (an `fsync` with `synchronous=FULL`) per message.
 * Closing the scope commits what is pending, within `closeTimeout`.
 */
export const make = (commit: Commit, settings: Settings): Effect.Effect<Writer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pending = new Pending(settings.maxPendingAcks ?? defaultMaxPendingAcks)
    const storeTimeout = Duration.fromInputUnsafe(settings.storeTimeout)
    const timeoutMillis = Duration.toMillis(storeTimeout)
    const clock = yield* Clock.Clock
    // An offer that waited `storeTimeout` is withdrawn if still waiting for its batch (not stored);
    // one in a commit under way may still be stored.
    yield* pending.deadlines.start((request) => {
      request.cancelled = true
      settle(request, Effect.fail(offerTimedOut(request, pending, settings, storeTimeout)))
    })
    const fiber = yield* Effect.forkScoped(Effect.interruptible(run(pending, commit, settings)))
    yield* Effect.addFinalizer(() => close(pending, fiber, settings))
    return {
      offer: (envelope) =>
        Effect.callback<Option.Option<Envelope.Envelope>, QueueError>((resume) => {
          const request: OfferRequest = {
            envelope,
            resume,
            cancelled: false,
            committing: false,
            deadline: clock.currentTimeMillisUnsafe() + timeoutMillis,
            settled: false
          }
          pending.offers.push(request)
          pending.deadlines.add(request)
          pending.signal.openUnsafe()
          return Effect.sync(() => {
            request.cancelled = true
            request.settled = true
          })
        }),
      ack: (sequence) =>
        Effect.sync(() => {
          pending.acks.push(sequence)
          if (pending.acks.length === 1 || pending.acks.length >= pending.maxPendingAcks) pending.signal.openUnsafe()
        }),
      nack: (sequence) =>
        Effect.callback<void>((resume) => {
          pending.nacks.push({ sequence, resume })
          pending.signal.openUnsafe()
        }).pipe(
          Effect.timeoutOrElse({
            duration: storeTimeout,
            orElse: () =>
              Effect.fail(timedOut(pending, settings, `the release was not committed within ${format(storeTimeout)}`))
          })
        ),
      acknowledged: () => pending.acknowledged()
    } satisfies Writer
  })
