/**
 * The event and model definitions of the StellaNow console (WIRE.md §8), as the console exports them
 * in JSON: `{ "events": [...], "models": [...] }`. Keys the generator does not need (`subfields`,
 * `path`, `modelFieldId`, ...) are accepted and ignored.
 *
 * @since 0.1.0
 */
import { Effect, Predicate, Result, Schema, SchemaIssue } from "effect"
import type { StandardSchemaV1 } from "effect/StandardSchema"
import { GeneratorError } from "./GeneratorError.js"

/**
 * A list the console may leave out: a missing key reads as an empty list. (JSON has no `undefined`, so
 * only the key's absence is defaulted; `null` is refused like any other non-list.)
 */
const listOf = <S extends Schema.Top>(item: S) =>
  Schema.Array(item).pipe(Schema.withDecodingDefaultKey(Effect.sync((): ReadonlyArray<S["Encoded"]> => [])))

/**
 * A field's type: `value` is one of `Decimal`, `Integer`, `Boolean`, `String`, `Date`, `DateTime`,
 * `Model` (with `modelRef`, the id or name of a model) or `Any`. Any string is read here; the
 * generator refuses the unknown ones, naming the event and field.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FieldType = Schema.Struct({
  value: Schema.String,
  modelRef: Schema.optional(Schema.NullOr(Schema.String))
}).annotate({ identifier: "FieldType" })

/**
 * @since 0.1.0
 * @category models
 */
export interface FieldType extends Schema.Schema.Type<typeof FieldType> {}

/**
 * A field of an event or a model. Event fields say whether they are `required`; model fields have no
 * `required` key and are optional. An event field's `subfields` only repeat its model's fields, so they
 * are ignored: the model definitions are the source of truth.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Field = Schema.Struct({
  id: Schema.optional(Schema.String),
  name: Schema.String,
  fieldType: FieldType,
  required: Schema.optional(Schema.NullOr(Schema.Boolean))
}).annotate({ identifier: "Field" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Field extends Schema.Schema.Type<typeof Field> {}

/**
 * An entity type an event is about, e.g. `patron`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Entity = Schema.Struct({
  id: Schema.optional(Schema.String),
  name: Schema.String
}).annotate({ identifier: "Entity" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Entity extends Schema.Schema.Type<typeof Entity> {}

/**
 * An event definition.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Event = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  projectId: Schema.optional(Schema.NullOr(Schema.String)),
  isActive: Schema.optional(Schema.NullOr(Schema.Boolean)),
  description: Schema.optional(Schema.NullOr(Schema.String)),
  fields: listOf(Field),
  entities: listOf(Entity)
}).annotate({ identifier: "Event" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Event extends Schema.Schema.Type<typeof Event> {}

/**
 * A model definition: the shape of a nested object that `Model` fields hold.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Model = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  description: Schema.optional(Schema.NullOr(Schema.String)),
  fields: listOf(Field)
}).annotate({ identifier: "Model" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Model extends Schema.Schema.Type<typeof Model> {}

/**
 * A set of definitions, as the console exports them (and as `vectors/event-definitions.json` holds).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Definitions = Schema.Struct({
  events: listOf(Event),
  models: listOf(Model)
}).annotate({ identifier: "Definitions" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Definitions extends Schema.Schema.Type<typeof Definitions> {}

const nameAt = (json: unknown, key: string, index: unknown): string | undefined => {
  if (!Predicate.isObject(json) || typeof index !== "number") return undefined
  const list = json[key]
  if (!Array.isArray(list)) return undefined
  const item: unknown = list[index]
  return Predicate.isObject(item) && typeof item.name === "string" ? item.name : undefined
}

/** Where an issue is, in the words of the console: `event "x", field "y" (events[2].fields[1].fieldType)`. */
const locate = (json: unknown, path: ReadonlyArray<PropertyKey>): Pick<GeneratorError, "event" | "model" | "field"> & {
  readonly at: string
} => {
  const at = path.map((key) => typeof key === "number" ? `[${key}]` : `.${String(key)}`).join("").replace(/^\./, "")
  const [list, index, fieldsKey, fieldIndex] = path
  if ((list !== "events" && list !== "models") || typeof index !== "number") return { at }
  const definition = Predicate.isObject(json) && Array.isArray(json[list]) ? json[list][index] : undefined
  const name = nameAt(json, list, index)
  const field = fieldsKey === "fields" || fieldsKey === "entities"
    ? nameAt(definition, fieldsKey, fieldIndex)
    : undefined
  return {
    at,
    ...(name === undefined ? {} : list === "events" ? { event: name } : { model: name }),
    ...(field === undefined ? {} : { field })
  }
}

// Every problem is collected (the first is reported, the rest are in the cause); the input a problem
// rejects is quoted in its message, as in "Expected string, got 7".
const decodeDefinitions = Schema.decodeUnknownResult(Definitions, {
  errors: "all",
  onExcessProperty: "ignore",
  reportInput: true
})

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** A Standard Schema issue's path as plain keys (a segment may be a key or `{ key }`). */
const pathKeys = (path: StandardSchemaV1.Issue["path"]): ReadonlyArray<PropertyKey> =>
  (path ?? []).map((segment) => typeof segment === "object" ? segment.key : segment)

const notDefinitions = (source: string): string => `${source} does not hold console definitions (WIRE.md §8)`

/**
 * Reads definitions from already-parsed JSON. A problem names the event or model and the field where
 * the JSON says so, and gives the path of the offending key.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown = (json: unknown, source = "the input"): Result.Result<Definitions, GeneratorError> =>
  !Predicate.isObject(json)
    ? Result.fail(
      new GeneratorError({
        reason: "InvalidInput",
        detail: `${notDefinitions(source)}: expected an object with "events" and "models"`
      })
    )
    : decodeDefinitions(json).pipe(
      Result.mapError((error) => {
        const [first] = formatIssues(error.issue).issues
        const { at, ...where } = first === undefined ? { at: "" } : locate(json, pathKeys(first.path))
        return new GeneratorError({
          reason: "InvalidInput",
          ...where,
          detail: `${notDefinitions(source)}${at === "" ? "" : ` at ${at}`}: ${first?.message ?? error.message}`,
          cause: error
        })
      })
    )

/**
 * Reads definitions from JSON text. `source` (a file name, or "standard input") appears in errors.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeJson = (text: string, source = "the input"): Result.Result<Definitions, GeneratorError> =>
  Result.try({
    try: (): unknown => JSON.parse(text),
    catch: (cause) =>
      new GeneratorError({
        reason: "InvalidInput",
        detail: `${source} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
  }).pipe(Result.flatMap((json) => decodeUnknown(json, source)))
