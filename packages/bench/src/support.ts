/**
 * What every benchmark section shares: the SDK layer against a broker, quiet logging on standard
 * error, small statistics, timing and CPU helpers.
 */
import { type ConfigurationError, Environment, type StellaNow, StellaNowLive, type StoreError } from "@stellanow/sdk"
import { Effect, Layer, Logger, References } from "effect"
import * as v8 from "node:v8"
import { project } from "./messages.js"

/** The SDK's warnings and errors go to standard error, so `--json` keeps standard output clean. */
export const quietLogs: Layer.Layer<never> = Layer.merge(
  Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)]),
  Layer.succeed(References.MinimumLogLevel, "Error")
)

/** The SDK, as a user would set it up, against `brokerUrl`. */
export const sdkLayer = (
  brokerUrl: string,
  options: Partial<StellaNowLive.Settings> = {}
): Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError> =>
  StellaNowLive.layer({
    auth: "none",
    environment: Environment.custom({ brokerUrl }),
    ...project,
    ...options
  })

/** Runs an Effect program of the benchmarks, with quiet logs. */
export const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, quietLogs))

/**
 * Counts what the heap allocates from now until the returned function is called. V8's `GCProfiler`
 * reports the heap's used size before and after every collection in between, so what was allocated is
 * what is used at the end, minus what was used at the start, plus what every collection freed: exact,
 * where `--trace-gc`'s lines are rounded, and for the whole process (whatever else runs meanwhile).
 */
export const allocationMeter = () => {
  const profiler = new v8.GCProfiler()
  const usedAtStart = v8.getHeapStatistics().used_heap_size
  profiler.start()
  return () => {
    const usedAtEnd = v8.getHeapStatistics().used_heap_size
    const { statistics } = profiler.stop()
    const freed = statistics.reduce(
      (sum, gc) => sum + gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize,
      0
    )
    return {
      allocated: usedAtEnd - usedAtStart + freed,
      gcs: statistics.length,
      /** Full (mark-compact) collections: the long pauses. */
      majorGcs: statistics.filter((gc) => gc.gcType === "MarkSweepCompact").length,
      pauseMs: statistics.reduce((sum, gc) => sum + gc.cost / 1000, 0),
      maxPauseMs: statistics.reduce((max, gc) => Math.max(max, gc.cost / 1000), 0)
    }
  }
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The `p`-th percentile (0 to 100) by nearest rank. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/** Microseconds of CPU (user and system) this process used since `since`. */
export const cpuMicros = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since)
  return used.user + used.system
}

/** Logs progress on standard error. */
export const progress = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`)
}

export const round = (value: number, digits = 0): number => Number(value.toFixed(digits))
