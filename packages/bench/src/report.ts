/**
 * The bench's report: its figures as one JSON object (`report`), and that object as the Markdown tables
 * `pnpm bench` prints (`table`), a section each, in the order RESULTS.md quotes them. Kept apart from the
 * runs (`main.ts`) so that `test/report.test.ts` can render a recorded run's JSON without running one.
 */
import * as os from "node:os"
import type { BrowserBundleSize, BundleSize } from "./bundle.js"
import type { ColdStart } from "./coldStart.js"
import type { Costs } from "./costs.js"
import type { LatencyResult } from "./latency.js"
import type { MemoryRun } from "./memory.js"
import { type PersistentResult, summarize as summarizeSqlite } from "./persistent.js"
import { median, round } from "./support.js"
import type { ThroughputResult } from "./throughput.js"
import type { UserPathResult } from "./userPath.js"

export interface Inputs {
  readonly bundle: BundleSize
  readonly browserBundle: BrowserBundleSize
  readonly envelope: number
  readonly user: UserPathResult
  readonly costs: Costs
  readonly rate: ThroughputResult
  readonly delay: LatencyResult
  readonly memory: ReadonlyArray<MemoryRun>
  readonly sql: PersistentResult | undefined
  readonly coldStarts: ReadonlyArray<ColdStart>
}

/** Where and how the bench ran. */
export interface Context {
  readonly mode: "quick" | "full"
  readonly machine: {
    readonly cpu: string
    readonly cpus: number
    readonly memory_gib: number
    readonly node: string
    readonly platform: string
    readonly load_average_at_start: ReadonlyArray<number>
  }
}

/** The run's figures as one JSON-able object, with the targets met or missed. */
export function report(
  { browserBundle, bundle, coldStarts, costs, delay, envelope, memory, rate, sql, user }: Inputs,
  { machine, mode }: Context
) {
  const largest = memory[memory.length - 1]!
  const coldMedian = (key: keyof ColdStart) => round(median(coldStarts.map((run) => run[key])), 1)
  const coldStart: ColdStart = {
    boot_ms: coldMedian("boot_ms"),
    import_ms: coldMedian("import_ms"),
    start_ms: coldMedian("start_ms"),
    first_puback_ms: coldMedian("first_puback_ms"),
    total_ms: coldMedian("total_ms")
  }
  const sqlite = sql === undefined ? null : summarizeSqlite(sql)
  return {
    date: new Date().toISOString(),
    mode,
    machine: { ...machine, load_average_at_end: os.loadavg().map((load) => round(load, 2)) },
    envelope_bytes: envelope,
    /** The headline: a new message per event, to the last PUBACK, against raw mqtt.js doing the same. */
    user_path: user,
    construct_us: costs.construct_us,
    send_us: costs.send_us,
    costs,
    alloc_bytes_per_msg: delay.alloc_bytes_per_msg,
    sqlite,
    /** The pooled path: messages made up front and sent over and over (the delivery half, diagnostic). */
    throughput: rate,
    latency: delay,
    memory: {
      envelope_bytes: envelope,
      bytes_per_queued_message: largest.bytes_per_queued_message,
      ratio_to_envelope: round(largest.bytes_per_queued_message / envelope, 2),
      runs: memory
    },
    persistent: sql ?? null,
    cold_start: { ...coldStart, runs: coldStarts.length },
    bundle: {
      node: { min_bytes: bundle.min_bytes, min_gzip_bytes: bundle.min_gzip_bytes },
      browser: {
        min_bytes: browserBundle.min_bytes,
        min_gzip_bytes: browserBundle.min_gzip_bytes,
        vite: browserBundle.vite
      }
    },
    targets: {
      user_path_ratio_at_least_0_9: user.ratio >= 0.9,
      construct_at_most_3_us: costs.construct_us <= 3,
      send_over_effect_at_most_3_us: costs.send_us <= 3,
      p99_latency_under_5_ms: delay.p99_ms < 5,
      heap_per_queued_message_at_most_1_5_envelopes: largest.bytes_per_queued_message <= 1.5 * envelope,
      sqlite_enqueue_at_least_50k_per_s: sqlite !== null && sqlite.enqueue_per_s >= 50_000,
      sqlite_delivery_at_least_0_8_of_memory: sqlite !== null && sqlite.delivery_ratio >= 0.8,
      // esbuild's bundle, minified and gzipped; a KB is 1,000 bytes.
      browser_bundle_at_most_150_kb: browserBundle.min_gzip_bytes <= 150_000,
      // Today's keys, kept.
      throughput_ratio_at_least_0_9: rate.ratio >= 0.9,
      heap_per_queued_message_at_most_2_5_envelopes: largest.bytes_per_queued_message <= 2.5 * envelope,
      p99_latency_under_20_ms: delay.p99_ms < 20
    }
  }
}

