/**
 * The JavaScript runtimes besides Node that the packed SDK is run on: Deno and Bun, as `scripts/setup.mjs`
 * installs them (`npm test` does, into `.tools/runtimes`, at the versions `scripts/runtimes/` pins), or
 * else as found on PATH. Each with how it runs a TypeScript program that imports packages from the
 * project's `node_modules`.
 */
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { firstExecutable, pathDirs } from "../../support/Programs.js"
import { repoRoot } from "./Project.js"

export interface Runtime {
  /** `Deno`, `Bun`, `Node`. */
  readonly name: string
  /** The binary's name: `deno`, `bun`, `node`. */
  readonly binary: string
  /**
   * The arguments that run `file`, a TypeScript program inside `project`, which has a `node_modules`;
   * the program may read and write files in `project`.
   */
  readonly args: (file: string, project: string) => ReadonlyArray<string>
  /** What the runtime needs in its environment, given the project's folder. */
  readonly env: (project: string) => NodeJS.ProcessEnv
}

export const deno: Runtime = {
  name: "Deno",
  binary: "deno",
  // The SDK opens sockets to the broker and the token server; mqtt's `debug` dependency lists every
  // environment variable when it loads (so `--allow-env` takes no list); the SQLite queue opens its
  // file. With a package.json beside it, Deno resolves bare specifiers from the project's node_modules.
  args: (file, project) => [
    "run",
    "--allow-net=127.0.0.1",
    "--allow-env",
    `--allow-read=${project}`,
    `--allow-write=${project}`,
    file
  ],
  // Its cache in the project (removed with it), and no look-up of newer versions.
  env: (project) => ({ DENO_DIR: path.join(project, ".deno"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" })
}

export const bun: Runtime = {
  name: "Bun",
  binary: "bun",
  args: (file) => ["run", file],
  env: () => ({ NO_COLOR: "1", DO_NOT_TRACK: "1" })
}

/** Node strips the types itself (22.18 and later); the baseline the other two are compared with. */
export const node: Runtime = {
  name: "Node",
  binary: process.execPath,
  args: (file) => [file],
  env: () => ({})
}

/** Where `scripts/setup.mjs` installs the runtimes. */
export const toolsBin = path.join(repoRoot, ".tools", "runtimes", "node_modules", ".bin")

/** The runtime's binary: the one `.tools/runtimes` holds, else the first on PATH, else undefined. */
export const findRuntime = (runtime: Runtime): string | undefined => {
  if (path.isAbsolute(runtime.binary)) return runtime.binary
  return firstExecutable(runtime.binary, [toolsBin, ...pathDirs()])
}

/** What the binary says its version is (`deno 2.9.6 (stable, …)` → `2.9.6`). */
export const runtimeVersion = (binary: string): string => {
  const output = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 30_000 })
  return /\d+\.\d+\.\d+\S*/.exec(output)?.[0] ?? output.trim()
}
