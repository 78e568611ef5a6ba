/**
 * The SDK's Node build under Deno and Bun: the tarball `globalSetup.ts` packed is installed with npm into
 * a fresh project outside the workspace, and `runtimes/smoke.ts` runs there under each runtime, as a
 * user's program would. It sends 100 `UserDetailsUpdateMessage`s to a real mosquitto over `mqtt://` and
 * 100 over `ws://`, stops with a drain and exits by itself; a QoS 1 subscriber here counts what arrived.
 * Node runs the same program first, as the baseline.
 *
 * Deno and Bun come from `.tools/runtimes` (`npm test` installs them there, see `scripts/setup.mjs`) or
 * PATH. When one is missing the test is skipped, saying so; under CI=true it fails instead.
 */
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Mosquitto, startMosquitto, subscribe } from "../support/Mosquitto.js"
import { env, packageDirs, readJson, run } from "./support/Project.js"
import { bun, deno, findRuntime, node, type Runtime, runtimeVersion } from "./support/Runtimes.js"
import { tarballs } from "./support/Tarballs.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const inCi = process.env.CI === "true"
/** A run takes a few seconds; the bound is for a runtime that hangs (a socket or timer left open). */
const programTimeoutMs = 90_000

interface SmokeResult {
  readonly brokerUrl: string
  readonly organizationId: string
  readonly ids: ReadonlyArray<string>
  readonly remaining: number
}

interface Exited {
  readonly code: number | string | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to its end, never rejecting: its exit code (or the signal, on a timeout) and output. */
const runProgram = (binary: string, args: ReadonlyArray<string>, cwd: string, extra: NodeJS.ProcessEnv) =>
  new Promise<Exited>((resolve) => {
    execFile(
      binary,
      args,
      { cwd, env: { ...env, ...extra }, timeout: programTimeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : error.code ?? error.signal ?? null, stdout, stderr })
    )
  })

/** A fresh project with the packed SDK and its `effect` installed by npm, and the smoke program in it. */
const makeProject = async (tmp: string): Promise<string> => {
  const dir = path.join(tmp, "smoke")
  await fs.mkdir(path.join(dir, "src"), { recursive: true })
  await fs.writeFile(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "stellanow-smoke", version: "0.0.0", private: true, type: "module" }, null, 2)
  )
  const sdk = await readJson<{ readonly devDependencies: Record<string, string> }>(
    path.join(packageDirs.sdk, "package.json")
  )
  await run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--loglevel=error", tarballs().sdk, `effect@${sdk.devDependencies.effect}`],
    { cwd: dir }
  )
  await fs.copyFile(path.join(here, "runtimes", "smoke.ts"), path.join(dir, "src", "smoke.ts"))
  return dir
}

/** The message ids that arrived on `in/{organizationId}`, each once. */
const arrivedIds = (
  messages: ReadonlyArray<{ readonly topic: string; readonly payload: Buffer }>,
  organizationId: string
): Set<string> =>
  new Set(
    messages
      .filter((message) => message.topic === `in/${organizationId}`)
      .map((message) => JSON.parse(message.payload.toString("utf8")).value.metadata.messageId as string)
  )

describe("the packed SDK under Deno and Bun", () => {
  let tmp: string
  let project: string
  let broker: Mosquitto

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "stellanow-runtimes-"))
    ;[project, broker] = await Promise.all([makeProject(tmp), startMosquitto({ websockets: true })])
  }, 180_000)

  afterAll(async () => {
    await broker?.dispose()
    if (tmp !== undefined) await fs.rm(tmp, { recursive: true, force: true })
  })

  /** Runs the smoke program under `runtime` and checks what the broker delivered. */
  const smoke = async (runtime: Runtime, binary: string) => {
    const urls = [broker.url("mqtt"), broker.url("ws")]
    const organizations = urls.map(() => randomUUID())
    const subscriber = await subscribe(broker.url("mqtt"), "in/#")
    try {
      const exited = await runProgram(binary, runtime.args("src/smoke.ts"), project, {
        ...runtime.env(project),
        BROKER_URLS: urls.join(","),
        ORGANIZATION_IDS: organizations.join(",")
      })
      const output = `${runtime.name} printed:\n${exited.stdout}\n${exited.stderr}`
      expect(exited.code, output).toBe(0)
      const { results } = JSON.parse(exited.stdout.trim().split("\n").at(-1)!) as {
        readonly results: ReadonlyArray<SmokeResult>
      }
      expect(results.map((result) => result.brokerUrl)).toEqual(urls)
      for (const result of results) {
        expect(result.remaining, result.brokerUrl).toBe(0)
        expect(new Set(result.ids).size, result.brokerUrl).toBe(100)
      }
      // Each was acknowledged (the drain left none), so the broker delivers all 200 to a QoS 1 subscriber.
      await subscriber.waitFor(200, 30_000)
      for (const result of results) {
        expect(arrivedIds(subscriber.messages, result.organizationId), result.brokerUrl).toEqual(new Set(result.ids))
      }
    } finally {
      await subscriber.close()
    }
  }

  it.for([node, deno, bun])(
    "$name runs it: 100 messages over mqtt:// and 100 over ws://, drained",
    { timeout: 150_000 },
    async (runtime, { annotate, skip }) => {
      const binary = findRuntime(runtime)
      if (binary === undefined) {
        const missing = `${runtime.binary} is not installed (looked in .tools/runtimes and on PATH): run ` +
          `"npm test" from the repository's root, which installs it (scripts/setup.mjs)`
        if (inCi) throw new Error(`${missing}; under CI=true the smoke test must run`)
        console.warn(`SKIPPED: ${missing}`)
        return skip(missing)
      }
      await annotate(`${runtime.name} ${runtimeVersion(binary)} (${binary})`)
      await smoke(runtime, binary)
    }
  )
})
