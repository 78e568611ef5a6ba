/**
 * The output directory: what differs between it and the generated files, and writing them all or
 * none. Only files that carry the generator's header are ever replaced or removed; a user's own files
 * in the directory are left alone.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Path } from "effect"
import type { PlatformError } from "effect/PlatformError"
import * as Generator from "./Generator.js"

/**
 * How the output directory compares with the generated files. Each list holds paths relative to the
 * directory, sorted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan {
  /** The output directory, as given. */
  readonly directory: string
  /** The generated files, by relative path. */
  readonly files: Generator.Files
  /** Generated files that are not on disk yet. */
  readonly missing: ReadonlyArray<string>
  /** Generated files whose content on disk differs. */
  readonly changed: ReadonlyArray<string>
  /** Generated files already on disk, byte for byte. */
  readonly unchanged: ReadonlyArray<string>
  /** Files on disk with the generator's header that would not be generated any more. */
  readonly stale: ReadonlyArray<string>
}

/**
 * Whether the directory holds exactly what would be generated.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isUpToDate = (plan: Plan): boolean =>
  plan.missing.length === 0 && plan.changed.length === 0 && plan.stale.length === 0

const sorted = (paths: Iterable<string>): Array<string> => [...paths].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)

const readIfFile = (fs: FileSystem.FileSystem, file: string): Effect.Effect<string | undefined, PlatformError> =>
  fs.stat(file).pipe(
    Effect.flatMap((info) => info.type === "File" ? fs.readFileString(file) : Effect.succeed(undefined)),
    Effect.catchIf(
      (error) => error.reason._tag === "NotFound",
      () => Effect.succeed(undefined)
    )
  )

/**
 * Compares the output directory with the generated files. Reads only; a missing directory is a plan to
 * create every file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const plan = Effect.fnUntraced(function*(directory: string, files: Generator.Files) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const missing: Array<string> = []
  const changed: Array<string> = []
  const unchanged: Array<string> = []
  for (const [relative, content] of files) {
    const current = yield* readIfFile(fs, path.join(directory, relative))
    if (current === undefined) missing.push(relative)
    else if (current === content) unchanged.push(relative)
    else changed.push(relative)
  }
  const stale: Array<string> = []
  const exists = yield* fs.exists(directory)
  if (exists) {
    for (const entry of yield* fs.readDirectory(directory)) {
      if (files.has(entry) || !entry.endsWith(".ts")) continue
      const current = yield* readIfFile(fs, path.join(directory, entry))
      if (current !== undefined && Generator.isGenerated(current)) stale.push(entry)
    }
  }
  return {
    directory,
    files,
    missing: sorted(missing),
    changed: sorted(changed),
    unchanged: sorted(unchanged),
    stale: sorted(stale)
  } satisfies Plan
})

/**
 * Brings the output directory up to date, all or nothing: the new and changed files are first written
 * to a temporary directory beside it; only when every one is written are they moved into place (each
 * move is atomic, within one file system) and stale generated files removed. A failure before that leaves the directory as it
 * was, and the temporary directory is removed in every case. Unchanged files are not rewritten.
 *
 * @since 0.1.0
 * @category writing
 */
export const apply = Effect.fnUntraced(function*(plan: Plan) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const toWrite = [...plan.missing, ...plan.changed]
  if (toWrite.length === 0 && plan.stale.length === 0) return
  const target = path.resolve(plan.directory)
  const parent = path.dirname(target)
  yield* fs.makeDirectory(parent, { recursive: true })
  yield* Effect.acquireUseRelease(
    fs.makeTempDirectory({ directory: parent, prefix: `.${path.basename(target)}.stellanow-` }),
    (staging) =>
      Effect.gen(function*() {
        for (const relative of toWrite) {
          const file = path.join(staging, relative)
          yield* fs.makeDirectory(path.dirname(file), { recursive: true })
          yield* fs.writeFileString(file, plan.files.get(relative)!)
        }
        yield* fs.makeDirectory(target, { recursive: true })
        for (const relative of toWrite) {
          const file = path.join(target, relative)
          yield* fs.makeDirectory(path.dirname(file), { recursive: true })
          yield* fs.rename(path.join(staging, relative), file)
        }
        for (const relative of plan.stale) {
          yield* fs.remove(path.join(target, relative))
        }
      }),
    (staging) => fs.remove(staging, { recursive: true }).pipe(Effect.ignore)
  )
})
