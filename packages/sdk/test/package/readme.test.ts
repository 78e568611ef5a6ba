/**
 * Every TypeScript snippet of `README.md` and `packages/*\/README.md`, the way a user meets it:
 *
 * 1. In a new project in a temp folder, the README's own install line (the first `sh` block of its
 *    `## Install` section) runs verbatim, then `packages/sql/README.md`'s (its first: SQLite's, which
 *    on Node's built-in `node:sqlite` installs no driver). A `.npmrc` sends the `@stellanow` scope to a registry on
 *    loopback serving the freshly packed tarballs (`support/Registry.ts`); everything else comes from
 *    the usual registry.
 * 2. Each snippet is type-checked there by `tsc`: strict, `exactOptionalPropertyTypes`, NodeNext,
 *    `skipLibCheck: false`. Errors name the README and the line.
 * 3. The `run` snippets are run with `node` (`STELLANOW_SMOKE_NODE` when set) against a real mosquitto, with the environment a user sets
 *    (`ORGANIZATION_ID`, `PROJECT_ID`, credentials) and `STELLANOW_BROKER_URL` / `STELLANOW_API_URL`
 *    pointing the presets at the local broker and at the test OIDC token server. A QoS 1 subscriber
 *    counts what arrives.
 *
 * Markers. Every ```ts block carries, on the line before its fence, an HTML comment (invisible when
 * rendered); a block without one fails the test:
 *
 *     <!-- snippet: MODE [part=NAME] [uses=NAME] [prelude="CODE"] [then="CODE"] [replace="FROM=>TO"]
 *                        [expect="COUNT EVENT"] [reason="WHY"] -->
 *
 * - MODE `run`: type-checked, then run; it must exit 0 and send nothing but what `expect` says.
 *   `check`: type-checked only. `skip`: neither, and `reason` says why.
 * - `part=NAME` names the block; `uses=NAME` puts that block's code before this one's (the message
 *   classes of "In 30 seconds").
 * - `prelude` is code put first: stubs of what the reader is expected to write (`fetchFromVault`).
 * - `then` is code put last, to drive what a block only configures:
 *   `then="import { sendOne } from './drive.js'; await sendOne(sdk)"` (`readme/drive.ts`).
 * - `replace` is one literal substitution, for a path this machine lacks; `$TMP` is a fresh temp folder.
 * - `expect="10 user_details_update"`: that many messages of that event arrive on `in/ORGANIZATION_ID`,
 *   with distinct message ids, and every id the program prints (`queued <id>`, `sent <id>`) among them.
 */
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTokenServer, type TokenServer } from "../oidc/support/TokenServer.js"
import { type Mosquitto, startMosquitto, subscribe } from "../support/Mosquitto.js"
import {
  atLeast,
  env,
  nodeTypesVersion,
  packageTestDir,
  readJson,
  repoRoot,
  run,
  smokeNode,
  smokeNodeVersion,
  tsc,
  tsconfig
} from "./support/Project.js"
import { integrity, type Registry, startRegistry } from "./support/Registry.js"
import { codeBlocks, installBlock, type Program, program, type Snippet, snippet } from "./support/Snippets.js"
import { tarballs } from "./support/Tarballs.js"

const readmes = [
  "README.md",
  ...fsSync.readdirSync(path.join(repoRoot, "packages")).map((name) => `packages/${name}/README.md`)
].filter((file) => fsSync.existsSync(path.join(repoRoot, file)))
const blocksOf = (file: string) => codeBlocks(file, fsSync.readFileSync(path.join(repoRoot, file), "utf8"))
const typescriptBlocks = readmes.flatMap(blocksOf).filter((block) => ["ts", "typescript"].includes(block.lang))
const markers = typescriptBlocks.map((block) => {
  try {
    return snippet(block)
  } catch (error) {
    return error as Error
  }
})
const snippets = markers.filter((marker): marker is Snippet => !(marker instanceof Error))
const parts = new Map(snippets.flatMap((s) => s.part === undefined ? [] : [[s.part, s] as const]))
const checked = snippets.filter((s) => s.mode !== "skip")

