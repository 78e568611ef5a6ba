/**
 * `better-sqlite3` (the SQLite driver of `@stellanow/sdk-sql`) installs a prebuilt binary downloaded
 * from GitHub, or compiles SQLite for a minute or more of CPU when it cannot. This machine cannot
 * reach GitHub, so the temp projects are offered the binary the workspace already built, the way
 * `prebuild-install` takes a local prebuild (`npm_config_better_sqlite3_local_prebuilds`). A version
 * other than the workspace's finds no local prebuild and is compiled as usual.
 */
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { packageDirs, readJson, run } from "./Project.js"

/** The workspace's `better-sqlite3`, through the packages that depend on it. */
const workspaceDriver = (): string => {
  const sqliteNode = createRequire(path.join(packageDirs.sql, "package.json")).resolve(
    "@effect/sql-sqlite-node/package.json"
  )
  return path.dirname(createRequire(sqliteNode).resolve("better-sqlite3/package.json"))
}

/**
 * Packs the workspace's compiled driver into `dir` under the name `prebuild-install` looks for, and
 * gives the environment variable that points it there (none when the workspace has no binary).
 */
export const localSqlitePrebuild = async (dir: string): Promise<Record<string, string>> => {
  const driver = workspaceDriver()
  const binary = "build/Release/better_sqlite3.node"
  if (!(await fs.stat(path.join(driver, binary)).then(() => true, () => false))) return {}
  const { version } = await readJson<{ readonly version: string }>(path.join(driver, "package.json"))
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`
  await fs.mkdir(dir, { recursive: true })
  await run("tar", ["-czf", path.join(dir, name), "-C", driver, binary], { cwd: dir })
  return { npm_config_better_sqlite3_local_prebuilds: dir }
}
