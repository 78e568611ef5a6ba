import * as Cause from "effect/Cause"
import * as Formatter from "effect/Formatter"
import type * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as SchemaIssue from "effect/SchemaIssue"
import { ValidationError } from "../StellaNowError.js"
import type * as Payload from "./payload.js"

/** How deep an `Any` value may nest (`Field.maxDepth`). */
export const maxDepth = 256

/** The rule a too deeply nested value breaks; its validation error's reason is `TooDeep`. */
export const tooDeepMessage = `nested more than ${maxDepth} levels deep`

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
    case "Encoding":
      return firstProblem(issue.issue, path)
    case "Composite":
      return firstProblem(issue.issues[0], path)
    case "AnyOf":
      return issue.issues.length > 0 ? firstProblem(issue.issues[0]!, path) : { issue: withoutAbsence(issue), path }
    default:
      return { issue, path }
  }
}

/** The members of a union, nested unions flattened, but for `null` and `undefined`. */
const presentMembers = (ast: SchemaAST.AST): ReadonlyArray<SchemaAST.AST> =>
  SchemaAST.isUnion(ast)
    ? ast.types.flatMap(presentMembers)
    : SchemaAST.isNull(ast) || SchemaAST.isUndefined(ast)
    ? []
    : [ast]

/**
 * An optional field's value of no accepted type, refused as its kind alone refuses it: "Expected number",
 * not "Expected number | null | undefined", since `null` and `undefined` only stand for the field left out.
 */
const withoutAbsence = (issue: SchemaIssue.AnyOf): SchemaIssue.Issue => {
  const members = presentMembers(issue.ast)
  if (members.length !== 1 || members.length === issue.ast.types.length) return issue
  return "input" in issue
    ? new SchemaIssue.InvalidType(members[0]!, issue.input, reportingInput.parseOptions)
    : new SchemaIssue.InvalidType(members[0]!)
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
  const reason = message === tooDeepMessage
    ? "TooDeep"
    : field === "messageOriginDateUTC"
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
 * A value given where a model is declared that is not that model, as the issue the schema would report.
 * Effect 4's class constructors make a nested class from a plain object of its fields; a model field
 * takes the model itself (`new PhoneNumberModel(…)`), as its type says and as the SDK has always
 * checked, so that the error names the model expected.
 */
export const notModels = (fields: ReadonlyArray<Payload.ModelField>, props: unknown): SchemaIssue.Issue | undefined => {
  if (fields.length === 0 || typeof props !== "object" || props === null) return undefined
  for (const { is, model, name, optional } of fields) {
    const value = (props as Record<string, unknown>)[name]
    if (optional && (value === undefined || value === null)) continue
    // Left out when required: the schema reports the missing key.
    if (!optional && value === undefined) continue
    if (!is(value)) {
      return new SchemaIssue.Pointer([name], new SchemaIssue.InvalidType(model.ast, value, reportingInput.parseOptions))
    }
  }
  return undefined
}

/**
 * Whether a throw was the call stack overflowing (a `RangeError`), as thrown or as Effect's schema
 * parser wraps it (an `Error` whose `cause` is a `Cause` that died of it). Followed a few links only.
 */
export const isStackOverflow = (error: unknown, links = 4): boolean => {
  if (error instanceof RangeError) return true
  if (links === 0) return false
  if (Cause.isCause(error)) {
    return error.reasons.some((reason) => Cause.isDieReason(reason) && isStackOverflow(reason.defect, links - 1))
  }
  return error instanceof Error && isStackOverflow(error.cause, links - 1)
}

/**
 * A value too deep to check at all (a schema of the user's own that recursed until the stack ran out):
 * the validation error of reason `TooDeep`, naming who refused it.
 */
export const tooDeep = (context: Context): ValidationError =>
  new ValidationError({
    reason: "TooDeep",
    detail:
      `a value is nested too deeply to check (the call stack overflowed); ${tooDeepMessage} is the limit of Field.Any`,
    ...(context.event === undefined ? {} : { event: context.event }),
    ...(context.model === undefined ? {} : { model: context.model })
  })

/**
 * What a Schema class constructor threw, as the SDK's validation error when it was a schema failure
 * (an `Error` whose `cause` is the issue).
 */
export const rethrow = (error: unknown, context: Context): unknown =>
  error instanceof Error && SchemaIssue.isIssue(error.cause)
    ? fromIssue(error.cause, context)
    : isStackOverflow(error)
    ? tooDeep(context)
    : error

/** The same validation error, naming the event it happened in. */
export const withEvent = (error: ValidationError, event: string): ValidationError =>
  new ValidationError({
    reason: error.reason,
    event,
    detail: error.detail,
    ...(error.field === undefined ? {} : { field: error.field })
  })
