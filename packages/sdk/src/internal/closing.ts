import * as Duration from "effect/Duration"

/**
 * Whether `close` should warn about what it leaves behind. An SDK closed twice in a row (the Promise
 * front door's `close`, then its scope) warns once; a start or a new message makes the next close
 * report again. A close after a start always reports what it left.
 */
export interface CloseReport {
  /** Something changed since the last close: the next one reports again. */
  readonly reset: () => void
  /** Whether this close warns; marks the report made. */
  readonly due: (remaining: number, started: boolean) => boolean
}

export const makeReport = (): CloseReport => {
  let reported = false
  return {
    reset: () => {
      reported = false
    },
    due: (remaining, started) => {
      const due = remaining > 0 && (started || !reported)
      reported = true
      return due
    }
  }
}

/** What becomes of the messages a close leaves behind, as the queue says. */
const fate = (persistent: boolean | undefined) =>
  persistent === true
    ? "they stay in the persistent queue for the next start"
    : persistent === false
    ? "they are lost with the in-memory queue"
    : "whether they are kept depends on the queue"

/** The warning of a close that left `remaining` messages. */
export const leftBehind = (
  remaining: number,
  started: boolean,
  timeout: Duration.Duration,
  persistent: boolean | undefined
) =>
  !started
    ? `closed before start: ${remaining} queued message(s) were not sent; ${fate(persistent)}`
    : !Duration.isPositive(timeout)
    ? `closed without sending what is queued (close timeout 0): ${remaining} message(s) were not sent; ${
      fate(persistent)
    }`
    : `closed with ${remaining} message(s) not sent within ${Duration.format(timeout)}; ${fate(persistent)}`
