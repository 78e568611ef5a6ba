import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FileSystem, Layer, PlatformError } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Generator from "../src/Generator.js"
import * as NodeCli from "../src/NodeCli.js"
import * as Output from "../src/Output.js"
import { makeTempDir, readDir, removeDir } from "./support/paths.js"

const generated = (body: string): string => `${Generator.header}\n${body}\n`

const files: Generator.Files = new Map([
  ["a-message.ts", generated("// a")],
  ["b-model.ts", generated("// b")],
  ["index.ts", generated("// index")]
])

/** A temporary directory holding `contents`, removed after the test. */
const withDir = <A, E, R>(contents: Record<string, string>, f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const parent = makeTempDir("output")
      const dir = path.join(parent, "messages")
      if (Object.keys(contents).length > 0) fs.mkdirSync(dir)
      for (const [name, content] of Object.entries(contents)) fs.writeFileSync(path.join(dir, name), content)
      return dir
    }),
    f,
    (dir) => Effect.sync(() => removeDir(path.dirname(dir)))
  )

/** The file system given, except that writing a file whose name matches `failing` fails. */
const failingWrites = (failing: RegExp) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fileSystem) => ({
      ...fileSystem,
      writeFileString: (...args: Parameters<FileSystem.FileSystem["writeFileString"]>) =>
        failing.test(path.basename(args[0]))
          ? Effect.fail(
            PlatformError.systemError({
              _tag: "PermissionDenied",
              module: "FileSystem",
              method: "writeFileString",
              pathOrDescriptor: args[0]
            })
          )
          : fileSystem.writeFileString(...args)
    }))
  )

describe("Output", () => {
  it.effect("plans every file of a missing directory as missing, and writes them", () =>
    withDir({}, (dir) =>
      Effect.gen(function*() {
        const plan = yield* Output.plan(dir, files)
        assert.deepStrictEqual(plan.missing, ["a-message.ts", "b-model.ts", "index.ts"])
        assert.deepStrictEqual([plan.changed, plan.unchanged, plan.stale], [[], [], []])
        assert.isFalse(Output.isUpToDate(plan))
        assert.isFalse(fs.existsSync(dir), "planning writes nothing")
        yield* Output.apply(plan)
        assert.deepStrictEqual(readDir(dir), Object.fromEntries(files))
        assert.deepStrictEqual(fs.readdirSync(path.dirname(dir)), ["messages"], "no temporary directory is left")
        const again = yield* Output.plan(dir, files)
        assert.isTrue(Output.isUpToDate(again))
        assert.deepStrictEqual(again.unchanged, ["a-message.ts", "b-model.ts", "index.ts"])
      })).pipe(Effect.provide(NodeCli.layer)))

  it.effect("updates changed files, removes stale generated files, and leaves the user's files alone", () =>
    withDir({
      "a-message.ts": generated("// old a"),
      "b-model.ts": generated("// b"),
      "gone-message.ts": generated("// no longer defined"),
      "helpers.ts": "export const mine = 1\n",
      "notes.md": generated("not a module")
    }, (dir) =>
      Effect.gen(function*() {
        const unchangedBefore = fs.statSync(path.join(dir, "b-model.ts")).mtimeMs
        const plan = yield* Output.plan(dir, files)
        assert.deepStrictEqual(plan.missing, ["index.ts"])
        assert.deepStrictEqual(plan.changed, ["a-message.ts"])
        assert.deepStrictEqual(plan.unchanged, ["b-model.ts"])
        assert.deepStrictEqual(plan.stale, ["gone-message.ts"])
        yield* Output.apply(plan)
        assert.deepStrictEqual(readDir(dir), {
          ...Object.fromEntries(files),
          "helpers.ts": "export const mine = 1\n",
          "notes.md": generated("not a module")
        })
        assert.strictEqual(
          fs.statSync(path.join(dir, "b-model.ts")).mtimeMs,
          unchangedBefore,
          "unchanged files are not rewritten"
        )
        assert.isTrue(Output.isUpToDate(yield* Output.plan(dir, files)))
      })).pipe(Effect.provide(NodeCli.layer)))

  it.effect("treats a generated file the user edited as changed, and a file without the header as the user's", () =>
    withDir({
      "a-message.ts": "// I removed the header\n",
      "old-message.ts": `// ${Generator.header}\n`
    }, (dir) =>
      Effect.gen(function*() {
        const plan = yield* Output.plan(dir, files)
        assert.deepStrictEqual(plan.changed, ["a-message.ts"])
        assert.deepStrictEqual(plan.stale, [])
      })).pipe(Effect.provide(NodeCli.layer)))

  it.effect("writes nothing when one file cannot be written", () => {
    const before = {
      "a-message.ts": generated("// old a"),
      "gone-message.ts": generated("// stale")
    }
    return withDir(before, (dir) =>
      Effect.gen(function*() {
        const plan = yield* Output.plan(dir, files)
        assert.deepStrictEqual([plan.missing, plan.changed, plan.stale], [
          ["b-model.ts", "index.ts"],
          ["a-message.ts"],
          [
            "gone-message.ts"
          ]
        ])
        const exit = yield* Effect.exit(Output.apply(plan).pipe(Effect.provide(failingWrites(/^index\.ts$/))))
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(readDir(dir), before, "the directory is as it was")
        assert.deepStrictEqual(fs.readdirSync(path.dirname(dir)), ["messages"], "the temporary directory is removed")
        // And the same plan goes through once writing works.
        yield* Output.apply(plan)
        assert.deepStrictEqual(readDir(dir), Object.fromEntries(files))
      })).pipe(Effect.provide(NodeCli.layer))
  })

  it.effect("creates no directory when a new one cannot be filled", () =>
    withDir({}, (dir) =>
      Effect.gen(function*() {
        const plan = yield* Output.plan(dir, files)
        const exit = yield* Effect.exit(Output.apply(plan).pipe(Effect.provide(failingWrites(/^b-model\.ts$/))))
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(fs.readdirSync(path.dirname(dir)), [])
      })).pipe(Effect.provide(NodeCli.layer)))
})