/** What a user exports before running their program. */
const user = {
  ORGANIZATION_ID: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  PROJECT_ID: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
  OIDC_USERNAME: "ingestor@acme.test",
  OIDC_PASSWORD: "readme-oidc-password",
  MQTT_USERNAME: "device",
  MQTT_PASSWORD: "readme-mqtt-password"
}

const moduleName = (s: Snippet) => `${s.block.file.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-${s.block.line}`

let tmp: string
let app: string
let registry: Registry
let broker: Mosquitto
let idp: TokenServer
let diagnostics: ReadonlyArray<string>

/**
 * A new project (what `npm init` makes, as ES modules) where the install lines run verbatim. Its
 * `package.json` also keeps npm from installing into a parent folder that has one.
 */
const install = async () => {
  await fs.writeFile(
    path.join(app, "package.json"),
    JSON.stringify({ name: "readme-app", version: "1.0.0", private: true, type: "module" }, null, 2)
  )
  await fs.writeFile(path.join(app, ".npmrc"), `@stellanow:registry=${registry.url}\n`)
  for (const file of ["README.md", "packages/sql/README.md"]) {
    const line = installBlock(blocksOf(file))
    if (line === undefined) throw new Error(`${file} has no sh block in its Install section`)
    await run("sh", ["-e", "-c", line.code], { cwd: app, timeoutMs: 170_000 })
  }
  // Node's types, which a TypeScript project has (snippets read `process.env`).
  await run("npm", ["install", "--save-dev", "--no-audit", "--no-fund", `@types/node@${nodeTypesVersion()}`], {
    cwd: app
  })
}

/** Writes every checked snippet as a module of the project; compiles them all; maps errors to READMEs. */
const compile = async (): Promise<ReadonlyArray<string>> => {
  await fs.writeFile(path.join(app, "tsconfig.json"), JSON.stringify(tsconfig, null, 2))
  await fs.mkdir(path.join(app, "src"))
  await fs.copyFile(path.join(packageTestDir, "readme/drive.ts"), path.join(app, "src/drive.ts"))
  const programs = new Map<string, Program>()
  for (const s of checked) {
    const scratch = path.join(tmp, "scratch", moduleName(s))
    await fs.mkdir(scratch, { recursive: true })
    const code = program(s, parts, scratch)
    programs.set(moduleName(s), code)
    await fs.writeFile(path.join(app, "src", `${moduleName(s)}.ts`), code.code)
  }
  // Emitted even with errors, so that one bad snippet does not stop the others from running.
  const output = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app }).then(
    (stdout) => stdout,
    (error: Error) => error.message
  )
  return output.split("\n").flatMap((line) => {
    const located = /^src\/(.+)\.ts\((\d+),(\d+)\): (error .*)$/.exec(line)
    if (located === null) return /error TS\d+/.test(line) ? [line] : []
    const [, name, row, column, message] = located
    const origin = programs.get(name!)?.origins[Number(row) - 1] ?? `src/${name}.ts:${row}`
    return [`${origin}:${column} ${message}`]
  })
}

/** Runs a compiled snippet with `node`, in the environment a user sets, pointed at the local servers. */
const runSnippet = (s: Snippet): Promise<string> =>
  run(smokeNode, [`dist/${moduleName(s)}.js`], {
    cwd: app,
    env: { ...env, ...user, STELLANOW_BROKER_URL: broker.url("mqtt"), STELLANOW_API_URL: idp.baseUrl },
    timeoutMs: 60_000
  })

/** The envelopes that arrive on the organization's topic while `action` runs. */
const arrivals = async (expected: number, action: () => Promise<string>) => {
  const subscriber = await subscribe(broker.url("mqtt"), `in/${user.ORGANIZATION_ID}`)
  try {
    const output = await action()
    await subscriber.waitFor(expected, 10_000)
    const envelopes = subscriber.messages.map((m) => JSON.parse(m.payload.toString("utf8")))
    return { output, envelopes }
  } finally {
    await subscriber.close()
  }
}

