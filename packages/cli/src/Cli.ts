/**
 * The `stellanow` command line:
 *
 * ```sh
 * stellanow generate --input events.json --out src/messages [--event user_details_update ...] [--check]
 * ```
 *
 * `--input -` reads the definitions from standard input. `--check` writes nothing and exits with 1
 * when the files in `--out` differ from what would be generated (for CI).
 *
 * @since 0.1.0
 */
import { Cause, Console, Effect, FileSystem, Option, Schema, Stdio, Stream } from "effect"
import { CliError, Command, Flag } from "effect/cli"
import * as EventDefinition from "./EventDefinition.js"
import * as Generator from "./Generator.js"
import { GeneratorError } from "./GeneratorError.js"
import * as Output from "./Output.js"

/**
 * `--check` found the output directory out of date: files are missing, differ, or are stale.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutOfDateError extends Schema.TaggedError<OutOfDateError>("@stellanow/cli/OutOfDateError")(
  "OutOfDateError",
  {
    directory: Schema.String,
    missing: Schema.Array(Schema.String),
    changed: Schema.Array(Schema.String),
    stale: Schema.Array(Schema.String)
  }
) {
  // Named by its tag, as in 0.1: Effect 4 would name it by its schema identifier.
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return [
      `${this.directory} is not up to date with the definitions:`,
      ...this.missing.map((file) => `  missing: ${file}`),
      ...this.changed.map((file) => `  changed: ${file}`),
      ...this.stale.map((file) => `  stale:   ${file}`),
      "Run the same command without --check to update it."
    ].join("\n")
  }
}

/**
 * What `stellanow generate` is given.
 *
 * @since 0.1.0
 * @category models
 */
export interface GenerateArgs {
  /** A file of console definitions, or `-` for standard input. */
  readonly input: string
  /** The directory of the generated modules. */
  readonly out: string
  /** The events to generate, by name; empty for all. */
  readonly event: ReadonlyArray<string>
  /** Compare instead of writing. */
  readonly check: boolean
}

const readStdin = Stdio.Stdio.use((stdio) =>
  stdio.stdin.pipe(
    Stream.decodeText(),
    Stream.mkString,
    Effect.mapError((cause) =>
      new GeneratorError({ reason: "InvalidInput", detail: "cannot read standard input", cause })
    )
  )
)

const readFile = (file: string) =>
  FileSystem.FileSystem.use((fs) =>
    fs.readFileString(file).pipe(
      Effect.mapError((cause) =>
        new GeneratorError({ reason: "InvalidInput", detail: `cannot read ${file}: ${cause.message}`, cause })
      )
    )
  )

const readInput = (input: string) => input === "-" ? readStdin : readFile(input)

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`

/**
 * Runs `stellanow generate`: reads and checks the definitions, generates every module in memory, then
 * compares them with `--out` (`--check`) or writes them. Nothing is written unless everything was
 * generated.
 *
 * @since 0.1.0
 * @category commands
 */
export const runGenerate = Effect.fn("StellaNow.generate")(function*(args: GenerateArgs) {
  const source = args.input === "-" ? "standard input" : args.input
  const definitions = yield* Effect.fromResult(EventDefinition.decodeJson(yield* readInput(args.input), source))
  const files = yield* Effect.fromResult(Generator.generate(definitions, { events: args.event }))
  const plan = yield* Output.plan(args.out, files)
  if (args.check) {
    if (!Output.isUpToDate(plan)) {
      return yield* new OutOfDateError({
        directory: args.out,
        missing: plan.missing,
        changed: plan.changed,
        stale: plan.stale
      })
    }
    return yield* Console.log(`${args.out} is up to date (${count(files.size, "file")}).`)
  }
  yield* Output.apply(plan)
  yield* Console.log(
    `${args.out}: ${plan.missing.length} new, ${plan.changed.length} updated, ${plan.unchanged.length} unchanged, ${plan.stale.length} removed.`
  )
})

const input = Flag.String("input").pipe(
  Flag.withAlias("i"),
  Flag.withMetavar("file|-"),
  Flag.withDescription("The console's event definitions (JSON, WIRE.md §8): a file, or - for standard input.")
)

const out = Flag.String("out").pipe(
  Flag.withAlias("o"),
  Flag.withMetavar("directory"),
  Flag.withDescription("The directory of the generated modules (created if missing).")
)

const event = Flag.String("event").pipe(
  Flag.withAlias("e"),
  Flag.withMetavar("name"),
  Flag.atLeast(0),
  Flag.withDescription("Generate only this event and the models it uses; repeat for several. Default: all.")
)

const check = Flag.Boolean("check").pipe(
  Flag.withDefault(false),
  Flag.withDescription("Write nothing; exit with 1 if the files in --out differ from what would be generated.")
)

/**
 * `stellanow generate`.
 *
 * @since 0.1.0
 * @category commands
 */
export const generate = Command.make("generate", { input, out, event, check }, runGenerate).pipe(
  Command.withDescription("Generate typed message and model classes from the StellaNow console's definitions.")
)

/**
 * `stellanow`, with its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("stellanow").pipe(Command.withSubcommands([generate]))

const report = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.findErrorOption(cause)
  if (Option.isSome(failure)) {
    // The argument parser has printed its own message and the help.
    if (CliError.isCliError(failure.value)) return Effect.void
    const error = failure.value
    return Console.error(`stellanow: ${error instanceof Error ? error.message : String(error)}`)
  }
  return Cause.hasInterruptsOnly(cause) ? Effect.void : Console.error(Cause.pretty(cause))
}

/**
 * Runs the command line (`process.argv`: the runtime and the script come first). Errors are printed
 * to standard error, once; the effect then fails, so the process exits with 1.
 *
 * @since 0.1.0
 * @category commands
 */
export const run = (argv: ReadonlyArray<string>, options: { readonly version: string }) =>
  // Effect's own rendering is left to parse errors (with the help); ours prefixes "stellanow: ".
  Command.runWith(command, { version: options.version })(argv.slice(2)).pipe(Effect.tapCause(report))
