import { Formatter, type Schema, SchemaIssue } from "effect"
import { ValidationError } from "../StellaNowError.js"

/** Where a schema issue happened: in an event (with its entity names) or in a model. */
export interface Context {
  readonly event?: string | undefined
  readonly entityNames?: ReadonlyArray<string>
  readonly model?: string | undefined
}

/**
 * The options a message or model constructor runs the schema with: the refused value is kept in the
 * issue, so the message can quote it ("Expected an integer, actual 1.5"), as the SDK's messages always
 * have. The caller's own options win.
 */
export const makeOptions = (options: Schema.MakeOptions | undefined): Schema.MakeOptions =>
  options === undefined ? reportingInput : { ...options, parseOptions: { reportInput: true, ...options.parseOptions } }

const reportingInput: Schema.MakeOptions = { parseOptions: { reportInput: true } }

/** The first problem of an issue tree, and the path down to it: what a caller fixes first. */
const firstProblem = (
  issue: SchemaIssue.Issue,
  path: ReadonlyArray<PropertyKey>
): { readonly issue: SchemaIssue.Issue; readonly path: ReadonlyArray<PropertyKey> } => {
  switch (issue._tag) {
    case "Pointer":
      return firstProblem(issue.issue, [...path, ...issue.path])
    case "Composite":
      return firstProblem(issue.issues[0], path)
    case "AnyOf":
      return issue.issues.length > 0 ? firstProblem(issue.issues[0]!, path) : { issue, path }
    default:
      return { issue, path }
  }
}

/**
 * Effect 4's words, in the SDK's documented wording: a missing key "is missing", and a refused value is
 * "Expected …, actual …" (Effect 4 says "Missing key" and "Expected …, got …"). Messages of the SDK's own
 * schemas are left as they are.
 */
const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => issue._tag === "MissingKey" ? "is missing" : SchemaIssue.defaultLeafHook(issue)
})

const reword = (message: string): string => {
  const got = /^(Expected .*), got (.*)$/s.exec(message)
  return got === null ? message : `${got[1]}, actual ${got[2]}`
}

/**
 * Turns a schema issue into the SDK's one validation error: who refused the value (the event or the
 * model), the dotted path of the field, and the rule, in the words of the schema.
 */
export const fromIssue = (issue: SchemaIssue.Issue, context: Context): ValidationError => {
  const problem = firstProblem(issue, [])
  const [first] = formatter(problem.issue).issues
  const path = [...problem.path, ...(first?.path ?? [])].map((key) => typeof key === "object" ? key.key : key)
    .map(String)
  const field = path.length === 0 ? undefined : path.join(".")
  const message = first === undefined ? Formatter.format(issue) : reword(first.message)
  const reason = field === "messageOriginDateUTC"
    ? "InvalidOriginDate"
    : path.length === 1 && context.entityNames?.includes(path[0]!)
    ? (problem.issue._tag === "MissingKey" ? "MissingEntity" : "InvalidEntity")
    : "InvalidField"
  return new ValidationError({
    reason,
    detail: message,
    ...(context.event === undefined ? {} : { event: context.event }),
    ...(context.model === undefined ? {} : { model: context.model }),
    ...(field === undefined ? {} : { field })
  })
}

/**
 * What a Schema class constructor threw, as the SDK's validation error when it was a schema failure
 * (an `Error` whose `cause` is the issue).
 */
export const rethrow = (error: unknown, context: Context): unknown =>
  error instanceof Error && SchemaIssue.isIssue(error.cause) ? fromIssue(error.cause, context) : error

/** The same validation error, naming the event it happened in. */
export const withEvent = (error: ValidationError, event: string): ValidationError =>
  new ValidationError({
    reason: error.reason,
    event,
    detail: error.detail,
    ...(error.field === undefined ? {} : { field: error.field })
  })