describe(`the README snippets, as a user meets them (run on Node ${smokeNodeVersion()})`, () => {
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "stellanow-readme-"))
    app = path.join(tmp, "app")
    await fs.mkdir(app)
    const packed = tarballs()
    registry = await startRegistry([packed.sdk, packed.sql, packed.cli])
    await install()
    diagnostics = await compile()
    broker = await startMosquitto()
    idp = await startTokenServer({ realm: user.ORGANIZATION_ID, users: { [user.OIDC_USERNAME]: user.OIDC_PASSWORD } })
  }, 240_000)

  afterAll(async () => {
    await Promise.allSettled([registry?.close(), broker?.dispose(), idp?.close()])
    if (tmp !== undefined) await fs.rm(tmp, { recursive: true, force: true })
  })

  it("every TypeScript block carries a valid snippet marker", () => {
    expect(typescriptBlocks.length).toBeGreaterThanOrEqual(6)
    expect(markers.filter((m): m is Error => m instanceof Error).map((e) => e.message)).toEqual([])
  })

  it("the install lines install the packed packages, on Effect 4", async () => {
    const lock = await readJson<{ readonly packages: Record<string, { version: string; integrity?: string }> }>(
      path.join(app, "package-lock.json")
    )
    const installed = (name: string) => lock.packages[`node_modules/${name}`]
    // The integrity npm recorded is the packed tarball's: what was installed is what was packed.
    const packed = tarballs()
    for (const [name, tarball] of [["@stellanow/sdk", packed.sdk], ["@stellanow/sdk-sql", packed.sql]] as const) {
      expect(installed(name)?.integrity, name).toBe(integrity(await fs.readFile(tarball)))
    }
    // Effect 4.1 or later, and nothing of Effect 3's platform (its modules are part of `effect` now).
    const effect = installed("effect")?.version ?? "none"
    expect(effect).toMatch(/^4\./)
    expect(atLeast(effect, "4.1"), effect).toBe(true)
    expect(Object.keys(lock.packages).filter((key) => key.endsWith("node_modules/@effect/platform"))).toEqual([])
    // SQLite runs on `node:sqlite`: its install line brings no driver, nor PostgreSQL's.
    for (const driver of ["@effect/sql-pg", "@effect/sql-sqlite-node", "better-sqlite3"]) {
      expect(Object.keys(lock.packages).filter((key) => key.endsWith(`node_modules/${driver}`)), driver).toEqual([])
    }
    // The SDK's own README (its npm page) gives the same line.
    expect(installBlock(blocksOf("packages/sdk/README.md"))?.code).toBe(installBlock(blocksOf("README.md"))?.code)
  })

  it("every snippet type-checks (strict, exactOptionalPropertyTypes, skipLibCheck false)", () => {
    expect(checked.length).toBeGreaterThanOrEqual(6)
    expect(diagnostics).toEqual([])
  })

  for (const s of snippets.filter((s) => s.mode === "run")) {
    const expected = s.expect?.count ?? 0
    const title = expected > 0
      ? `${s.where} runs and its ${expected} ${s.expect!.event} messages arrive`
      : `${s.where} runs`
    it(
      title,
      async () => {
        const { envelopes, output } = await arrivals(expected, () => runSnippet(s))
        expect(envelopes).toHaveLength(expected)
        for (const envelope of envelopes) {
          expect(envelope.key.organizationId).toBe(user.ORGANIZATION_ID)
          expect(envelope.key.projectId).toBe(user.PROJECT_ID)
          expect(envelope.value.metadata.eventTypeDefinitionId).toBe(s.expect?.event)
        }
        const ids = envelopes.map((envelope) => envelope.value.metadata.messageId as string)
        expect(new Set(ids).size).toBe(ids.length)
        const printed = [...output.matchAll(/(?:queued|sent) ([0-9a-f-]{36})/g)].map((match) => match[1])
        for (const id of printed) expect(ids).toContain(id)
      },
      90_000
    )
  }
})
