/**
 * `messageOriginDateUTC`: when an event happened, in UTC, as it goes on the wire
 * (`2025-04-25T12:34:56.789012Z`, exactly six fractional digits and a literal `Z`).
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Construct from "./internal/construct.js"
import { ValidationError } from "./StellaNowError.js"

/**
 * What a caller may give as an origin date: a wire-style string with 1 to 6 fractional digits, a valid
 * JavaScript `Date`, or an Effect `DateTime` in UTC.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = string | Date | DateTime.DateTime

const isoPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{1,6})Z$/

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28)
    : [4, 6, 9, 11].includes(month)
    ? 30
    : 31

const rule = "expected a UTC date-time like 2025-04-25T12:34:56.789012Z " +
  "(1 to 6 fractional digits, a literal Z, no offset)"

const invalid = (detail: string) =>
  Result.fail(new ValidationError({ reason: "InvalidOriginDate", field: "messageOriginDateUTC", detail }))

/**
 * Validates a wire-style string and pads its fraction to six digits.
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromString = (input: string): Result.Result<string, ValidationError> => {
  const match = isoPattern.exec(input)
  if (match === null) {
    return invalid(`${JSON.stringify(input)} is not valid: ${rule}`)
  }
  const [, y, mo, d, h, mi, s, fraction] = match as unknown as ReadonlyArray<string>
  const year = Number(y), month = Number(mo), day = Number(d)
  if (
    month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    Number(h) > 23 || Number(mi) > 59 || Number(s) > 59
  ) {
    return invalid(`${JSON.stringify(input)} is not a real calendar date and time`)
  }
  return Result.succeed(`${input.slice(0, 20)}${fraction!.padEnd(6, "0")}Z`)
}

/** The formatted millisecond of the last stamp: the messages of a burst share it. */
let lastMillis = { millis: Number.NaN, prefix: "" }

/**
 * Formats epoch microseconds as the wire string.
 *
 * @since 0.1.0
 * @category formatting
 */
export const fromEpochMicros = (micros: number): Result.Result<string, ValidationError> => {
  const millis = Math.floor(micros / 1000)
  if (millis !== lastMillis.millis) {
    const iso = new Date(millis).toISOString()
    if (!/^\d{4}-/.test(iso)) {
      return invalid(`${iso} is outside the years 0000 to 9999`)
    }
    lastMillis = { millis, prefix: iso.slice(0, 23) }
  }
  const subMillis = Math.floor(micros - millis * 1000)
  return Result.succeed(`${lastMillis.prefix}${subMillis < 10 ? "00" : subMillis < 100 ? "0" : ""}${subMillis}Z`)
}

const isUtcZone = (zone: DateTime.TimeZone): boolean =>
  DateTime.isTimeZoneOffset(zone)
    ? zone.offset === 0
    : ["UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"].includes(zone.id)

/**
 * Validates any accepted input and gives the wire string.
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromInput = (input: unknown): Result.Result<string, ValidationError> => {
  if (typeof input === "string") return fromString(input)
  if (input instanceof Date) {
    const millis = input.getTime()
    return Number.isNaN(millis) ? invalid("the Date is invalid (NaN)") : fromEpochMicros(millis * 1000)
  }
  if (DateTime.isDateTime(input)) {
    if (DateTime.isZoned(input) && !isUtcZone(input.zone)) {
      return invalid(
        `the DateTime is in zone ${DateTime.zoneToString(input.zone)}, not UTC; convert it with DateTime.toUtc first`
      )
    }
    return fromEpochMicros(DateTime.toEpochMillis(input) * 1000)
  }
  const shown = Predicate.isObjectKeyword(input) ? Object.prototype.toString.call(input) : String(input)
  return invalid(`${shown} is not a string, a Date or a DateTime`)
}

/**
 * The schema of an origin date as a caller gives it: accepts exactly what {@link fromInput} accepts,
 * and a refusal carries {@link fromInput}'s words, which quote the value and say what was wrong with it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputSchema: Schema.declare<Input> = Schema.declareConstructor<Input>()(
  [],
  // `declare` alone could only say "expected an OriginDate"; a static `message` could not quote the value.
  () => (input) =>
    Result.match(fromInput(input), {
      onFailure: (error) => Effect.fail(new SchemaIssue.InvalidValue({ message: error.detail })),
      onSuccess: () => Effect.succeed(input as Input)
    }),
  {
    identifier: "OriginDate",
    description: "a UTC date-time: an ISO string with 1 to 6 fractional digits and Z, a Date, or a UTC DateTime"
  }
)

Construct.register(InputSchema)
