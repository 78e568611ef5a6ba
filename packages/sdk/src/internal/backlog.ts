import type { Option } from "effect"
import type { Envelope } from "../Envelope.js"
import * as Metrics from "../Metrics.js"
import type { Series } from "./metricSeries.js"

/**
 * The queue's depth and bytes for the gauges, kept by arithmetic rather than by asking the queue,
 * which may be a database.
 */
export interface Backlog {
  /** A message was queued; `dropped` is what the overflow policy dropped to make room. Reports. */
  readonly offered: (envelope: Envelope, dropped: Option.Option<Envelope>) => void
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
      bytes += envelope.body.length
      if (dropped._tag === "None") depth++
      else bytes = Math.max(0, bytes - dropped.value.body.length)
      report()
    },
    acknowledged: (envelope) => {
      depth--
      bytes = Math.max(0, bytes - envelope.body.length)
    },
    report,
    depth: () => Math.max(0, depth)
  }
}
