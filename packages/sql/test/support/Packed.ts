/**
 * The SDK and this package as a user gets them from the registry: packed with `pnpm pack` (whose
 * `prepack` builds them, and which turns `workspace:^` into the range a user sees) and installed with
 * npm into fresh projects outside the workspace.
 *
 * They are packed from a copy of the workspace in a temporary folder, not in place: `pnpm pack` rebuilds
 * a package's `dist` folder, which the SDK's own install test rebuilds at the same time in place.
 */
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
export const sqlDir = path.resolve(here, "../..")
export const repoRoot = path.resolve(sqlDir, "../..")
const sdkDir = path.join(repoRoot, "packages/sdk")
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")

/** The environment without what pnpm exports to the scripts it runs (`npm_config_*`, `npm_package_*`, …). */
export const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_|PNPM_)/.test(key))
) as NodeJS.ProcessEnv

/**
 * The Node that runs the installed program: `STELLANOW_SMOKE_NODE` (a path to a `node` binary, e.g.
 * Node 22's), or the one running vitest.
 */
export const smokeNode: string = process.env.STELLANOW_SMOKE_NODE || process.execPath

let smokeVersion: string | undefined

/** The version of `smokeNode` (`22.23.3`). */
export const smokeNodeVersion = (): string =>
  smokeVersion ??= execFileSync(smokeNode, ["-p", "process.versions.node"], { encoding: "utf8" }).trim()

/** Runs a program; resolves with its stdout, rejects with its output when it fails. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeout?: number }
): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? userEnv,
        maxBuffer: 16 * 1024 * 1024,
        timeout: options.timeout ?? 150_000
      },
      (error, stdout, stderr) => {
        if (error === null) return resolve(stdout)
        reject(
          new Error(`${command} ${args.join(" ")} (in ${options.cwd}) failed: ${error.message}\n${stdout}\n${stderr}`)
        )
      }
    )
  })

export const readJson = async <A>(file: string): Promise<A> => JSON.parse(await fs.readFile(file, "utf8")) as A

/**
 * A copy of the workspace's two packages (their sources, manifests and published files), resolving their
 * dependencies through the workspace's `node_modules` — except `@stellanow/sdk`, which this package
 * finds in the copy, so that nothing reads the workspace's `dist` folders.
 */
const stage = async (dir: string): Promise<{ readonly sdk: string; readonly sql: string }> => {
  const copy = { sdk: path.join(dir, "packages/sdk"), sql: path.join(dir, "packages/sql") }
  await fs.writeFile(path.join(dir, "pnpm-workspace.yaml"), "packages:\n  - packages/*\n")
  await fs.copyFile(path.join(repoRoot, "tsconfig.base.json"), path.join(dir, "tsconfig.base.json"))
  await fs.symlink(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"))
  for (const [source, destination] of [[sdkDir, copy.sdk], [sqlDir, copy.sql]] as const) {
    const { files } = await readJson<{ readonly files: ReadonlyArray<string> }>(path.join(source, "package.json"))
    for (const entry of ["package.json", "tsconfig.build.json", ...files.filter((file) => file !== "dist")]) {
      await fs.cp(path.join(source, entry), path.join(destination, entry), { recursive: true })
    }
  }
  await fs.symlink(path.join(sdkDir, "node_modules"), path.join(copy.sdk, "node_modules"))
  const modules = path.join(copy.sql, "node_modules")
  await fs.mkdir(path.join(modules, "@stellanow"), { recursive: true })
  for (const entry of await fs.readdir(path.join(sqlDir, "node_modules"))) {
    if (entry !== "@stellanow" && entry !== ".bin") {
      await fs.symlink(path.join(sqlDir, "node_modules", entry), path.join(modules, entry))
    }
  }
  await fs.symlink(copy.sdk, path.join(modules, "@stellanow/sdk"))
  return copy
}

/** Packs the SDK and this package (in that order: this one is built against the SDK's declarations). */
export const packPackages = async (tmp: string): Promise<{ readonly sdk: string; readonly sql: string }> => {
  const workspace = path.join(tmp, "workspace")
  await fs.mkdir(workspace, { recursive: true })
  const copy = await stage(workspace)
  const pack = async (dir: string) => {
    const destination = path.join(tmp, "pack", path.basename(dir))
    await run("pnpm", ["pack", "--pack-destination", destination], { cwd: dir })
    const tarballs = (await fs.readdir(destination)).filter((file) => file.endsWith(".tgz"))
    if (tarballs.length !== 1) throw new Error(`expected one tarball in ${destination}, got ${tarballs.join(", ")}`)
    return path.join(destination, tarballs[0]!)
  }
  const sdk = await pack(copy.sdk)
  return { sdk, sql: await pack(copy.sql) }
}

/** What a user's tsconfig may well say; `skipLibCheck: false` so the packages' declaration files are checked too. */
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    skipLibCheck: false,
    types: ["node"],
    rootDir: "src",
    outDir: "dist"
  },
  include: ["src"]
}

/**
 * A fresh project with `npm install <packages>` run in it, as a user would, plus the Node types at the
 * workspace's version (the program is type-checked with the workspace's TypeScript).
 */
export const makeProject = async (dir: string, packages: ReadonlyArray<string>): Promise<string> => {
  await fs.mkdir(path.join(dir, "src"), { recursive: true })
  await fs.writeFile(
    path.join(dir, "package.json"),
    JSON.stringify({ name: path.basename(dir), version: "0.0.0", private: true, type: "module" }, null, 2)
  )
  await fs.writeFile(path.join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2))
  const nodeTypes = createRequire(path.join(repoRoot, "package.json"))("@types/node/package.json") as {
    readonly version: string
  }
  await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...packages,
    `@types/node@${nodeTypes.version}`
  ], { cwd: dir, timeout: 170_000 })
  return dir
}

/** Type-checks and compiles a project's `src` with the workspace's TypeScript. */
export const compile = (dir: string): Promise<string> =>
  run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: dir })

/** The version of this package's optional peer dependency `@effect/sql-pg` (`^4.0.5`). */
export const pgDriverRange = async (): Promise<string> =>
  (await readJson<{ readonly peerDependencies: Record<string, string> }>(path.join(sqlDir, "package.json")))
    .peerDependencies["@effect/sql-pg"]!

/** Whether a package is installed in a project, at any depth of its `node_modules`. */
export const isInstalled = async (dir: string, name: string): Promise<boolean> =>
  (JSON.parse(await run("npm", ["query", `#${name}`], { cwd: dir })) as ReadonlyArray<unknown>).length > 0
