/**
 * The SDK and this package as a user gets them from the registry: packed with `pnpm pack` (whose
 * `prepack` builds them, and which turns `workspace:^` into the range a user sees) and installed with
 * npm into fresh projects outside the workspace.
 *
 * They are packed from a copy of the workspace in a temporary folder, not in place: `pnpm pack` rebuilds
 * a package's `dist` folder, which the SDK's own install test rebuilds at the same time in place.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import {
  env,
  nodeTypesVersion,
  packageDirs,
  readJson,
  repoRoot,
  run,
  tsc,
  tsconfig
} from "../../../sdk/test/package/support/Project.js"

// The SDK's packed-package tests run programs the same way: one runner, one user's tsconfig.
export { run, smokeNode, smokeNodeVersion } from "../../../sdk/test/package/support/Project.js"

/** The environment without what pnpm exports to the scripts it runs (`npm_config_*`, `npm_package_*`, …). */
export const userEnv = env

export const sqlDir = packageDirs.sql
const sdkDir = packageDirs.sdk

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
  await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...packages,
    `@types/node@${nodeTypesVersion()}`
  ], { cwd: dir, timeoutMs: 170_000 })
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
