import * as Schedule from "effect/Schedule"

/**
 * The SDK's backoff: exponential from 500 ms by 1.5, capped at 30 s, jittered. It is the default of
 * both the sink's reconnects (`Sink.defaultReconnectSchedule`) and the OIDC token requests' retries
 * (`AuthOidc.defaultRetrySchedule`): one policy, so a broker and its identity provider coming back
 * after an outage are retried at the same pace.
 */
export const schedule: Schedule.Schedule<unknown, unknown> = Schedule.min([
  Schedule.exponential("500 millis", 1.5),
  Schedule.spaced("30 seconds")
]).pipe(Schedule.jittered)
