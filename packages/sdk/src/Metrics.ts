/**
 * The SDK's metrics, all in one place. They are Effect `Metric`s: export them with
 * `@effect/opentelemetry` (see the telemetry example) or read them with `Metric.value`. Every metric
 * carries a `client_id` attribute, so several SDK instances in one process stay apart; read one
 * instance's series through `Metric.withAttributes(metric, { client_id })`.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Metric from "effect/Metric"

/**
 * Messages not yet acknowledged (waiting and in flight).
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueDepth = Metric.gauge("stellanow_queue_depth", {
  description: "Messages not yet acknowledged by the broker (waiting and in flight)"
})

/**
 * Bytes of the envelopes this process queued and that are not yet acknowledged.
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueBytes = Metric.gauge("stellanow_queue_bytes", {
  description: "Bytes of envelopes queued by this process and not yet acknowledged"
})

/**
 * Publishes waiting for their PUBACK.
 *
 * @since 0.1.0
 * @category metrics
 */
export const inFlight = Metric.gauge("stellanow_in_flight", {
  description: "Publishes waiting for the broker's acknowledgement"
})

/**
 * Messages accepted by `sendMessage`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const messagesQueued = Metric.counter("stellanow_messages_queued_total", {
  description: "Messages accepted by sendMessage and queued",
  incremental: true
})

/**
 * Publishes sent to the broker (a retried message counts again).
 *
 * @since 0.1.0
 * @category metrics
 */
export const messagesSent = Metric.counter("stellanow_messages_sent_total", {
  description: "Publishes sent to the broker, retries included",
  incremental: true
})

/**
 * Messages the broker acknowledged.
 *
 * @since 0.1.0
 * @category metrics
 */
export const messagesAcked = Metric.counter("stellanow_messages_acked_total", {
  description: "Messages acknowledged by the broker (PUBACK)",
  incremental: true
})

/**
 * Messages dropped by the queue's overflow policy, with the attribute `policy`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const messagesDropped = Metric.counter("stellanow_messages_dropped_total", {
  description: "Messages dropped by the queue's overflow policy",
  incremental: true
})

/**
 * Publishes that ended without a PUBACK, with the attribute `reason`; each message goes back to the queue.
 *
 * @since 0.1.0
 * @category metrics
 */
export const publishFailures = Metric.counter("stellanow_publish_failures_total", {
  description: "Publishes that ended without an acknowledgement; the message was queued again",
  incremental: true
})

/**
 * Messages dead-lettered: taken out of the queue after the broker refused them `maxAttempts` times,
 * with the attribute `reason` (the last refusal: the broker's reason code, as `0x87`, or `timeout`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const messagesDeadLettered = Metric.counter("stellanow_messages_dead_lettered_total", {
  description: "Messages the broker refused maxAttempts times, moved to the dead letters",
  incremental: true
})

/**
 * Messages given back to the queue to be sent again.
 *
 * @since 0.1.0
 * @category metrics
 */
export const retries = Metric.counter("stellanow_retries_total", {
  description: "Messages put back in the queue to be sent again",
  incremental: true
})

/**
 * Connections lost or refused, with the attribute `cause` (the `ConnectionError` reason).
 *
 * @since 0.1.0
 * @category metrics
 */
export const reconnects = Metric.counter("stellanow_reconnects_total", {
  description: "Connections lost or refused, by cause",
  incremental: true
})

/**
 * 1 while connected to the broker, 0 otherwise.
 *
 * @since 0.1.0
 * @category metrics
 */
export const connected = Metric.gauge("stellanow_connected", {
  description: "1 while connected to the broker, 0 otherwise"
})

/**
 * OIDC token refreshes, with the attribute `outcome` (`ok`, `refused`, `error`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokenRefreshes = Metric.counter("stellanow_token_refreshes_total", {
  description: "OIDC token refreshes, by outcome",
  incremental: true
})

/**
 * OIDC logins (password grant), with the attribute `outcome` (`ok`, `refused`, `error`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const logins = Metric.counter("stellanow_logins_total", {
  description: "OIDC logins, by outcome",
  incremental: true
})

/**
 * Seconds from `sendMessage` to the broker's acknowledgement.
 *
 * @since 0.1.0
 * @category metrics
 */
export const ackLatency = Metric.histogram("stellanow_ack_latency_seconds", {
  description: "Seconds from sendMessage to the broker's acknowledgement",
  boundaries: Metric.exponentialBoundaries({ start: 0.0005, factor: 2, count: 20 })
})