export type Report = ReturnType<typeof report>

const row = (cells: ReadonlyArray<string | number>) => `| ${cells.join(" | ")} |`
const head = (cells: ReadonlyArray<string>) => [row(cells), row(cells.map(() => "---"))]
const mark = (ok: boolean) => (ok ? "met" : "MISSED")

/** The report as Markdown tables, a section each, in the order RESULTS.md quotes them. */
export function table(r: Report): string {
  return [
    ...machineLines(r),
    ...userPathLines(r),
    ...costLines(r),
    ...pooledLines(r),
    ...latencyLines(r),
    ...memoryLines(r),
    ...persistentLines(r),
    ...sizeLines(r),
    ...targetLines(r)
  ].join("\n")
}

/** Where and when the run was made. */
function machineLines(r: Report): Array<string> {
  return [
    `StellaNow SDK benchmarks (${r.mode}), ${r.date}`,
    `Machine: ${r.machine.cpus} × ${r.machine.cpu}, ${r.machine.memory_gib} GiB, Node ${r.machine.node}, ` +
    `${r.machine.platform}; load average at start ${r.machine.load_average_at_start.join(" ")}, ` +
    `at end ${r.machine.load_average_at_end.join(" ")}`,
    `Broker: mosquitto on loopback. Message: the seed's UserDetailsUpdateMessage, ${r.envelope_bytes}-byte envelope.`,
    ""
  ]
}

/** The headline: the README's loop against raw mqtt.js. */
function userPathLines(r: Report): Array<string> {
  const u = r.user_path
  return [
    `The user's path: ${u.messages} events, a new message made per event (the README's loop), ` +
    `${u.maxInFlight} in flight, to the last PUBACK; a QoS 1 subscriber had every message of every run`,
    "",
    ...head(["round", "await sdk.sendMessage msg/s", "Effect API msg/s", "raw mqtt.js msg/s", "SDK/raw", "Effect/raw"]),
    ...u.rounds.map((x, i) =>
      row([
        i + 1,
        round(x.sdk.msgsPerSecond),
        round(x.effect.msgsPerSecond),
        round(x.raw.msgsPerSecond),
        round(x.sdk.msgsPerSecond / x.raw.msgsPerSecond, 2),
        round(x.effect.msgsPerSecond / x.raw.msgsPerSecond, 2)
      ])
    ),
    row(["**median**", u.sdk_msgs_per_s, u.effect_msgs_per_s, u.raw_msgs_per_s, `**${u.ratio}**`, u.effect_ratio]),
    row([
      "CPU µs/msg",
      u.sdk_cpu_us_per_msg,
      u.effect_cpu_us_per_msg,
      u.raw_cpu_us_per_msg,
      round(u.raw_cpu_us_per_msg / u.sdk_cpu_us_per_msg, 2),
      round(u.raw_cpu_us_per_msg / u.effect_cpu_us_per_msg, 2)
    ]),
    "",
    `SDK/raw of single rounds: ${u.ratio_range[0]} to ${u.ratio_range[1]}. The CPU row's ratios are raw's ` +
    "CPU per message over the SDK's (this process only, mosquitto apart): steadier than rates on a busy machine.",
    ""
  ]
}

/** Making a message and sending it, apart. */
function costLines(r: Report): Array<string> {
  return [
    "Costs apart (no broker; this process's CPU time per call, the median of batches of 20,000; wall time " +
    "in the JSON): making one message with its model; sendMessage of a message made up front; bytes allocated",
    "",
    ...head([
      "construct µs",
      "await sdk.sendMessage µs",
      "Effect API sendMessage µs",
      "front door over Effect µs",
      "construct B",
      "sendMessage B"
    ]),
    row([
      r.costs.construct_us,
      r.costs.send_facade_us,
      r.costs.send_effect_us,
      r.costs.send_us,
      r.costs.construct_alloc_bytes,
      r.costs.send_alloc_bytes
    ]),
    ""
  ]
}

