/**
 * The SDK's benchmarks against raw mqtt.js, on a mosquitto of their own on loopback:
 *
 *   pnpm bench            the full run (a few minutes)
 *   pnpm bench --quick    fewer messages and rounds (under a minute)
 *   pnpm -s bench --json  one JSON object on standard output (-s keeps pnpm's banner out of it)
 *   pnpm bench --out f    the tables, and the JSON saved to the file f
 *
 * Progress goes to standard error. Never part of the test suite: the numbers depend on the machine.
 * Besides the runtime figures, the size a user ships: a minimal app bundled and minified (`bundle.ts`).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { startMosquitto } from "../../sdk/test/support/Mosquitto.js"
import { browserBundleSize, bundleSize } from "./bundle.js"
import type { ColdStart } from "./coldStart.js"
import type { Costs } from "./costs.js"
import type { LatencyResult } from "./latency.js"
import { envelopeBytes, type MemoryRun } from "./memory.js"
import { persistent } from "./persistent.js"
import { report, table } from "./report.js"
import { startSubscriber } from "./subscriber.js"
import { progress, round } from "./support.js"
import { throughput } from "./throughput.js"
import { userPath, type UserPathResult } from "./userPath.js"

// Effect 4, vitest 5 and the workspace want Node 22.12 or later; the published figures are Node 24's.
// The children below run on this same Node (`process.execPath`), so one check covers them all.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`[bench] Node ${process.version} is too old: run it on Node 24 (>= 22.12), first on PATH\n`)
  process.exit(1)
}

const args = new Set(process.argv.slice(2))
const quick = args.has("--quick")
const json = args.has("--json")
const here = path.dirname(fileURLToPath(import.meta.url))

const settings = quick
  ? { messages: 10_000, rounds: 3, latencySeconds: 3, memory: [100_000], persistent: 1_000, coldStarts: 1 }
  : { messages: 50_000, rounds: 5, latencySeconds: 10, memory: [100_000, 1_000_000], persistent: 5_000, coldStarts: 3 }
const maxInFlight = 1000

/**
 * Runs `child.ts` in a fresh Node (the same binary, with the same tsx loader flags) and parses the JSON line
 * it prints.
 */
const child = <A>(nodeFlags: ReadonlyArray<string>, childArgs: ReadonlyArray<string>): Promise<A> =>
  new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [...process.execArgv, ...nodeFlags, path.join(here, "child.ts"), ...childArgs],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, TSX_TSCONFIG_PATH: path.resolve(here, "../tsconfig.json") }
      }
    )
    let output = ""
    proc.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8")
    })
    proc.on("error", reject)
    proc.on("close", (code) => {
      const line = output.trim().split("\n").pop() ?? ""
      if (code !== 0) return reject(new Error(`benchmark child ${childArgs.join(" ")} exited with ${code}`))
      try {
        resolve(JSON.parse(line) as A)
      } catch {
        reject(new Error(`benchmark child ${childArgs.join(" ")} printed no result: ${output}`))
      }
    })
  })

const machine = {
  cpu: os.cpus()[0]?.model.trim() ?? "unknown",
  cpus: os.cpus().length,
  memory_gib: round(os.totalmem() / 2 ** 30, 1),
  node: process.version,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  load_average_at_start: os.loadavg().map((load) => round(load, 2))
}

// First, with no broker or SDK running: only the bundlers' work on the built package.
progress("bundle: the minimal app, minified for Node")
const bundle = await bundleSize()
progress("bundle: the minimal page app, minified for the browser with esbuild and Vite")
const browserBundle = await browserBundleSize()

// The user path's subscriber must receive every message: no cap on what mosquitto queues for it.
const broker = await startMosquitto({ extraConfig: "max_queued_messages 0\n" })
const brokerUrl = broker.url("mqtt")
progress(`mosquitto on ${brokerUrl}; ${quick ? "quick" : "full"} run`)

let result
try {
  const envelope = envelopeBytes()
  progress("costs: making a message, sendMessage through each API")
  const costs = await child<Costs>([], ["costs"])
  progress(`costs: ${JSON.stringify(costs)}`)
  const subscriber = await startSubscriber(brokerUrl)
  let user: UserPathResult
  try {
    user = await userPath(brokerUrl, subscriber, { messages: settings.messages, rounds: settings.rounds, maxInFlight })
  } finally {
    subscriber.close()
  }
  const rate = await throughput(brokerUrl, { messages: settings.messages, rounds: settings.rounds, maxInFlight })
  // Half the capacity of the user's path with the Effect API, the API the latency run sends with.
  const latencyRate = user.effect_msgs_per_s / 2
  progress(`latency at ${round(latencyRate)} messages/s for ${settings.latencySeconds} s`)
  // In a fresh process: the throughput rounds leave this one's heap full of their envelopes, and the
  // major GCs that clearing it takes would land in the latency run.
  const delay = await child<LatencyResult>([], [
    "latency",
    brokerUrl,
    String(latencyRate),
    String(settings.latencySeconds),
    String(maxInFlight)
  ])
  const memory: Array<MemoryRun> = []
  for (const count of settings.memory) {
    progress(`memory: ${count} messages queued while the broker is down`)
    memory.push(await child<MemoryRun>(["--expose-gc", "--max-old-space-size=8192"], ["memory", String(count)]))
  }
  progress("persistent queue")
  const sql = await persistent(brokerUrl, { messages: settings.persistent })
  const coldStarts: Array<ColdStart> = []
  for (let i = 0; i < settings.coldStarts; i++) {
    coldStarts.push(await child<ColdStart>([], ["cold-start", brokerUrl]))
  }
  result = report(
    { bundle, browserBundle, envelope, user, costs, rate, delay, memory, sql, coldStarts },
    { mode: quick ? "quick" : "full", machine }
  )
} finally {
  await broker.dispose()
}

if (json) process.stdout.write(`${JSON.stringify(result)}\n`)
else process.stdout.write(table(result))
// `--out <file>`: the JSON also saved, so that one run gives both the tables and the figures.
const out = process.argv.indexOf("--out")
if (out !== -1 && process.argv[out + 1] !== undefined) {
  fs.writeFileSync(process.argv[out + 1]!, `${JSON.stringify(result, null, 2)}\n`)
}
