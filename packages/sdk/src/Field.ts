/**
 * The field kinds of a StellaNow event, as the Operators Console defines them, each a `Schema` whose
 * encoded side is exactly what goes on the wire (WIRE.md §1): numbers stay numbers, booleans stay
 * booleans, date-times are UTC strings with six fractional digits, dates are `YYYY-MM-DD`, models are
 * objects, and an absent optional field is `null`.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as Construct from "./internal/construct.js"
import * as Payload from "./internal/payload.js"
import * as Validation from "./internal/validation.js"
import * as OriginDate from "./OriginDate.js"
import type { ValidationError } from "./StellaNowError.js"

/**
 * `String`: a JSON string.
 *
 * @since 0.1.0
 * @category fields
 */
export const String: typeof Schema.String = Schema.String

/**
 * `Integer`: a safe integer, sent as a JSON number.
 *
 * @since 0.1.0
 * @category fields
 */
export const Integer: typeof Schema.Int = Schema.Int

/**
 * `Decimal`: a finite number, sent as a JSON number (`NaN` and infinities have no JSON form).
 *
 * @since 0.1.0
 * @category fields
 */
export const Decimal: typeof Schema.Finite = Schema.Finite

/**
 * `Boolean`: sent as a JSON boolean.
 *
 * @since 0.1.0
 * @category fields
 */
export const Boolean: typeof Schema.Boolean = Schema.Boolean

const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/