/** The delivery half alone (diagnostic). */
function pooledLines(r: Report): Array<string> {
  const t = r.throughput
  return [
    `Diagnostic, the delivery half alone: ${t.messages} QoS 1 messages from a pool made up front, ` +
    `${t.maxInFlight} in flight, sendMessage to the last PUBACK, against raw mqtt.js sending the pool's bodies`,
    "",
    ...head(["round", "SDK msg/s", "raw mqtt.js msg/s", "SDK/raw", "SDK CPU µs/msg", "raw CPU µs/msg"]),
    ...t.rounds.map((x, i) =>
      row([
        i + 1,
        round(x.sdk.msgsPerSecond),
        round(x.raw.msgsPerSecond),
        round(x.sdk.msgsPerSecond / x.raw.msgsPerSecond, 2),
        round(x.sdk.cpuMicrosPerMessage, 1),
        round(x.raw.cpuMicrosPerMessage, 1)
      ])
    ),
    row([
      "**median**",
      t.sdk_msgs_per_s,
      t.raw_msgs_per_s,
      `**${t.ratio}**`,
      t.sdk_cpu_us_per_msg,
      t.raw_cpu_us_per_msg
    ]),
    "",
    `SDK/raw of single rounds: ${t.ratio_range[0]} to ${t.ratio_range[1]}.`,
    "",
    "The SDK's two halves apart (median): the messages queued before `start`, then delivered",
    "",
    ...head(["sendMessage CPU µs/msg", "backlog delivery msg/s", "delivery/raw", "delivery CPU µs/msg"]),
    row([t.sdk_send_cpu_us_per_msg, t.sdk_drain_msgs_per_s, t.drain_ratio, t.sdk_drain_cpu_us_per_msg]),
    ""
  ]
}

/** Latency and allocation at half capacity. */
function latencyLines(r: Report): Array<string> {
  return [
    `Latency: sendMessage to PUBACK at ${r.latency.rate_per_s} msg/s (half the user path's capacity with ` +
    `the Effect API), a new message per event, ${r.latency.messages} messages after a warm-up; ` +
    "allocation per message at that rate (V8's GCProfiler)",
    "",
    ...head([
      "",
      "p50 ms",
      "p99 ms",
      "max ms",
      "CPU µs/msg",
      "allocated B/msg",
      "GCs (full)",
      "GC pauses ms (longest)",
      "event-loop delay p99 ms (max)"
    ]),
    ...[["SDK", r.latency] as const, ["raw mqtt.js", r.latency.raw] as const].map(([name, l]) =>
      row([
        name,
        l.p50_ms,
        l.p99_ms,
        l.max_ms,
        l.cpu_us_per_msg,
        l.alloc_bytes_per_msg,
        `${l.gcs} (${l.major_gcs})`,
        `${l.gc_pause_ms} (${l.gc_max_pause_ms})`,
        `${l.loop_delay_p99_ms} (${l.loop_delay_max_ms})`
      ])
    ),
    ""
  ]
}

/** Heap per queued message. */
function memoryLines(r: Report): Array<string> {
  return [
    "Memory: heap per message queued while the broker is down (after full GCs)",
    "",
    ...head(["queued", "heap growth MiB", "bytes/message", "× envelope"]),
    ...r.memory.runs.map((m) =>
      row([
        m.queued,
        round(m.heap_bytes / 2 ** 20, 1),
        m.bytes_per_queued_message,
        round(m.bytes_per_queued_message / r.envelope_bytes, 2)
      ])
    ),
    ""
  ]
}

