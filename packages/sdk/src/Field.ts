/**
 * The field kinds of a StellaNow event, as the Operators Console defines them, each a `Schema` whose
 * encoded side is exactly what goes on the wire (WIRE.md §1): numbers stay numbers, booleans stay
 * booleans, date-times are UTC strings with six fractional digits, dates are `YYYY-MM-DD`, models are
 * objects, and an absent optional field is `null`.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import { Either, Option, ParseResult, Schema } from "effect"
import * as Payload from "./internal/payload.js"
import * as OriginDate from "./OriginDate.js"

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

const DateInputSchema: Schema.Schema<DateInput> = Schema.Union(
  Schema.String.pipe(Schema.filter(isCalendarDate, { message: () => "expected a real calendar date as YYYY-MM-DD" })),
  Schema.ValidDateFromSelf
)

/**
 * `Date`: a calendar day, sent as `YYYY-MM-DD`.
 *
 * @since 0.1.0
 * @category fields
 */
export const Date: Schema.Schema<DateInput, string> = Schema.transform(Schema.String, DateInputSchema, {
  strict: true,
  decode: (wire) => wire,
  encode: (input) => typeof input === "string" ? input : input.toISOString().slice(0, 10)
})

/**
 * `DateTime`: an instant, sent as a UTC string with exactly six fractional digits
 * (`2025-04-25T12:34:56.789012Z`). Accepts what an origin date accepts.
 *
 * @since 0.1.0
 * @category fields
 */
export const DateTime: Schema.Schema<OriginDate.Input, string> = Schema.transformOrFail(
  Schema.String,
  OriginDate.InputSchema,
  {
    strict: true,
    decode: (wire, _, ast) =>
      Either.match(OriginDate.fromString(wire), {
        onLeft: (e) => ParseResult.fail(new ParseResult.Type(ast, wire, e.detail)),
        onRight: ParseResult.succeed
      }),
    encode: (input, _, ast) =>
      Either.match(OriginDate.fromInput(input), {
        onLeft: (e) => ParseResult.fail(new ParseResult.Type(ast, input, e.detail)),
        onRight: ParseResult.succeed
      })
  }
)

/**
 * A JSON value: what an `Any` field may hold.
 *
 * @since 0.1.0
 * @category models
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** Whether a value has a JSON form: a cycle, a function, `undefined`, `NaN` or a class instance has none. */
const isJson = (value: unknown, ancestors: Set<object> = new Set()): boolean => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true
  if (typeof value === "number") return Number.isFinite(value)
  if (typeof value !== "object" || ancestors.has(value)) return false
  const prototype = Object.getPrototypeOf(value)
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return false
  ancestors.add(value)
  const ok = Object.values(value).every((item) => isJson(item, ancestors))
  ancestors.delete(value)
  return ok
}

const JsonSchema: Schema.Schema<Json> = Schema.declare((u): u is Json => isJson(u), {
  identifier: "Json",
  message: () =>
    "expected a JSON value: null, a boolean, a finite number, a string, an array or a plain object, without cycles"
})

/**
 * `Any`: any JSON value, sent as it is.
 *
 * @since 0.1.0
 * @category fields
 */
export const Any: Schema.Schema<Json> = JsonSchema

/**
 * An optional field: it may be left out (or given as `undefined` or `null`) when the message is made,
 * and then goes on the wire as `null`.
 *
 * @since 0.1.0
 * @category fields
 */
export const optional = <A, I, R>(
  field: Schema.Schema<A, I, R>
): Schema.PropertySignature<"?:", A | null | undefined, never, ":", I | null, false, R> => {
  const signature = Schema.requiredToOptional(Schema.NullOr(Schema.encodedSchema(field)), Schema.NullishOr(field), {
    decode: Option.fromNullable,
    encode: (value) => Option.getOrNull(value) ?? null
  })
  Payload.registerOptional(signature, field)
  return signature
}
