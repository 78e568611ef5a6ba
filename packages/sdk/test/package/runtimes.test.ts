/**
 * The SDK's Node build under Deno and Bun: the tarballs `globalSetup.ts` packed are installed with npm
 * into a fresh project outside the workspace, and `runtimes/smoke.ts` runs there under each runtime, as
 * a user's program would. It sends 100 `UserDetailsUpdateMessage`s to a real mosquitto for each of:
 * `mqtt://`, `ws://`, an OIDC login at a real token server, the SQLite queue of `@stellanow/sdk-sql`,
 * and the browser entry's own MQTT client over the runtime's `WebSocket`, to `ws://` and to `wss://`
 * (the broker's certificate from a CA made at test time, trusted through the runtime's variable);
 * each time it stops with a drain, and at the end it exits by itself. A QoS 1 subscriber here counts
 * the distinct message ids that arrived. Node runs the same program first, as the baseline.
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
import { startTokenServer } from "../oidc/support/TokenServer.js"
import { type Mosquitto, startMosquitto, subscribe } from "../support/Mosquitto.js"
import { env, packageDirs, readJson, run } from "./support/Project.js"
import { bun, deno, findRuntime, node, type Runtime, runtimeVersion } from "./support/Runtimes.js"
import { tarballs } from "./support/Tarballs.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const inCi = process.env.CI === "true"
/** A run takes a few seconds; the bound is for a runtime that hangs (a socket or timer left open). */
const programTimeoutMs = 90_000
const oidcUser = { username: "smoke@acme.test", password: "smoke-oidc-password" }

interface SmokeResult {
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

/** A fresh project with the packed SDK, its SQL queues and `effect` installed by npm, and the smoke program. */
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
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      tarballs().sdk,
      tarballs().sql,
      `effect@${sdk.devDependencies.effect}`
    ],
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
    ;[project, broker] = await Promise.all([makeProject(tmp), startMosquitto({ websockets: true, tls: true })])
  }, 180_000)

  afterAll(async () => {
    await broker?.dispose()
    if (tmp !== undefined) await fs.rm(tmp, { recursive: true, force: true })
  })

  /** The smoke program's targets (see `smoke.ts`), by what they show; OIDC logs in at `apiBaseUrl`. */
  const targets = (runtime: Runtime, apiBaseUrl: string, realm: string) => ({
    "mqtt://": { brokerUrl: broker.url("mqtt"), organizationId: randomUUID() },
    "ws://": { brokerUrl: broker.url("ws"), organizationId: randomUUID() },
    "OIDC": {
      brokerUrl: broker.url("mqtt"),
      organizationId: realm,
      oidc: { apiBaseUrl, ...oidcUser }
    },
    "SQLite queue": {
      brokerUrl: broker.url("mqtt"),
      organizationId: randomUUID(),
      sqliteFile: path.join(project, `${runtime.binary.replace(/\W/g, "_")}-queue.db`)
    },
    "the browser entry, ws://": { brokerUrl: broker.url("ws"), organizationId: randomUUID(), browserEntry: true },
    "the browser entry, wss://": { brokerUrl: broker.url("wss"), organizationId: randomUUID(), browserEntry: true }
  })

  /** Runs the smoke program under `runtime` and checks what the broker delivered, target by target. */
  const smoke = async (runtime: Runtime, binary: string) => {
    const realm = randomUUID()
    const idp = await startTokenServer({ realm, users: { [oidcUser.username]: oidcUser.password } })
    const subscriber = await subscribe(broker.url("mqtt"), "in/#")
    try {
      const byName = targets(runtime, idp.baseUrl, realm)
      const exited = await runProgram(binary, runtime.args("src/smoke.ts", project), project, {
        ...runtime.env(project),
        // The test CA, for wss://: Node and Bun read NODE_EXTRA_CA_CERTS, Deno DENO_CERT.
        NODE_EXTRA_CA_CERTS: broker.caPath!,
        DENO_CERT: broker.caPath!,
        SMOKE_TARGETS: JSON.stringify(Object.values(byName))
      })
      const output = `${runtime.name} printed:\n${exited.stdout}\n${exited.stderr}`
      expect(exited.code, output).toBe(0)
      const { results } = JSON.parse(exited.stdout.trim().split("\n").at(-1)!) as {
        readonly results: ReadonlyArray<SmokeResult>
      }
      const named = Object.keys(byName).map((name, i) => ({ name, result: results[i]! }))
      expect(results.map((result) => result.organizationId)).toEqual(
        Object.values(byName).map((target) => target.organizationId)
      )
      for (const { name, result } of named) {
        expect(result.remaining, name).toBe(0)
        expect(new Set(result.ids).size, name).toBe(100)
      }
      expect(idp.stats.logins).toBe(1)
      // Each was acknowledged (the drain left none), so the broker delivers all of them to a QoS 1 subscriber.
      await subscriber.waitFor(100 * results.length, 30_000)
      for (const { name, result } of named) {
        expect(arrivedIds(subscriber.messages, result.organizationId), name).toEqual(new Set(result.ids))
      }
    } finally {
      await Promise.allSettled([subscriber.close(), idp.close()])
    }
  }

  it.for([node, deno, bun])(
    "$name runs it: 100 messages each over mqtt://, ws://, with OIDC, the SQLite queue and the browser entry, drained",
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
