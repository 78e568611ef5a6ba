import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type { AuthError, ConnectionError } from "../StellaNowError.js"
import type { Drain } from "./drain.js"

/** A started SDK: its fibers live in `scope`, which halting closes. */
export interface Running {
  readonly scope: Scope.Closeable
  readonly connection: Fiber.Fiber<never, ConnectionError | AuthError>
  readonly drain: Drain
}

/**
 * Whether the SDK is started, and the lock that lets one `start` or `stop` change that at a time. A
 * `start` waiting for the broker holds the lock; `abandon` makes it give up at once, so that stopping
 * (and closing the SDK) does not hang on a broker that is away.
 */
export interface Lifecycle {
  /** The current run, if started. */
  readonly running: () => Running | undefined
  readonly set: (run: Running | undefined) => void
  /** Runs `effect` holding the lock. */
  readonly exclusive: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Runs `wait` until it completes, or until `abandon` is called: then `"stopped"`. */
  readonly abandonable: <A, E, R>(wait: Effect.Effect<A, E, R>) => Effect.Effect<A | "stopped", E, R>
  /** Makes the `abandonable` wait in progress, if any, end with `"stopped"`. */
  readonly abandon: () => void
}

export const make: Effect.Effect<Lifecycle> = Effect.map(Semaphore.make(1), (lock) => {
  let running: Running | undefined
  let waiting: Deferred.Deferred<"stopped"> | undefined
  return {
    running: () => running,
    set: (run) => {
      running = run
    },
    exclusive: lock.withPermits(1),
    abandonable: (wait) =>
      Effect.suspend(() => {
        const abandoned = Deferred.makeUnsafe<"stopped">()
        waiting = abandoned
        return Effect.raceFirst(wait, Deferred.await(abandoned)).pipe(
          Effect.ensuring(Effect.sync(() => {
            if (waiting === abandoned) waiting = undefined
          }))
        )
      }),
    abandon: () => {
      if (waiting !== undefined) Deferred.doneUnsafe(waiting, Exit.succeed("stopped" as const))
    }
  }
})
