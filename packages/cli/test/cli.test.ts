/**
 * The `stellanow` command line: a few runs of the real executable in its own Node process (exit codes,
 * standard input), and the rest in process through `Cli.run`, which is what the executable runs.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Console, Effect, Exit, Result } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Cli from "../src/Cli.js"
import * as EventDefinition from "../src/EventDefinition.js"
import * as Generator from "../src/Generator.js"
import * as NodeCli from "../src/NodeCli.js"
import * as Output from "../src/Output.js"
import { binPath, makeTempDir, readDir, removeDir, repoRoot, vectorPath } from "./support/paths.js"

const vectorsFile = vectorPath("event-definitions.json")

const expectedFiles = (options?: Generator.Options): Record<string, string> => {
  const definitions = Result.getOrThrow(EventDefinition.decodeJson(fs.readFileSync(vectorsFile, "utf8")))
  return Object.fromEntries(Result.getOrThrow(Generator.generate(definitions, options)))
}

interface ProcessResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the `stellanow` executable (`node --import tsx src/bin.ts`), feeding `stdin`. */
const stellanow = (args: ReadonlyArray<string>, stdin = ""): Promise<ProcessResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", binPath, ...args], {
      cwd: repoRoot,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(stdin)
  })

/** Runs the command line in process: whether it succeeded, and what it printed. */
const run = (...args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const base = yield* Console.Console
    const console: Console.Console = {
      ...base,
      log: (...parts: ReadonlyArray<unknown>) => void out.push(parts.join(" ")),
      error: (...parts: ReadonlyArray<unknown>) => void err.push(parts.join(" "))
    }
    const exit = yield* Cli.run(["node", "stellanow", ...args], { version: "0.0.0" }).pipe(
      Effect.provideService(Console.Console, console),
      Effect.exit
    )
    return { ok: Exit.isSuccess(exit), stdout: out.join("\n"), stderr: err.join("\n") }
  }).pipe(Effect.provide(NodeCli.layer))

