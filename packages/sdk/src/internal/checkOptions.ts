import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { ConfigurationError } from "../StellaNowError.js"

/**
 * Options checked where they enter, for callers without TypeScript: a table gives each known option its
 * check, and {@link check} reports every unknown name (with the closest known one) and every bad value
 * in one `ConfigurationError`. A secret's value is never shown, only its type.
 */

/** What is wrong with an option's value, in words: nothing when it is acceptable. */
export type Check = (value: unknown, name: string) => ReadonlyArray<string>

/** A check for every option of `O`, so adding an option to `O` without its check does not compile. */
export type Table<O> = { readonly [K in keyof O]-?: Check }

/** How a given value is shown in an error: a secret only by its type. */
const show = (value: unknown, secret: boolean): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "function") return "a function"
  if (typeof value === "object") return "an object"
  if (secret) return `a ${typeof value} (not shown: it is a secret)`
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  return String(value)
}

/** `"a", "b" or "c"`. */
const listed = (values: ReadonlyArray<string>): string =>
  values.length <= 1 ? values.join("") : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`

/** An option whose values a schema describes; `expected` says them in words. */
export const schema = (
  accepted: Schema.Constraint,
  expected: string,
  options: { readonly secret?: boolean } = {}
): Check => {
  const is = Schema.is(accepted)
  return (value, name) =>
    is(value) ? [] : [`option "${name}" must be ${expected}, got ${show(value, options.secret ?? false)}`]
}

/** One of a few literal values. */
export const oneOf = <const Values extends ReadonlyArray<string | number>>(...values: Values): Check =>
  schema(Schema.Literals(values), listed(values.map((value) => JSON.stringify(value))))

/** A string, not empty. */
export const nonEmptyString: Check = schema(Schema.NonEmptyString, "a non-empty string")

/** A UUID, as `ORGANIZATION_ID` and `PROJECT_ID` are. */
export const uuid: Check = schema(Schema.String.check(Schema.isUUID()), "a UUID")

/** A password: a string or a `Redacted` string, never shown. */
export const secret: Check = schema(
  Schema.Union([Schema.NonEmptyString, Schema.Redacted(Schema.String)]),
  "a non-empty string or a Redacted string",
  { secret: true }
)

/** `true` or `false`. */
export const boolean: Check = schema(Schema.Boolean, "true or false")

/** A whole number of at least 1. */
export const count: Check = schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), "a whole number of at least 1")

const durationUnits = new Set([
  "weeks",
  "days",
  "hours",
  "minutes",
  "seconds",
  "milliseconds",
  "microseconds",
  "nanoseconds"
])

/**
 * The duration Effect reads from a value, if it is one. Stricter than `Duration.fromInput`, which reads
 * a NaN number and any object (`{}`, `{ timeout: 5 }`) as zero: an option given such a value is a mistake.
 */
const readDuration = (u: unknown): Option.Option<Duration.Duration> => {
  if (typeof u === "number" && Number.isNaN(u)) return Option.none()
  if (Predicate.isObject(u) && !Duration.isDuration(u)) {
    const entries = Object.entries(u)
    const known = entries.length > 0 &&
      entries.every(([unit, n]) => durationUnits.has(unit) && (n === undefined || Number.isFinite(n)))
    if (!known) return Option.none()
  }
  return Duration.fromInput(u as Duration.Input)
}

/** A finite duration that Effect reads (`"5 seconds"`, milliseconds, a `Duration`); positive unless `allowZero`. */
export const duration = (options: { readonly allowZero?: boolean } = {}): Check => {
  const allowZero = options.allowZero === true
  return schema(
    Schema.declare((u): u is Duration.Input =>
      Option.exists(
        readDuration(u),
        (d) => Duration.isFinite(d) && (allowZero ? !Duration.isNegative(d) : Duration.isPositive(d))
      )
    ),
    `a ${allowZero ? "" : "positive, "}finite duration ("5 seconds", a number of milliseconds or a Duration)`
  )
}

/** An Effect `Schedule`. */
export const schedule: Check = schema(Schema.declare(Schedule.isSchedule), "an Effect Schedule")

/** One of a few names, or an Effect `Layer` (`layer` says which, e.g. "an Auth layer"). */
export const namesOrLayer = (names: ReadonlyArray<string>, layer: string): Check =>
  schema(
    Schema.Union([Schema.Literals(names), Schema.declare(Layer.isLayer)]),
    listed([...names.map((name) => JSON.stringify(name)), layer])
  )

/** A layer; `expected` says of what. */
export const layer = (expected: string): Check => schema(Schema.declare(Layer.isLayer), expected)

/** Any object: its own keys are not checked (e.g. mqtt.js's client options). */
export const anyObject: Check = schema(Schema.declare(Predicate.isObject), "an object")

/** An object with these methods, as a prototype may provide them (a pino logger has its methods there). */
export const methods = (names: ReadonlyArray<string>, expected: string): Check => (value, name) => {
  if (!Predicate.isObjectKeyword(value)) return [`option "${name}" must be ${expected}, got ${show(value, false)}`]
  const missing = names.filter((method) => typeof (value as Record<string, unknown>)[method] !== "function")
  return missing.length === 0 ? [] : [`option "${name}" must be ${expected}, got an object without ${listed(missing)}`]
}

/** Edits (insertions, deletions, substitutions) turning `a` into `b`. */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** The known name a typo most likely meant, if one is close enough. */
const closest = (name: string, known: ReadonlyArray<string>): string | undefined => {
  const lower = name.toLowerCase()
  const scored = known.map((candidate) => ({ candidate, d: distance(lower, candidate.toLowerCase()) }))
  const best = scored.sort((a, b) => a.d - b.d)[0]
  return best !== undefined && best.d <= Math.max(2, Math.floor(name.length / 4)) ? best.candidate : undefined
}

/** How an object of options is checked: its table, the names it must have, notes on names it lacks. */
export interface FieldsOptions {
  /** Options that must be given. */
  readonly required?: ReadonlyArray<string> | undefined
  /** Why a name that is not an option here is not, when it is one elsewhere. */
  readonly notes?: Readonly<Record<string, string>> | undefined
}

/** An object whose own options are checked by `table`: unknown names, missing ones, bad values. */
export const fields = (table: Readonly<Record<string, Check>>, options: FieldsOptions = {}): Check => (value, name) => {
  const prefix = name === "" ? "" : `${name}.`
  if (!Predicate.isObject(value)) {
    return [`${name === "" ? "the options" : `option "${name}"`} must be an object, got ${show(value, false)}`]
  }
  const known = Object.keys(table)
  const problems: Array<string> = []
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(table, key)) continue
    const note = options.notes?.[key]
    const guess = note === undefined ? closest(key, known) : undefined
    problems.push(
      `unknown option "${prefix}${key}"${
        note !== undefined ? `: ${note}` : guess !== undefined ? ` (did you mean "${prefix}${guess}"?)` : ""
      }`
    )
  }
  for (const key of known) {
    // `undefined` is the option left out, as the types say (`readonly x?: T | undefined`); a required
    // one left out is checked, so the error says what it must be.
    if (value[key] !== undefined || options.required?.includes(key) === true) {
      problems.push(...table[key]!(value[key], prefix + key))
    }
  }
  return problems
}

/** Checks options against their table: the options, or one `ConfigurationError` naming every problem. */
export const check = <A>(
  table: Readonly<Record<string, Check>>,
  options: A,
  settings: FieldsOptions = {}
): Result.Result<A, ConfigurationError> => {
  const problems = fields(table, settings)(options, "")
  return problems.length === 0 ? Result.succeed(options) : Result.fail(
    new ConfigurationError({ reason: "InvalidOption", detail: `invalid StellaNow options: ${problems.join("; ")}` })
  )
}
