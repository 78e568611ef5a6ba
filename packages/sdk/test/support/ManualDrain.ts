/**
 * The drain's tests' shared parts: a sink whose publish outcomes the test reports, the drain's options
 * with defaults a test overrides where it matters, and a way to let every runnable fiber run.
 */
import { DeadLetters, type MessageQueue, Sink, type StellaNowError } from "@stellanow/sdk"
import { Effect, type Exit, Scope, SubscriptionRef } from "effect"
import * as Drain from "../../src/internal/drain.js"
import * as MetricSeries from "../../src/internal/metricSeries.js"
import * as Refusals from "../../src/internal/refusals.js"

/** Lets every fiber that can run do so. */
export const settleFibers = Effect.repeat(Effect.yieldNowWith(1), { times: 20 })

/** A sink that is always ready and leaves each publish's outcome to the test. */
export const manualSink = Effect.gen(function*() {
  const reported = new Map<string, (exit: Exit.Exit<void, StellaNowError.PublishError>) => void>()
  const published: Array<string> = []
  const sink = Sink.make({
    clientId: "manual",
    destination: "manual://test",
    state: yield* SubscriptionRef.make<Sink.ConnectionState>(Sink.ConnectionState.Idle()),
    run: Effect.never,
    awaitReady: Effect.void,
    publish: () => Effect.die("the drain publishes through the publisher"),
    publisher: Effect.succeed((envelope, onSettled) => {
      published.push(envelope.messageId)
      reported.set(envelope.messageId, onSettled)
    })
  })
  return { sink, reported, published }
})

/**
 * Starts the drain over `queue` and `sink` in a scope of its own, the ids it acknowledges pushed onto
 * `acknowledged`; `overrides` replaces any other option (`maxInFlight` 10, `maxAttempts` 5, dead letters
 * in memory, told to no one, by default).
 */
export const startDrain = (
  queue: MessageQueue.Service,
  sink: Sink.Service,
  acknowledged: Array<string> = [],
  overrides: Partial<Drain.Options> = {}
) =>
  Effect.gen(function*() {
    const series = (yield* MetricSeries.maker)({ client_id: "manual" })
    const scope = yield* Scope.make()
    const drain = yield* Drain.start({
      sink,
      queue,
      maxInFlight: 10,
      series,
      failureSeries: () => series,
      acknowledged: (leases) => Effect.sync(() => acknowledged.push(...leases.map((l) => l.envelope.messageId))),
      maxAttempts: 5,
      refusals: Refusals.make(),
      deadLetters: yield* DeadLetters.makeMemory(),
      deadLettered: () => Effect.void,
      ...overrides
    }, scope)
    return { drain, scope }
  })
