/**
 * Packs `@stellanow/sdk`, `@stellanow/sdk-sql` and `@stellanow/cli` once for every test of this
 * project (`pnpm pack` builds each first, by its `prepack` script), and removes the tarballs after.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { TestProject } from "vitest/node"
import { packageDirs, run } from "./support/Project.js"
import type { Tarballs } from "./support/Tarballs.js"

const pack = async (dir: string, destination: string): Promise<string> => {
  await run("pnpm", ["pack", "--pack-destination", destination], { cwd: dir })
  const files = (await fs.readdir(destination)).filter((file) => file.endsWith(".tgz"))
  if (files.length !== 1) throw new Error(`pnpm pack in ${dir} made ${files.length} tarballs`)
  return path.join(destination, files[0]!)
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "stellanow-pack-"))
  const packInto = (key: keyof Tarballs) => pack(packageDirs[key], path.join(tmp, key))
  // The SQL package's build reads the SDK's declarations from its `dist`; the CLI's needs neither.
  const sdkThenSql = packInto("sdk").then(async (sdk) => ({ sdk, sql: await packInto("sql") }))
  const [{ sdk, sql }, cli] = await Promise.all([sdkThenSql, packInto("cli")])
  const tarballs: Tarballs = { sdk, sql, cli }
  project.provide("tarballs", tarballs)
  return () => fs.rm(tmp, { recursive: true, force: true })
}
