import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConfigurationError } from "../StellaNowError.js"

/** The error of a bad option, naming it. */
export const invalid = (detail: string): ConfigurationError =>
  new ConfigurationError({ reason: "InvalidOption", detail })

/** A duration option: finite, and positive unless `allowZero`. */
export const duration = (
  value: Duration.Input | undefined,
  fallback: Duration.Input,
  name: string,
  options: { readonly allowZero?: boolean } = {}
): Effect.Effect<Duration.Duration, ConfigurationError> => {
  const allowZero = options.allowZero === true
  const mustBe = `${name} must be a ${allowZero ? "" : "positive, "}finite duration`
  // Effect reads a NaN number of milliseconds as zero, which an option allowing zero would take.
  if (typeof value === "number" && !(value >= 0)) return Effect.fail(invalid(`${mustBe}, got ${value}`))
  return Option.match(Duration.fromInput(value ?? fallback), {
    onNone: () => Effect.fail(invalid(`${name} is not a duration: ${String(value)}`)),
    // Effect 4 durations may be negative ("-5 seconds"): refused as well as the infinite ones.
    onSome: (d) =>
      Duration.isFinite(d) && (allowZero ? !Duration.isNegative(d) : Duration.isPositive(d))
        ? Effect.succeed(d)
        : Effect.fail(invalid(`${mustBe}, got ${Duration.format(d)}`))
  })
}

/** A count option: a whole number of at least 1. */
export const count = (
  value: number | undefined,
  fallback: number,
  name: string
): Effect.Effect<number, ConfigurationError> => {
  const n = value ?? fallback
  return Number.isSafeInteger(n) && n >= 1
    ? Effect.succeed(n)
    : Effect.fail(invalid(`${name} must be a whole number of at least 1, got ${String(n)}`))
}
