import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root (the pnpm workspace). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..")

/** The `stellanow` executable's source, run with `node --import tsx`. */
export const binPath = path.join(repoRoot, "packages/cli/src/bin.ts")

/**
 * The wire contract's test vectors, in the repository's `spec/vectors` (see `spec/WIRE.md`). A missing
 * file fails the test: vectors are never skipped.
 */
export const vectorsDir = path.join(repoRoot, "spec/vectors")

export const vectorPath = (name: string): string => path.join(vectorsDir, name)

export const readVector = <A = any>(name: string): A => JSON.parse(fs.readFileSync(vectorPath(name), "utf8")) as A

/**
 * A fresh directory under `packages/cli/.tmp` (git-ignored), inside the workspace so that generated code
 * resolves `@stellanow/sdk` as a user's would.
 */
export const makeTempDir = (prefix: string): string => {
  const parent = path.join(repoRoot, "packages/cli/.tmp")
  fs.mkdirSync(parent, { recursive: true })
  return fs.mkdtempSync(path.join(parent, `${prefix}-`))
}

export const removeDir = (dir: string): void => fs.rmSync(dir, { recursive: true, force: true })

/** The files of a directory (not recursive), sorted, with their content. */
export const readDir = (dir: string): Record<string, string> =>
  Object.fromEntries(
    fs.readdirSync(dir).sort().filter((name) => fs.statSync(path.join(dir, name)).isFile()).map((
      name
    ) => [name, fs.readFileSync(path.join(dir, name), "utf8")])
  )