const isCalendarDate = (s: string): boolean => {
  const match = datePattern.exec(s)
  if (match === null) return false
  const date = new globalThis.Date(`${s}T00:00:00.000Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(s)
}

/**
 * What a `Date` field accepts: a `YYYY-MM-DD` string naming a real day, or a valid JavaScript `Date`
 * (its UTC day is sent).
 *
 * @since 0.1.0
 * @category models
 */
export type DateInput = string | globalThis.Date

const DateInputSchema = Schema.Union([
  Schema.String.check(
    Schema.makeFilter(isCalendarDate, { message: "expected a real calendar date as YYYY-MM-DD" })
  ),
  Schema.Date
])

/**
 * `Date`: a calendar day, sent as `YYYY-MM-DD`.
 *
 * @since 0.1.0
 * @category fields
 */
export const Date: Schema.Codec<DateInput, string> = Schema.String.pipe(
  Schema.decodeTo(
    DateInputSchema,
    SchemaTransformation.transform<DateInput, string>({
      decode: (wire) => wire,
      encode: (input) => typeof input === "string" ? input : input.toISOString().slice(0, 10)
    })
  )
)

// Its type side takes a value as it is: a message or model checks it with the schema's own guard.
Construct.register(Date)

/** A check of `OriginDate` as a schema step: its `ValidationError`'s words become the issue's message. */
const originDateStep = <E>(check: (value: E) => Result.Result<string, ValidationError>) =>
  SchemaGetter.transformEffect((value: E) =>
    Result.match(check(value), {
      onFailure: (error) => Effect.fail(new SchemaIssue.InvalidValue({ message: error.detail })),
      onSuccess: Effect.succeed
    })
  )

/**
 * `DateTime`: an instant, sent as a UTC string with exactly six fractional digits
 * (`2025-04-25T12:34:56.789012Z`). Accepts what an origin date accepts.
 *
 * @since 0.1.0
 * @category fields
 */
export const DateTime: Schema.Codec<OriginDate.Input, string> = Schema.String.pipe(
  Schema.decodeTo(OriginDate.InputSchema, {
    decode: originDateStep<string>(OriginDate.fromString),
    encode: originDateStep<OriginDate.Input>(OriginDate.fromInput)
  })
)

Construct.register(DateTime)

/**
 * A JSON value: what an `Any` field may hold.
 *
 * @since 0.1.0
 * @category models
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * How deep an `Any` value may nest: objects and arrays inside one another, the outermost counting as
 * one level. Deeper values are refused with a `ValidationError` of reason `TooDeep`, since walking,
 * quoting and serializing them would overflow the call stack.
 *
 * @since 0.2.0
 * @category constants
 */
export const maxDepth: number = Validation.maxDepth

type JsonCheck = "json" | "notJson" | "tooDeep"

/** A value's JSON form, when it is not an array or object; `undefined` when it is one. */
const checkLeaf = (value: unknown): JsonCheck | undefined => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return "json"
  if (typeof value === "number") return Number.isFinite(value) ? "json" : "notJson"
  return typeof value === "object" ? undefined : "notJson"
}

/**
 * Whether a value has a JSON form (a cycle, a function, `undefined`, `NaN` or a class instance has none)
 * within `maxDepth` levels. Walked with a stack of its own, never by recursion, so no value can
 * overflow the call stack.
 */
const checkJson = (root: unknown): JsonCheck => {
  const leaf = checkLeaf(root)
  if (leaf !== undefined) return leaf
  const ancestors = new Set<object>()
  const path: Array<{ readonly object: object; readonly items: ReadonlyArray<unknown>; next: number }> = []
  const enter = (object: object): JsonCheck | undefined => {
    const prototype = Object.getPrototypeOf(object)
    if (ancestors.has(object)) return "notJson"
    if (!Array.isArray(object) && prototype !== Object.prototype && prototype !== null) return "notJson"
    if (path.length === maxDepth) return "tooDeep"
    ancestors.add(object)
    path.push({ object, items: Object.values(object), next: 0 })
    return undefined
  }
  const refused = enter(root as object)
  if (refused !== undefined) return refused
  while (path.length > 0) {
    const top = path[path.length - 1]!
    if (top.next === top.items.length) {
      ancestors.delete(top.object)
      path.pop()
      continue
    }
    const item = top.items[top.next++]
    const itemLeaf = checkLeaf(item)
    const problem = itemLeaf === undefined ? enter(item as object) : itemLeaf === "json" ? undefined : itemLeaf
    if (problem !== undefined) return problem
  }
  return "json"
}

/**
 * The answer of the schema's guard, kept for its depth check, which runs right after on the same value
 * and takes it; never reused later, since the value may have changed since.
 */
let lastChecked: { readonly value: unknown; readonly answer: JsonCheck } | undefined

const guardJson = (value: unknown): boolean => {
  const answer = checkJson(value)
  lastChecked = { value, answer }
  return answer !== "notJson"
}

const isShallowEnough = (value: unknown): boolean => {
  const kept = lastChecked
  const answer = kept !== undefined && kept.value === value ? kept.answer : checkJson(value)
  lastChecked = undefined
  return answer !== "tooDeep"
}

const JsonSchema: Schema.declare<Json> = Schema.declare((u): u is Json => guardJson(u), {
  identifier: "Json",
  message: "expected a JSON value: null, a boolean, a finite number, a string, an array or a plain object, " +
    "without cycles"
}).check(Schema.makeFilter(isShallowEnough, { message: Validation.tooDeepMessage }))

/**
 * `Any`: any JSON value, sent as it is.
 *
 * @since 0.1.0
 * @category fields
 */
export const Any: Schema.declare<Json> = JsonSchema

Construct.register(Any)

/**
 * The schema of an optional field: on the type side an optional key that may also hold `undefined` or
 * `null`; on the wire a required key, `null` when absent.
 *
 * @since 0.1.0
 * @category models
 */
export interface optional<S extends Schema.Top>
  extends Schema.decodeTo<Schema.optional<Schema.NullOr<S>>, Schema.NullOr<Schema.toEncoded<S>>>
{}

/**
 * An optional field: it may be left out (or given as `undefined` or `null`) when the message is made,
 * and then goes on the wire as `null`.
 *
 * @since 0.1.0
 * @category fields
 */
export const optional = <S extends Schema.Top>(field: S): optional<S> => {
  const signature = Schema.NullOr(Schema.toEncoded(field)).pipe(
    Schema.decodeTo(Schema.optional(Schema.NullOr(field)), {
      // `null` on the wire reads back as an absent key; absent, `undefined` and `null` are all sent as `null`.
      decode: SchemaGetter.transformOptional(Option.filter(Predicate.isNotNull)),
      encode: SchemaGetter.transformOptional((value) => Option.some(Option.getOrNull(value) ?? null))
    })
  )
  Payload.registerOptional(signature, field)
  return signature
}
