import * as Schema from "effect/Schema"
import * as Payload from "./payload.js"

/**
 * The fast constructor of a message or model class, made once per class on its first use.
 *
 * Why: a message or model constructor validates its props through the class's `Schema`, ~75 % of
 * its time in the schema's struct parser. Making the seed's message with its model (the README's loop)
 * measured, old and new builds alternating in one process (Node 24, 2 shared cores; median of 11
 * batches of 50,000): 1.47 → 0.38 µs and 2.40–2.63 → 0.47–0.77 µs under the load of other
 * processes (0.95 µs before on a quiet machine); the first 1,000 made 8–10 → ~1 µs each; 665 → 256
 * bytes allocated per message. For fields of the SDK's own kinds (`Field.*`, `Field.optional`,
 * `Model.Class`, entity ids, the origin date) this checks the props directly and copies them onto the
 * instance, as the schema would. It accepts only what the schema accepts, and makes the same
 * instance; whatever it does not accept, and any class with a field it does not know, goes through the
 * schema, which makes the instance or the error that names the field and the rule. The property test
 * in `test/unit/construct.test.ts` holds it to the schema.
 */

/** Whether the schema's type side takes a value, and as it is (no default, nothing rebuilt). */
type Check = (value: unknown) => boolean

const checks = new WeakMap<object, Check>([
  [Schema.String, (value) => typeof value === "string"],
  [Schema.Int, (value) => typeof value === "number" && Number.isSafeInteger(value)],
  [Schema.Finite, (value) => typeof value === "number" && Number.isFinite(value)],
  [Schema.Boolean, (value) => typeof value === "boolean"]
])

/**
 * Records a field kind whose schema takes a value as it is (a declaration, or a primitive with checks;
 * never a struct or an array, which the schema rebuilds), checked by the schema's own guard unless a
 * direct check equal to it is given.
 */
export const register = (schema: Schema.Top, check?: Check): void => {
  if (check === undefined) guarded.add(schema)
  else checks.set(schema, check)
}

/** Kinds registered without a direct check: their guard is made when a class first needs it. */
const guarded = new WeakSet<object>()

/** `Schema.optional(field)` signatures made by {@link optionalKey}, with the field inside. */
const optionalKeys = new WeakMap<object, Schema.Top>()

/** `Schema.optional(field)`: a key that may be left out or hold `undefined`. */
export const optionalKey = <S extends Schema.Top>(field: S): Schema.optional<S> => {
  const signature = Schema.optional(field)
  optionalKeys.set(signature, field)
  return signature
}

/** How a key is checked: its kind's check, and whether it may be left out. */
interface Key {
  readonly name: string
  readonly check: Check
  readonly optional: boolean
}

/** The check of a kind that must be present: a registered kind, or a model (its instances). */
const requiredCheck = (field: object): Check | undefined => {
  const known = checks.get(field)
  if (known !== undefined) return known
  if (guarded.has(field)) {
    const guard = Schema.is(field as Schema.Top)
    checks.set(field, guard)
    return guard
  }
  if (typeof field === "function" && Payload.isModel(field)) {
    const model = field as abstract new(...args: ReadonlyArray<never>) => unknown
    return (value) => value instanceof model
  }
  return undefined
}

const keyOf = (name: string, field: object): Key | undefined => {
  const nullable = Payload.optionalOf(field)
  if (nullable !== undefined) {
    // `Field.optional`: left out, `undefined` or `null`, all kept as given.
    const check = requiredCheck(nullable)
    return check && { name, optional: true, check: (value) => value === undefined || value === null || check(value) }
  }
  const undefinedOr = optionalKeys.get(field)
  if (undefinedOr !== undefined) {
    const check = requiredCheck(undefinedOr)
    return check && { name, optional: true, check: (value) => value === undefined || check(value) }
  }
  const check = requiredCheck(field)
  return check && { name, optional: false, check }
}

/**
 * The instance the schema would make of `props` (an object of `prototype` with the fields copied onto
 * it), when the schema would take them as they are; `undefined` when the schema must decide.
 */
export type Construct = (props: unknown, prototype: object) => object | undefined

/** Whether props' fields were copied onto the instance; `false` when the schema must decide. */
type CopyFields = (props: unknown, into: Record<string, unknown>) => boolean

const compile = (fields: Schema.Struct.Fields): CopyFields | undefined => {
  const keys: Array<Key> = []
  for (const name of Reflect.ownKeys(fields)) {
    // A symbol or `__proto__` key is read differently by the schema: it decides.
    if (typeof name !== "string" || name === "__proto__") return undefined
    const key = keyOf(name, fields[name]!)
    if (key === undefined) return undefined
    keys.push(key)
  }
  return (given, out) => {
    // As the schema's class constructor: no props are the empty props.
    const props = given ?? {}
    if (typeof props !== "object" || Array.isArray(props)) return false
    const record = props as Record<string, unknown>
    try {
      for (let i = 0; i < keys.length; i++) {
        const { check, name, optional } = keys[i]!
        // As the schema reads a key: present if `in` the props, inherited ones too.
        if (!(name in record)) {
          if (optional) continue
          return false
        }
        const value = record[name]
        if (!check(value)) return false
        out[name] = value
      }
    } catch {
      // A getter that throws: the schema reads it again and reports it as it does.
      return false
    }
    return true
  }
}

/** The fast constructor of a class with these fields, compiled on its first call. */
export const make = (fields: Schema.Struct.Fields): Construct => {
  let copyFields: CopyFields | null | undefined
  return (props, prototype) => {
    if (copyFields === undefined) copyFields = compile(fields) ?? null
    if (copyFields === null) return undefined
    const instance = Object.create(prototype)
    return copyFields(props, instance) ? instance : undefined
  }
}
