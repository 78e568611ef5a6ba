import { Duration, Either } from "effect"
import { ConfigurationError } from "../StellaNowError.js"

/** The error of a bad option, naming it. */
export const invalid = (detail: string): ConfigurationError =>
  new ConfigurationError({ reason: "InvalidOption", detail })

/** A duration option: finite, and positive unless `allowZero`. */
export const duration = (
  value: Duration.DurationInput | undefined,
  fallback: Duration.DurationInput,
  name: string,
  options: { readonly allowZero?: boolean } = {}
): Either.Either<Duration.Duration, ConfigurationError> => {
  const mustBe = `${name} must be a ${options.allowZero === true ? "" : "positive, "}finite duration`
  // Effect reads a negative or NaN number of milliseconds as zero, which an option allowing zero would take.
  if (typeof value === "number" && !(value >= 0)) return Either.left(invalid(`${mustBe}, got ${value}`))
  return Either.flatMap(
    Either.try({
      try: () => Duration.decode(value ?? fallback),
      catch: () => invalid(`${name} is not a duration: ${String(value)}`)
    }),
    (d) =>
      Duration.isFinite(d) && (options.allowZero === true || Duration.greaterThan(d, Duration.zero))
        ? Either.right(d)
        : Either.left(invalid(`${mustBe}, got ${Duration.format(d)}`))
  )
}

/** A count option: a whole number of at least 1. */
export const count = (
  value: number | undefined,
  fallback: number,
  name: string
): Either.Either<number, ConfigurationError> => {
  const n = value ?? fallback
  return Number.isSafeInteger(n) && n >= 1
    ? Either.right(n)
    : Either.left(invalid(`${name} must be a whole number of at least 1, got ${String(n)}`))
}
