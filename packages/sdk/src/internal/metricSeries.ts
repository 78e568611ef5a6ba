import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"

/**
 * Metric updates made in place rather than as Effect steps: on the per-message paths and in mqtt.js's
 * callbacks, a step per update would cost more than the update itself. A series is the context an
 * update is made in, carrying the series' attributes (and the metric registry of the context it was
 * made from); each is made once and reused: `metric.updateUnsafe(value, series)`.
 */
export type Series = Context.Context<never>

/** Makes series from the current context: `series({ client_id })`. */
export const maker: Effect.Effect<(attributes: Metric.Metric.AttributeSet) => Series> = Effect.map(
  Effect.context<never>(),
  (context) => (attributes) => Context.add(context, Metric.CurrentMetricAttributes, attributes)
)
