import type { Envelope } from "@stellanow/sdk"
import { QueueFullError } from "@stellanow/sdk"
import { Cause, Duration, Effect, Exit, Fiber, Latch, Option, Schedule, type Scope } from "effect"
import { SqlQueueError } from "../SqlQueueError.js"

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
export type Commit = (batch: Batch) => Effect.Effect<ReadonlyArray<OfferOutcome>, SqlQueueError>

type Resume<A, E> = (effect: Effect.Effect<A, E>) => void

interface OfferRequest {
  readonly envelope: Envelope.Envelope
  readonly resume: Resume<Option.Option<Envelope.Envelope>, QueueFullError>
  cancelled: boolean
}

interface NackRequest {
  readonly sequence: number
  readonly resume: Resume<void, never> | undefined
}

/** The single writer of a queue: every change to the table goes through it, in group commits. */
export interface Writer {
  /** Completes once the message is committed (or refused by the overflow policy). */
  readonly offer: (envelope: Envelope.Envelope) => Effect.Effect<Option.Option<Envelope.Envelope>, QueueFullError>
  /**
   * Records an acknowledgement and completes at once: the delete is committed with the next batch,
   * at most `ackDelay` later. A crash before then delivers the message again (at least once).
   */
  readonly ack: (sequence: number) => Effect.Effect<void>
  /** Completes once the release is committed, or once it failed and was left to retry in the background. */
  readonly nack: (sequence: number) => Effect.Effect<void>
  /**
   * The sequences acknowledged whose deletes are not committed yet, those of the commit under way
   * included: their rows are still in the table, and no longer in the queue.
   */
  readonly acknowledged: () => ReadonlyArray<number>
}

/** Offers per transaction at most. */
const maxOffersPerBatch = 5_000

/** Acknowledgements waiting at most, before they are committed without waiting for `ackDelay`. */
const maxPendingAcks = 1_000

/** Transient failures (an unreachable server, a busy file) are retried this way before giving up. */
const transientRetry = Schedule.max([Schedule.exponential("50 millis", 2), Schedule.recurs(6)]).pipe(
  Schedule.jittered
)

/** After a failure, acknowledgements and releases are retried in the background on this schedule. */
const backgroundRetry = Schedule.min([Schedule.exponential("200 millis", 2), Schedule.spaced("10 seconds")]).pipe(
  Schedule.jittered
)

/**
 * Starts the writer fiber in the scope, committing each batch with `commit`.
 *
 * Offers (and releases) that arrive while a transaction runs join the next one: a burst of
 * `sendMessage` costs one commit, not one per message. Acknowledgements do not wait for a commit of
 * their own: they are committed with the next batch, when a thousand are waiting, or `ackDelay` after
 * the first — so delivering does not cost a commit (an `fsync` with `synchronous=FULL`) per message.
 * Closing the scope commits what is pending, within `closeTimeout`.
 */