/** The persistent queues, when @stellanow/sdk-sql is in the workspace. */
function persistentLines(r: Report): Array<string> {
  const title = [
    r.persistent === null
      ? "Persistent queue: n/a (@stellanow/sdk-sql is not in the workspace)"
      : `Persistent queue: ${r.persistent.messages} messages`,
    ""
  ]
  if (r.persistent === null) return title
  return [
    ...title,
    ...head(["queue", "enqueue msg/s (1 caller)", "enqueue msg/s (64 callers)", "delivery msg/s"]),
    ...r.persistent.runs.map((q) =>
      row([q.queue, q.enqueue_msgs_per_s, q.enqueue_concurrent_msgs_per_s, q.delivery_msgs_per_s])
    ),
    ""
  ]
}

/** Cold start and bundle sizes. */
function sizeLines(r: Report): Array<string> {
  const c = r.cold_start
  return [
    `Cold start (median of ${c.runs}, the built packages): Node and tsx boot ${c.boot_ms} ms, ` +
    `import ${c.import_ms} ms, start ${c.start_ms} ms, first PUBACK ${c.first_puback_ms} ms; ` +
    `${c.total_ms} ms from process start`,
    "",
    "Bundle: the minimal app (one message class, `configureSdk`, one event), esbuild --bundle --minify, " +
    "effect, mqtt and nanoid included; for the browser, the minimal page app (examples/browser/src/minimal.ts, " +
    "`configureBrowserSdk` with a token provider) with esbuild and with Vite's production build",
    "",
    ...head(["platform", "minified bytes", "minified + gzip bytes"]),
    row(["node", r.bundle.node.min_bytes, r.bundle.node.min_gzip_bytes]),
    row(["browser (esbuild)", r.bundle.browser.min_bytes, r.bundle.browser.min_gzip_bytes]),
    row(["browser (Vite)", r.bundle.browser.vite.min_bytes, r.bundle.browser.vite.min_gzip_bytes]),
    ""
  ]
}

/** The targets, met or missed. */
function targetLines(r: Report): Array<string> {
  const t = r.throughput
  const u = r.user_path
  return [
    ...head(["target", "measured", ""]),
    row(["user path, await sdk.sendMessage / raw ≥ 0.9", u.ratio, mark(r.targets.user_path_ratio_at_least_0_9)]),
    row(["making the seed's message ≤ 3 µs", `${r.construct_us} µs`, mark(r.targets.construct_at_most_3_us)]),
    row([
      "await sdk.sendMessage ≤ 3 µs over the Effect API",
      `${r.send_us} µs`,
      mark(r.targets.send_over_effect_at_most_3_us)
    ]),
    row(["p99 latency < 5 ms at half capacity", `${r.latency.p99_ms} ms`, mark(r.targets.p99_latency_under_5_ms)]),
    row(["allocation per message (halve it)", `${r.alloc_bytes_per_msg} B`, ""]),
    row([
      `heap per queued message ≤ 1.5 × ${r.envelope_bytes} B = ${round(1.5 * r.envelope_bytes)} B`,
      `${r.memory.bytes_per_queued_message} B`,
      mark(r.targets.heap_per_queued_message_at_most_1_5_envelopes)
    ]),
    row([
      "SQLite (synchronous full) enqueue ≥ 50,000/s, 64 callers",
      r.sqlite === null ? "n/a" : `${r.sqlite.enqueue_per_s}/s`,
      mark(r.targets.sqlite_enqueue_at_least_50k_per_s)
    ]),
    row([
      "SQLite delivery ≥ 0.8 × memory",
      r.sqlite === null ? "n/a" : r.sqlite.delivery_ratio,
      mark(r.targets.sqlite_delivery_at_least_0_8_of_memory)
    ]),
    row([
      "PostgreSQL enqueue, 64 callers; delivery × memory (beside them)",
      r.sqlite?.postgres_enqueue_per_s == null
        ? "n/a"
        : `${r.sqlite.postgres_enqueue_per_s}/s; ${r.sqlite.postgres_delivery_ratio}`,
      ""
    ]),
    row([
      "browser app minified + gzipped ≤ 150 KB (esbuild)",
      `${round(r.bundle.browser.min_gzip_bytes / 1000, 1)} KB`,
      mark(r.targets.browser_bundle_at_most_150_kb)
    ]),
    row(["pooled throughput SDK/raw ≥ 0.9 (diagnostic)", t.ratio, mark(r.targets.throughput_ratio_at_least_0_9)]),
    ""
  ]
}
