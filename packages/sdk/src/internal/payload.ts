import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"

/**
 * The payload encoder of a message class, made once per class.
 *
 * `sendMessage` encodes every message's fields. Encoding through the class's `Schema` is correct but
 * cost 6.2 µs for the seed's message under Effect 3, and still 1.9 µs under Effect 4, more than the rest
 * of wrapping it, so the fields made of the SDK's own kinds (`Field.*`, `Field.optional`, `Model.Class`)
 * get a direct encoder (0.5 µs). It checks everything the schema checks, never less; a value it would refuse, and any field it does not know, is encoded by the schema
 * itself, which gives the same bytes, or the error that names the field and the rule.
 */

/** What a field encoder gives for a value it does not accept: the schema decides. */
const Refused: unique symbol = Symbol("Refused")

type FieldEncoder = (value: unknown) => unknown

/** `Field.optional(field)` signatures, with the field inside. */
const optionals = new WeakMap<object, Schema.Top>()

/** `Model.Class` classes, with their fields. */
const models = new WeakMap<object, Schema.Struct.Fields>()

/**
 * The fields of a model class made by `Model.Class`, or of a plain subclass of one (the usual
 * `class PhoneNumberModel extends Model.Class(...)(...) {}`); not of a class made by `extend`, which
 * has fields of its own.
 */
const modelFields = (field: object): Schema.Struct.Fields | undefined => {
  for (let c: object | null = field; c !== null; c = Object.getPrototypeOf(c)) {
    const fields = models.get(c)
    if (fields !== undefined) return (field as { readonly fields?: unknown }).fields === fields ? fields : undefined
  }
  return undefined
}

/** Whether a class is a `Model.Class` or a subclass of one. */
export const isModel = (field: object): boolean => {
  for (let c: object | null = field; c !== null; c = Object.getPrototypeOf(c)) {
    if (models.has(c)) return true
  }
  return false
}

/** A field that holds a model: `Model.Class`, or `Field.optional` of one. */
export interface ModelField {
  readonly name: string
  readonly model: Schema.Top
  /** Whether a value is an instance of the model. */
  readonly is: (value: unknown) => boolean
  /** Whether it may be left out (`undefined` or `null`). */
  readonly optional: boolean
}

/** The fields among `fields` that hold a model. */
export const modelFieldsOf = (fields: Schema.Struct.Fields): ReadonlyArray<ModelField> =>
  Object.entries(fields).flatMap(([name, field]) => {
    const inner = optionals.get(field)
    const model = inner ?? field
    return typeof model === "function" && isModel(model)
      ? [{ name, model, is: Schema.is(model), optional: inner !== undefined }]
      : []
  })

/** The field inside a `Field.optional(field)` signature; `undefined` for any other. */
export const optionalOf = (signature: object): Schema.Top | undefined => optionals.get(signature)

/** Records what `Field.optional` wrapped, so its encoder can be made. */
export const registerOptional = (signature: object, field: Schema.Top): void => {
  optionals.set(signature, field)
}

/** Records a model class's fields, so its encoder can be made. */
export const registerModel = (model: { readonly fields: Schema.Struct.Fields }): void => {
  models.set(model, model.fields)
}

const string: FieldEncoder = (value) => typeof value === "string" ? value : Refused
const integer: FieldEncoder = (value) => typeof value === "number" && Number.isSafeInteger(value) ? value : Refused
const finite: FieldEncoder = (value) => typeof value === "number" && Number.isFinite(value) ? value : Refused
const boolean: FieldEncoder = (value) => typeof value === "boolean" ? value : Refused

/** Encodes a plain object of fields in declared order; `undefined` if a field is of an unknown kind. */
const compileFields = (fields: Schema.Struct.Fields): ((value: any) => unknown) | undefined => {
  const names = Object.keys(fields)
  const encoders: Array<FieldEncoder> = []
  for (const name of names) {
    const encoder = compileField(fields[name]!)
    if (encoder === undefined) return undefined
    encoders.push(encoder)
  }
  return (value) => {
    if (typeof value !== "object" || value === null) return Refused
    const out: Record<string, unknown> = {}
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      const encoded = encoders[i]!(value[name])
      if (encoded === Refused) return Refused
      out[name] = encoded
    }
    return out
  }
}

const compileField = (field: Schema.Constraint): FieldEncoder | undefined => {
  if (field === Schema.String) return string
  if (field === Schema.Int) return integer
  if (field === Schema.Finite) return finite
  if (field === Schema.Boolean) return boolean
  const inner = optionals.get(field)
  if (inner !== undefined) {
    const encode = compileField(inner)
    // Absent, `undefined` and `null` all go on the wire as `null`.
    return encode && ((value) => value === undefined || value === null ? null : encode(value))
  }
  const fields = typeof field === "function" ? modelFields(field) : undefined
  if (fields !== undefined) {
    const encode = compileFields(fields)
    const model = field as unknown as abstract new(...args: ReadonlyArray<any>) => unknown
    return encode && ((value) => value instanceof model ? encode(value) : Refused)
  }
  if (Schema.isSchema(field)) {
    // Another schema (a date, a JSON value, a user's own): its own encoder, made once.
    const encode = SchemaParser.encodeUnknownResult(field as Schema.Codec<unknown, unknown>)
    return (value) => Result.getOrElse(encode(value), () => Refused)
  }
  // A property signature the SDK did not make: the schema encodes the whole payload.
  return undefined
}

/**
 * The payload encoder of a message class's fields: the compact JSON of the fields in declared order,
 * or the schema's `Issue` when a value is not acceptable. The issue reports the refused value, so the
 * validation error can quote it.
 */
export const make = (
  fields: Schema.Struct.Fields
): (message: unknown) => Result.Result<string, SchemaIssue.Issue> => {
  const schema = SchemaParser.encodeUnknownResult(Schema.Struct(fields) as unknown as Schema.Codec<unknown, unknown>, {
    reportInput: true
  })
  const bySchema = (message: unknown) => Result.map(schema(message), (encoded) => JSON.stringify(encoded))
  const direct = compileFields(fields)
  if (direct === undefined) return bySchema
  return (message) => {
    const encoded = direct(message)
    return encoded === Refused ? bySchema(message) : Result.succeed(JSON.stringify(encoded))
  }
}
