import { Clock, Duration, Effect, Latch, type Scope } from "effect"

/** Something waiting that gives up at `deadline` (the clock's milliseconds) unless settled first. */
export interface Waiter {
  readonly deadline: number
  settled: boolean
}

/** Settled waiters at the head are dropped at once; the array is compacted past this many. */
const compactAfter = 1_024

/**
 * The deadlines of a writer's waiters, with one fiber that expires them: the writer's offers all wait
 * the same `storeTimeout`, so their deadlines come in the order they were added and the first one not
 * settled is the next to expire.
 *
 * Why not `Effect.timeoutOrElse` on each offer: it races two fibers and a timer per message. Measured
 * with `bench/src/enqueueAlone.ts normal` (5,000 messages a round, 64 callers, builds alternated in one
 * sitting), it was about half of the SQLite queue's CPU per message: 21–33 µs with it, 11–16 µs
 * without (RESULTS.md, issue 16).
 */
export class Deadlines<A extends Waiter> {
  private waiters: Array<A> = []
  private head = 0
  private readonly signal = Latch.makeUnsafe(false)

  /** Adds a waiter whose deadline is not before any added so far. */
  add(waiter: A): void {
    this.waiters.push(waiter)
    if (this.waiters.length - this.head === 1) this.signal.openUnsafe()
  }

  /** Drops the settled waiters at the head (called once a batch is settled), so they are not kept. */
  prune(): void {
    const waiters = this.waiters
    while (this.head < waiters.length && waiters[this.head]!.settled) this.head++
    if (this.head === waiters.length) {
      this.waiters = []
      this.head = 0
    } else if (this.head >= compactAfter && this.head * 2 >= waiters.length) {
      this.waiters = waiters.slice(this.head)
      this.head = 0
    }
  }

  /** The next waiter not settled, if any. */
  private next(): A | undefined {
    this.prune()
    return this.waiters[this.head]
  }

  /**
   * Expires each waiter at its deadline with `expire` (unless it was settled first), until interrupted.
   * Sleeps on the clock, so `TestClock` drives it in tests.
   */
  run(expire: (waiter: A) => void): Effect.Effect<never> {
    const next = () => this.next()
    const shift = () => this.head++
    const signal = this.signal
    return Effect.gen(function*() {
      const clock = yield* Clock.Clock
      while (true) {
        const waiter = next()
        if (waiter === undefined) {
          signal.closeUnsafe()
          if (next() === undefined) yield* signal.await
          continue
        }
        const wait = waiter.deadline - clock.currentTimeMillisUnsafe()
        if (wait > 0) {
          yield* Effect.sleep(Duration.millis(wait))
          continue
        }
        shift()
        if (!waiter.settled) expire(waiter)
      }
    })
  }

  /** Starts the fiber that expires the waiters, for the scope. */
  start(expire: (waiter: A) => void): Effect.Effect<void, never, Scope.Scope> {
    return Effect.asVoid(Effect.forkScoped(Effect.interruptible(this.run(expire))))
  }
}
