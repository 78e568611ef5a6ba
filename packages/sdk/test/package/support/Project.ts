/**
 * What the packed-package tests share: the workspace's paths, a child-process runner with a clean
 * environment, and the tsconfig a careful user writes. (No `vitest` import: `globalSetup.ts` uses it.)
 */
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
export const packageTestDir = path.resolve(here, "..")
export const repoRoot = path.resolve(here, "../../../../..")
export const packageDirs = {
  sdk: path.join(repoRoot, "packages/sdk"),
  sql: path.join(repoRoot, "packages/sql"),
  cli: path.join(repoRoot, "packages/cli")
} as const
export const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")

/** The environment without what pnpm exports to the scripts it runs (`npm_config_*`, `npm_package_*`, …). */
export const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_|PNPM_)/.test(key))
) as NodeJS.ProcessEnv

/**
 * The Node that runs the installed programs: `STELLANOW_SMOKE_NODE` (a path to a `node` binary, to
 * check the packages on another Node than the one running vitest, e.g. Node 22), or this one.
 */
export const smokeNode: string = process.env.STELLANOW_SMOKE_NODE || process.execPath

let smokeVersion: string | undefined

/** The version of `smokeNode` (`22.23.3`). */
export const smokeNodeVersion = (): string =>
  smokeVersion ??= execFileSync(smokeNode, ["-p", "process.versions.node"], { encoding: "utf8" }).trim()

/**
 * The environment for an installed program run through its `#!/usr/bin/env node` line (the CLI):
 * `smokeNode`'s folder first on the `PATH`.
 */
export const smokeEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...env,
  ...extra,
  PATH: [path.dirname(smokeNode), env.PATH].filter((part) => part !== undefined && part !== "").join(path.delimiter)
})

/** Whether `version` (`4.1.0`, `22.23.3`) is at least `minimum` (`4.1`, `22.19`), by major, minor, patch. */
export const atLeast = (version: string, minimum: string): boolean => {
  const parts = (text: string) => text.split(/[+-]/)[0]!.split(".").map(Number)
  const [have, want] = [parts(version), parts(minimum)]
  for (let i = 0; i < want.length; i++) {
    if ((have[i] ?? 0) !== want[i]!) return (have[i] ?? 0) > want[i]!
  }
  return true
}

/** Runs a command; rejects with its output when it fails or outlives `timeoutMs` (default 150 s). */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number }
): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? env, maxBuffer: 16 * 1024 * 1024, timeout: options.timeoutMs ?? 150_000 },
      (error, stdout, stderr) => {
        if (error === null) return resolve(stdout)
        reject(
          new Error(`${command} ${args.join(" ")} (in ${options.cwd}) failed: ${error.message}\n${stdout}\n${stderr}`)
        )
      }
    )
  })

export const readJson = async <A>(file: string): Promise<A> => JSON.parse(await fs.readFile(file, "utf8")) as A

/** The version of a workspace package (`sdk`, `sql`, `cli`). */
export const workspaceVersion = async (dir: string): Promise<string> =>
  (await readJson<{ readonly version: string }>(path.join(dir, "package.json"))).version

/** The `@types/node` the workspace uses, for the temp projects (user code reads `process.env`). */
export const nodeTypesVersion = (): string =>
  (createRequire(path.join(repoRoot, "package.json"))("@types/node/package.json") as { readonly version: string })
    .version

/**
 * What a careful user's tsconfig says: strict, exact optional properties, NodeNext, and
 * `skipLibCheck: false` so our declaration files are checked too.
 */
export const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    types: ["node"],
    rootDir: "src",
    outDir: "dist"
  },
  include: ["src"]
}
