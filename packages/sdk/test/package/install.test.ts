/**
 * What a user gets from the registry: the SDK and the CLI, built and packed once by `globalSetup.ts`,
 * installed from their tarballs with npm into fresh projects outside the workspace, and there
 * - a small program (`app/main.ts`) is type-checked against the published declaration files, compiled,
 *   and run with plain `node` against a real mosquitto;
 * - the `stellanow` executable generates message classes that compile against the installed SDK.
 * No workspace link, path alias or source file is reachable from those projects.
 *
 * The installed programs run on the Node running vitest, or on the `node` binary named by
 * `STELLANOW_SMOKE_NODE` (to check Node 22 too). The CLI needs Node 22.19 or later (its
 * `@effect/platform-node-shared` does): on an older Node its case is skipped.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startMosquitto, subscribe } from "../support/Mosquitto.js"
import {
  atLeast,
  env,
  nodeTypesVersion,
  packageDirs,
  readJson,
  repoRoot,
  run,
  smokeEnv,
  smokeNode,
  smokeNodeVersion,
  tsc,
  tsconfig,
  workspaceVersion
} from "./support/Project.js"
import { tarballs } from "./support/Tarballs.js"

const here = path.dirname(fileURLToPath(import.meta.url))

let tmp: string

/** A fresh project in the temp dir with the given packages installed by npm, as a user would. */
const makeProject = async (name: string, packages: ReadonlyArray<string>): Promise<string> => {
  const dir = path.join(tmp, name)
  await fs.mkdir(path.join(dir, "src"), { recursive: true })
  await fs.writeFile(
    path.join(dir, "package.json"),
    JSON.stringify({ name: `stellanow-${name}`, version: "0.0.0", private: true, type: "module" }, null, 2)
  )
  await fs.writeFile(path.join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2))
  // The `effect` the SDK is built on (user code imports it) and the Node types, at the workspace's versions.
  const sdk = await readJson<{ readonly devDependencies: Record<string, string> }>(
    path.join(packageDirs.sdk, "package.json")
  )
  await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...packages,
    `effect@${sdk.devDependencies.effect}`,
    `@types/node@${nodeTypesVersion()}`
  ], { cwd: dir })
  return dir
}

/** Checks the package came from its tarball: a real directory of the workspace's version, not a link. */
const expectInstalled = async (project: string, name: string, workspaceDir: string) => {
  const installed = path.join(project, "node_modules", name)
  expect((await fs.lstat(installed)).isSymbolicLink()).toBe(false)
  const { version } = await readJson<{ readonly version: string }>(path.join(installed, "package.json"))
  expect(version).toBe(await workspaceVersion(workspaceDir))
}

/** Where a package is installed in a project, at any depth of its `node_modules`. */
const installedCopies = async (project: string, name: string): Promise<ReadonlyArray<string>> =>
  (JSON.parse(await run("npm", ["query", `#${name}`], { cwd: project })) as ReadonlyArray<{ readonly path: string }>)
    .map((found) => found.path)

describe(`the packed packages, run on Node ${smokeNodeVersion()}`, () => {
  beforeAll(async () => {
    // The SDK's engines field: Node 22 or later (Effect 4 needs it too).
    expect(atLeast(smokeNodeVersion(), "22"), `${smokeNode} is Node ${smokeNodeVersion()}`).toBe(true)
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "stellanow-install-"))
    expect(path.relative(repoRoot, tmp).startsWith("..")).toBe(true)
  })

  afterAll(async () => {
    if (tmp !== undefined) await fs.rm(tmp, { recursive: true, force: true })
  })

  it("the SDK installs outside the workspace, type-checks, and sends a message", async () => {
    const broker = await startMosquitto()
    try {
      const app = await makeProject("app", [tarballs().sdk])
      await expectInstalled(app, "@stellanow/sdk", packageDirs.sdk)
      // Effect 4 (4.1 or later) and nothing of Effect 3's platform.
      const effect = await readJson<{ readonly version: string }>(path.join(app, "node_modules/effect/package.json"))
      expect(effect.version).toMatch(/^4\./)
      expect(atLeast(effect.version, "4.1"), effect.version).toBe(true)
      expect(await installedCopies(app, "@effect/platform")).toEqual([])
      for (const file of ["main.ts", "blocked.ts"]) {
        await fs.copyFile(path.join(here, "app", file), path.join(app, "src", file))
      }
      await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app })

      const subscriber = await subscribe(broker.url("mqtt"), "in/#")
      try {
        const stdout = await run(smokeNode, ["dist/main.js"], {
          cwd: app,
          env: { ...env, BROKER_URL: broker.url("mqtt") }
        })
        const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
          readonly inMemory: number
          readonly validationError: boolean
          readonly errorTags: ReadonlyArray<string>
          readonly internalImport: string
          readonly messageId: string
        }
        expect(result.inMemory).toBe(1)
        expect(result.validationError).toBe(true)
        expect(result.errorTags).toEqual([
          "ValidationError",
          "ConfigurationError",
          "ConnectionError",
          "AuthError",
          "PublishError",
          "QueueError",
          "StoreError",
          "LifecycleError"
        ])
        expect(result.internalImport).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")

        await subscriber.waitFor(1)
        expect(subscriber.messages).toHaveLength(1)
        expect(subscriber.messages[0]!.topic).toBe("in/7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11")
        const envelope = JSON.parse(subscriber.messages[0]!.payload.toString("utf8"))
        expect(envelope.key.entityId).toBe("patron-1")
        expect(envelope.value.metadata.messageId).toBe(result.messageId)
        expect(envelope.value.metadata.eventTypeDefinitionId).toBe("order_placed")
        expect(JSON.parse(envelope.value.payload)).toEqual({ order_id: "order-1", quantity: 2 })
      } finally {
        await subscriber.close()
      }
    } finally {
      await broker.dispose()
    }
  }, 180_000)

  it.skipIf(!atLeast(smokeNodeVersion(), "22.19"))(
    "the CLI installs and generates classes that compile against the installed SDK",
    async () => {
      const project = await makeProject("generated", [tarballs().sdk, tarballs().cli])
      await expectInstalled(project, "@stellanow/cli", packageDirs.cli)
      // Its Node services come from `@effect/platform-node-shared`: not `@effect/platform-node`, whose
      // required `redis` peer npm would install too.
      expect(await installedCopies(project, "@effect/platform-node")).toEqual([])
      expect(await installedCopies(project, "redis")).toEqual([])
      // Run through its `#!/usr/bin/env node` line, on the smoke test's Node.
      const stellanow = path.join(project, "node_modules/.bin/stellanow")
      const cli = { cwd: project, env: smokeEnv() }
      // effect/cli's format: the command's name, then `v` and the version.
      expect((await run(stellanow, ["--version"], cli)).trim()).toBe(
        `stellanow v${await workspaceVersion(packageDirs.cli)}`
      )

      const definitions = path.join(repoRoot, "examples/definitions/events.json")
      await run(stellanow, ["generate", "--input", definitions, "--out", "src/messages"], cli)
      const generated = await fs.readdir(path.join(project, "src/messages"))
      expect(generated).toContain("index.ts")
      expect(generated).toContain("user-details-update-message.ts")
      await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project })
    },
    180_000
  )
})
