import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import type { LifecycleError, QueueError } from "../StellaNowError.js"

/**
 * The `sendMessageAndWait` calls waiting for their message's fate, by message id: its
 * acknowledgement, its drop, or the SDK closing. Each waiter is settled at most once.
 */
export interface Waiters {
  /** A waiter for the message, registered before it is queued so no outcome slips past it. */
  readonly register: (messageId: string) => Deferred.Deferred<string, LifecycleError | QueueError>
  /** Forgets the message's waiter without settling it (its caller gave up). */
  readonly forget: (messageId: string) => void
  readonly has: (messageId: string) => boolean
  /** Settles the message's waiter, if there is one, with its acknowledgement, and forgets it. */
  readonly acknowledged: (messageId: string) => void
  /** Settles the message's waiter, if there is one, and forgets it. */
  readonly settle: (messageId: string, exit: Exit.Exit<string, LifecycleError | QueueError>) => void
  /** Settles every waiter left. */
  readonly settleAll: (exit: Exit.Exit<string, LifecycleError | QueueError>) => void
}

export const make = (): Waiters => {
  const waiters = new Map<string, Deferred.Deferred<string, LifecycleError | QueueError>>()
  const settle = (messageId: string, exit: Exit.Exit<string, LifecycleError | QueueError>) => {
    const waiter = waiters.get(messageId)
    if (waiter !== undefined) {
      waiters.delete(messageId)
      Deferred.doneUnsafe(waiter, exit)
    }
  }
  return {
    register: (messageId) => {
      const waiter = Deferred.makeUnsafe<string, LifecycleError | QueueError>()
      waiters.set(messageId, waiter)
      return waiter
    },
    // Called for every message acknowledged, most with no waiter: the exit is made only for a waiter.
    acknowledged: (messageId) => {
      if (waiters.has(messageId)) settle(messageId, Exit.succeed(messageId))
    },
    forget: (messageId) => void waiters.delete(messageId),
    has: (messageId) => waiters.has(messageId),
    settle,
    settleAll: (exit) => {
      for (const messageId of [...waiters.keys()]) settle(messageId, exit)
    }
  }
}
