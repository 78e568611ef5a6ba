/**
 * The SDK's spans and metrics, exported with OpenTelemetry through `@effect/opentelemetry`.
 *
 * The SDK traces its public operations (`StellaNow.start`, `StellaNow.connect`, `StellaNow.sendMessage`,
 * `StellaNow.publish`, `StellaNow.stop`, …) and keeps `stellanow_*` metrics (see `Metrics`). They are
 * Effect spans and metrics: provide `NodeSdk.layer` and they reach any OpenTelemetry exporter. Here the
 * exporters print to the console; for a collector, swap them for `OTLPTraceExporter` and
 * `OTLPMetricExporter` from `@opentelemetry/exporter-*-otlp-http`, or use `Otlp.layer` of
 * `effect/observability` (Effect's own OTLP exporter over `effect/http`), which needs no OpenTelemetry
 * SDK at all.
 *
 * It runs against an embedded broker and exits by itself: closing the telemetry layer flushes the last
 * spans and does a final metrics export.
 */
import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import * as OtelResource from "@effect/opentelemetry/Resource"
import { ConsoleMetricExporter, PeriodicExportingMetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, ConsoleSpanExporter } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { Environment, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Effect, Layer } from "effect"
import { startEmbeddedBroker } from "./embedded-broker.js"
import { PhoneNumberModel, UserDetailsUpdateMessage } from "./messages/index.js"

/**
 * The console exporter, showing the SDK's `stellanow_*` metrics only: not the other metrics of the
 * registry (Effect's fiber runtime metrics, when enabled, or the application's own).
 */
class StellaNowMetricExporter extends ConsoleMetricExporter {
  override export(metrics: ResourceMetrics, resultCallback: Parameters<ConsoleMetricExporter["export"]>[1]): void {
    const scopeMetrics = metrics.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.filter((metric) => metric.descriptor.name.startsWith("stellanow_"))
    }))
    super.export({ ...metrics, scopeMetrics }, resultCallback)
  }
}

/**
 * Spans and metrics to the console. This is what
 *
 * ```ts
 * NodeSdk.layer(() => ({
 *   resource: { serviceName: "stellanow-telemetry-example" },
 *   spanProcessor: new BatchSpanProcessor(new ConsoleSpanExporter()),
 *   metricReader: new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter() })
 * }))
 * ```
 *
 * builds, spelled out: `@effect/opentelemetry/NodeSdk` also loads its log bridge, which needs the
 * `@opentelemetry/sdk-logs` peer dependency, and this example does not install it.
 */
const TracerProviderLive = Layer.effect(
  OtelTracer.OtelTracerProvider,
  Effect.gen(function*() {
    const resource = yield* OtelResource.Resource
    return yield* Effect.acquireRelease(
      Effect.sync(() =>
        new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new ConsoleSpanExporter())] })
      ),
      // Flushes the batch of spans not yet exported, within a deadline.
      (provider) =>
        Effect.tryPromise(() => provider.forceFlush().then(() => provider.shutdown())).pipe(
          Effect.ignore({ log: true }),
          Effect.interruptible,
          Effect.timeoutOption("3 seconds")
        )
    )
  })
)

const TelemetryLive: Layer.Layer<OtelTracer.OtelTracer> = Layer.mergeAll(
  Layer.provide(OtelTracer.layer, TracerProviderLive),
  // Exports every 10 s, and once more when the layer closes.
  OtelMetrics.layer(() =>
    new PeriodicExportingMetricReader({ exporter: new StellaNowMetricExporter(), exportIntervalMillis: 10_000 })
  )
).pipe(
  Layer.provide(OtelResource.layer({ serviceName: "stellanow-telemetry-example", serviceVersion: "0.1.0" }))
)

const program = Effect.gen(function*() {
  yield* StellaNow.start
  const message = (i: number) =>
    new UserDetailsUpdateMessage({
      patron: "12345",
      user_id: `user_${i}`,
      phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
    })
  // Queued, sent in the background: spans `StellaNow.sendMessage`, then `StellaNow.publish`.
  for (let i = 0; i < 3; i++) yield* StellaNow.sendMessage(message(i))
  // Queued and awaited until the broker acknowledged it: `StellaNow.sendMessageAndWait`.
  const sdk = yield* StellaNow.StellaNow
  const messageId = yield* sdk.sendMessageAndWait(message(3))
  yield* Effect.log(`acknowledged ${messageId}`)
  const { remaining } = yield* StellaNow.stop({ drainTimeout: "5 seconds" })
  yield* Effect.log(`stopped with ${remaining} message(s) left; flushing telemetry`)
})

const main = Effect.gen(function*() {
  const broker = yield* Effect.acquireRelease(
    Effect.promise(() => startEmbeddedBroker({ print: false })),
    (b) => Effect.promise(() => b.close())
  )
  const StellaNowLayer = StellaNowLive.layer({
    auth: "none",
    environment: Environment.custom({ brokerUrl: broker.url }),
    // aedes speaks MQTT 3.1.1; the platform and mosquitto speak MQTT 5, the default.
    protocolVersion: 4,
    organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
    projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
  })
  yield* program.pipe(Effect.provide(Layer.fresh(StellaNowLayer)))
}).pipe(
  // One trace for the whole run: the SDK's spans are its children.
  Effect.withSpan("telemetry-example"),
  Effect.scoped,
  // Outermost, so it closes last: after the SDK stopped and the broker closed.
  Effect.provide(TelemetryLive)
)

Effect.runPromise(main).catch((error) => {
  console.error(error)
  process.exit(1)
})