describe("stellanow generate", () => {
  let root: string
  beforeAll(() => {
    root = makeTempDir("cli")
  })
  afterAll(() => removeDir(root))

  it("as a process: writes the modules, --check exits 0 when current (input from stdin) and 1 after an edit", async () => {
    const parent = path.join(root, "process")
    const out = path.join(parent, "messages")
    const written = await stellanow(["generate", "--input", vectorsFile, "--out", out])
    assert.strictEqual(written.code, 0, written.stderr)
    assert.include(written.stdout, "9 new, 0 updated, 0 unchanged, 0 removed")
    assert.deepStrictEqual(readDir(out), expectedFiles())
    assert.deepStrictEqual(fs.readdirSync(parent), ["messages"], "no temporary directory is left")

    const current = await stellanow(
      ["generate", "--input", "-", "--out", out, "--check"],
      fs.readFileSync(vectorsFile, "utf8")
    )
    assert.strictEqual(current.code, 0, current.stderr)
    assert.include(current.stdout, "is up to date (9 files)")

    fs.appendFileSync(path.join(out, "user-login-message.ts"), "// edited\n")
    const edited = await stellanow(["generate", "--input", vectorsFile, "--out", out, "--check"])
    assert.strictEqual(edited.code, 1)
    assert.include(edited.stderr, "changed: user-login-message.ts")
    assert.include(
      fs.readFileSync(path.join(out, "user-login-message.ts"), "utf8"),
      "// edited",
      "--check writes nothing"
    )
  })

  it.effect("--check names missing, changed and stale files, not the user's; generating again repairs them", () =>
    Effect.gen(function*() {
      const out = path.join(root, "check", "messages")
      const generate = ["generate", "--input", vectorsFile, "--out", out]
      assert.isTrue((yield* run(...generate)).ok)
      assert.include((yield* run(...generate, "--check")).stdout, "is up to date (9 files)")

      fs.appendFileSync(path.join(out, "user-login-message.ts"), "// edited\n")
      fs.rmSync(path.join(out, "index.ts"))
      fs.writeFileSync(path.join(out, "old-message.ts"), `${Generator.header}\n`)
      fs.writeFileSync(path.join(out, "mine.ts"), "export const mine = 1\n")
      const stale = yield* run(...generate, "--check")
      assert.isFalse(stale.ok)
      assert.strictEqual(
        stale.stderr,
        [
          `stellanow: ${out} is not up to date with the definitions:`,
          "  missing: index.ts",
          "  changed: user-login-message.ts",
          "  stale:   old-message.ts",
          "Run the same command without --check to update it."
        ].join("\n")
      )
      assert.isFalse(fs.existsSync(path.join(out, "index.ts")), "--check writes nothing")

      const repaired = yield* run(...generate)
      assert.isTrue(repaired.ok, repaired.stderr)
      assert.strictEqual(repaired.stdout, `${out}: 1 new, 1 updated, 7 unchanged, 1 removed.`)
      assert.deepStrictEqual(readDir(out), { ...expectedFiles(), "mine.ts": "export const mine = 1\n" })
      assert.isTrue((yield* run(...generate, "--check")).ok)
    }))

  it.effect("--event selects events; the models they use come along", () =>
    Effect.gen(function*() {
      const out = path.join(root, "selected")
      const result = yield* run(
        "generate",
        "-i",
        vectorsFile,
        "-o",
        out,
        "--event",
        "user_details_update",
        "-e",
        "store_receipt"
      )
      assert.isTrue(result.ok, result.stderr)
      assert.deepStrictEqual(readDir(out), expectedFiles({ events: ["user_details_update", "store_receipt"] }))
      assert.deepStrictEqual(Object.keys(readDir(out)), [
        "index.ts",
        "phone-number-model.ts",
        "store-receipt-message.ts",
        "user-details-update-message.ts"
      ])
      const unknown = yield* run("generate", "-i", vectorsFile, "-o", out, "--event", "user_logout")
      assert.isFalse(unknown.ok)
      assert.match(unknown.stderr, /^stellanow: event "user_logout": no event has this name/)
    }))

  it.effect("an error names the event and field, and nothing is written", () =>
    Effect.gen(function*() {
      const out = path.join(root, "failed")
      const input = path.join(root, "bad.json")
      fs.writeFileSync(
        input,
        JSON.stringify({
          events: [
            {
              id: "1",
              name: "fine",
              fields: [{ name: "a", fieldType: { value: "String" } }],
              entities: [{ name: "p" }]
            },
            {
              id: "2",
              name: "user_login",
              fields: [{ name: "at", fieldType: { value: "Timestamp" } }],
              entities: [{ name: "p" }]
            }
          ]
        })
      )
      const result = yield* run("generate", "--input", input, "--out", out)
      assert.isFalse(result.ok)
      assert.strictEqual(
        result.stderr,
        "stellanow: event \"user_login\", field \"at\": unknown field type \"Timestamp\"; expected one of \"String\", \"Integer\", \"Decimal\", \"Boolean\", \"Date\", \"DateTime\", \"Any\", \"Model\""
      )
      assert.isFalse(fs.existsSync(out))

      const unreadable = yield* run("generate", "--input", path.join(root, "nope.json"), "--out", out)
      assert.isFalse(unreadable.ok)
      assert.match(unreadable.stderr, /^stellanow: cannot read .*nope\.json/)

      const usage = yield* run("generate", "--out", out)
      assert.isFalse(usage.ok)
      assert.include(usage.stdout + usage.stderr, "--input")
      assert.isFalse(fs.existsSync(out))
    }))
})

describe("examples", () => {
  it.effect("examples/src/messages is what examples/definitions/events.json generates", () =>
    Effect.gen(function*() {
      const text = fs.readFileSync(path.join(repoRoot, "examples/definitions/events.json"), "utf8")
      const definitions = yield* Effect.fromResult(EventDefinition.decodeJson(text))
      const files = yield* Effect.fromResult(Generator.generate(definitions))
      assert.deepStrictEqual([...files.keys()], ["index.ts", "phone-number-model.ts", "user-details-update-message.ts"])
      const plan = yield* Output.plan(path.join(repoRoot, "examples/src/messages"), files)
      assert.isTrue(Output.isUpToDate(plan), "run `pnpm --filter @stellanow/examples generate`")
    }).pipe(Effect.provide(NodeCli.layer)))
})
