import type { Envelope } from "../Envelope.js"
import * as Metrics from "../Metrics.js"
import { bodyBytes } from "./messageSize.js"
import type { Series } from "./metricSeries.js"

/**
 * The queue's depth and bytes for the gauges, kept by arithmetic rather than by asking the queue,
 * which may be a database.
 */
export interface Backlog {
  /**
   * A message was offered; `dropped` is what the overflow policy dropped to make room (possibly the
   * message itself). Reports.
   */
  readonly offered: (envelope: Envelope, dropped: ReadonlyArray<Envelope>) => void
  /** A message left the queue, acknowledged. Reported at the next `report`. */
  readonly acknowledged: (envelope: Envelope) => void
  /** Updates the gauges. */
  readonly report: () => void
  /** The depth by this arithmetic: what `stop` reports when the store cannot count. */
  readonly depth: () => number
}

export const make = (depth: number, series: Series): Backlog => {
  let bytes = 0
  const report = () => {
    Metrics.queueDepth.updateUnsafe(depth, series)
    Metrics.queueBytes.updateUnsafe(bytes, series)
  }
  Metrics.queueDepth.updateUnsafe(depth, series)
  return {
    offered: (envelope, dropped) => {
      depth += 1 - dropped.length
      bytes += bodyBytes(envelope)
      for (const gone of dropped) bytes -= bodyBytes(gone)
      bytes = Math.max(0, bytes)
      report()
    },
    acknowledged: (envelope) => {
      depth--
      bytes = Math.max(0, bytes - bodyBytes(envelope))
    },
    report,
    depth: () => Math.max(0, depth)
  }
}
