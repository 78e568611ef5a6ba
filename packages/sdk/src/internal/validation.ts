import { ParseResult } from "effect"
import { ValidationError } from "../StellaNowError.js"

/** Where a parse error happened: in an event (with its entity names) or in a model. */
export interface Context {
  readonly event?: string | undefined
  readonly entityNames?: ReadonlyArray<string>
  readonly model?: string | undefined
}

/**
 * Turns a schema's parse error into the SDK's one validation error: who refused the value (the event or
 * the model), the dotted path of the field, and the rule, in the words of the schema.
 */
export const fromParseError = (
  error: ParseResult.ParseError,
  context: Context
): ValidationError => {
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const path = first?.path.map(String) ?? []
  const field = path.length === 0 ? undefined : path.join(".")
  const reason = field === "messageOriginDateUTC"
    ? "InvalidOriginDate"
    : path.length === 1 && context.entityNames?.includes(path[0]!)
    ? (first?._tag === "Missing" ? "MissingEntity" : "InvalidEntity")
    : "InvalidField"
  return new ValidationError({
    reason,
    detail: first?.message ?? error.message,
    ...(context.event === undefined ? {} : { event: context.event }),
    ...(context.model === undefined ? {} : { model: context.model }),
    ...(field === undefined ? {} : { field })
  })
}

/** What a Schema class constructor threw, as the SDK's validation error when it was a parse error. */
export const rethrow = (
  error: unknown,
  context: Context
): unknown => ParseResult.isParseError(error) ? fromParseError(error, context) : error

/** The same validation error, naming the event it happened in. */
export const withEvent = (error: ValidationError, event: string): ValidationError =>
  new ValidationError({
    reason: error.reason,
    event,
    detail: error.detail,
    ...(error.field === undefined ? {} : { field: error.field })
  })