export const make = (commit: Commit, options: {
  readonly capacity: number
  readonly store: string
  readonly ackDelay: Duration.Input
  readonly closeTimeout: Duration.Input
}): Effect.Effect<Writer, never, Scope.Scope> =>
  Effect.gen(function*() {
    let offers: Array<OfferRequest> = []
    let acks: Array<number> = []
    let nacks: Array<NackRequest> = []
    /**
     * The acknowledgements of the batch being committed: their rows stay in the table until the commit,
     * so they are still reported as acknowledged (a count of the table that left them out was too high
     * while a batch of deletes was under way).
     */
    let committingAcks: ReadonlyArray<number> = []
    let closing = false
    const signal = yield* Latch.make(false)
    // The background retry's delays, started afresh after each successful commit.
    let retryStep = yield* Schedule.toStepWithSleep(backgroundRetry)
    const resetRetry = Effect.map(Schedule.toStepWithSleep(backgroundRetry), (step) => {
      retryStep = step
    })
    const ackDelay = Duration.fromInputUnsafe(options.ackDelay)

    const pending = () => offers.length + acks.length + nacks.length
    const urgent = () => closing || offers.length > 0 || nacks.length > 0 || acks.length >= maxPendingAcks

    const nextBatch = () => {
      const taken = offers.length <= maxOffersPerBatch ? offers : offers.slice(0, maxOffersPerBatch)
      offers = taken === offers ? [] : offers.slice(maxOffersPerBatch)
      const batch = { offers: taken.filter((request) => !request.cancelled), acks, nacks }
      committingAcks = acks
      acks = []
      nacks = []
      return batch
    }

    const settle = (
      batch: { offers: Array<OfferRequest>; acks: Array<number>; nacks: Array<NackRequest> },
      exit: Exit.Exit<ReadonlyArray<OfferOutcome>, SqlQueueError>
    ) =>
      Effect.gen(function*() {
        for (const request of batch.nacks) request.resume?.(Effect.void)
        if (Exit.isSuccess(exit)) {
          committingAcks = []
          batch.offers.forEach((request, i) => {
            const outcome = exit.value[i]!
            request.resume(
              outcome._tag === "Full"
                ? Effect.fail(new QueueFullError({ capacity: options.capacity, messageId: request.envelope.messageId }))
                : Effect.succeed(outcome.dropped)
            )
          })
          yield* resetRetry
          return
        }
        const error = Option.getOrElse(
          Cause.findErrorOption(exit.cause),
          () =>
            new SqlQueueError({
              reason: "Failed",
              store: options.store,
              detail: "the queue's writer failed unexpectedly",
              cause: Cause.squash(exit.cause)
            })
        )
        // Kept and retried (unless closing): until they are committed their rows stay, so at worst a
        // message is delivered again. Decided before anything yields, so they are never reported twice.
        const retried = !closing && batch.acks.length + batch.nacks.length > 0
        if (retried) {
          acks = [...batch.acks, ...acks]
          nacks = [...batch.nacks.map((r) => ({ sequence: r.sequence, resume: undefined })), ...nacks]
        }
        committingAcks = []
        for (const request of batch.offers) request.resume(Effect.die(error))
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
        yield* Effect.ignore(retryStep(undefined))
      })

    const runBatch = Effect.gen(function*() {
      const batch = nextBatch()
      if (batch.offers.length + batch.acks.length + batch.nacks.length === 0) return
      const exit = yield* commit({
        offers: batch.offers.map((request) => request.envelope),
        acks: batch.acks,
        nacks: batch.nacks.map((request) => request.sequence)
      }).pipe(
        Effect.retry({ while: (error) => error.isTransient && !closing, schedule: transientRetry }),
        Effect.exit
      )
      yield* settle(batch, exit)
    })

    /** Waits until there is something to commit now, or acknowledgements have waited `ackDelay`. */
    const awaitWork = Effect.gen(function*() {
      while (!urgent()) {
        signal.closeUnsafe()
        if (urgent()) return
        if (acks.length === 0) {
          // Opened by an offer, a release, the first acknowledgement, or closing.
          yield* signal.await
          continue
        }
        yield* Effect.raceFirst(signal.await, Effect.sleep(ackDelay))
        return
      }
    })

    const loop = Effect.gen(function*() {
      while (!closing || pending() > 0) {
        yield* awaitWork
        yield* runBatch
      }
    }).pipe(Effect.annotateLogs({ module: "SqlMessageQueue", fiber: "writer" }))

    const fiber = yield* Effect.forkScoped(Effect.interruptible(loop))

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        closing = true
        signal.openUnsafe()
        const done = yield* Fiber.join(fiber).pipe(Effect.timeoutOption(options.closeTimeout), Effect.exit)
        if (Exit.isFailure(done) || Option.isNone(done.value)) yield* Fiber.interrupt(fiber)
        const closed = new SqlQueueError({ reason: "Failed", store: options.store, detail: "the queue was closed" })
        for (const request of offers) request.resume(Effect.die(closed))
        for (const request of nacks) request.resume?.(Effect.void)
        if (acks.length + nacks.length > 0) {
          yield* Effect.logWarning(
            `closed with ${acks.length} acknowledgement(s) and ${nacks.length} release(s) not committed: ` +
              "those messages may be delivered again"
          )
        }
      })
    )

    return {
      offer: (envelope) =>
        Effect.callback<Option.Option<Envelope.Envelope>, QueueFullError>((resume) => {
          const request: OfferRequest = { envelope, resume, cancelled: false }
          offers.push(request)
          signal.openUnsafe()
          return Effect.sync(() => {
            request.cancelled = true
          })
        }),
      ack: (sequence) =>
        Effect.sync(() => {
          acks.push(sequence)
          if (acks.length === 1 || acks.length >= maxPendingAcks) signal.openUnsafe()
        }),
      nack: (sequence) =>
        Effect.callback<void>((resume) => {
          nacks.push({ sequence, resume })
          signal.openUnsafe()
        }),
      acknowledged: () => committingAcks.length === 0 ? acks.slice() : [...committingAcks, ...acks]
    } satisfies Writer
  })
