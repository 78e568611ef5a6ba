/**
 * The fast constructor of message and model classes against the schema's own: for any props, valid or
 * not, it takes exactly what the schema takes and makes the same instance, and a constructor refuses
 * what the schema refuses with the same error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Field, Message, Model, ValidationError } from "@stellanow/sdk"
import { DateTime, Schema } from "effect"
import fc from "fast-check"
import * as Construct from "../../src/internal/construct.js"
import * as Messages from "../fixtures/messages.js"

class Inner extends Model.Class<Inner>("Inner")({
  n: Field.Integer,
  s: Field.optional(Field.String)
}) {}

class Outer extends Model.Class<Outer>("Outer")({
  inner: Inner,
  maybeInner: Field.optional(Inner),
  flag: Field.Boolean
}) {}

/** Every field kind, required and optional, two entities, nested models. */
class EveryKind extends Message.Class<EveryKind>("EveryKind")({
  event: "every_kind",
  entities: ["patron", "shop"],
  fields: {
    string: Field.String,
    integer: Field.Integer,
    decimal: Field.Decimal,
    boolean: Field.Boolean,
    date: Field.Date,
    dateTime: Field.DateTime,
    any: Field.Any,
    outer: Outer,
    optionalString: Field.optional(Field.String),
    optionalInteger: Field.optional(Field.Integer),
    optionalDecimal: Field.optional(Field.Decimal),
    optionalBoolean: Field.optional(Field.Boolean),
    optionalDate: Field.optional(Field.Date),
    optionalDateTime: Field.optional(Field.DateTime),
    optionalAny: Field.optional(Field.Any),
    optionalOuter: Field.optional(Outer)
  }
}) {}

/** A class as the tests use it: made with or without options, its schema fields and prototype. */
interface Made {
  new(props: any, options?: Schema.MakeOptions): object
  readonly fields: Schema.Struct.Fields
  readonly prototype: object
}

// Values: of each kind (valid), at its edges and of every other kind (wild).

/** A field kind's values: valid ones, and edge values that may or may not be valid. */
interface Kind {
  readonly valid: fc.Arbitrary<unknown>
  readonly edges: fc.Arbitrary<unknown>
}

const anything = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true }),
  fc.constantFrom(undefined, null)
)

const strings = fc.string({ unit: "binary" })
const stringKind: Kind = {
  valid: strings,
  edges: fc.constantFrom("", "\u0000", "\ud800", "\udc00\ud800", "👩‍👩‍👧", "\u202e", "__proto__")
}
const edgeNumbers = fc.oneof(
  fc.double(),
  fc.bigInt(),
  fc.constantFrom(-0, Number.NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1.5, Number.MIN_VALUE, Number.MAX_VALUE)
)
const integers = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constant(-0))
const integerKind: Kind = { valid: integers, edges: edgeNumbers }
const decimalKind: Kind = { valid: fc.double({ noNaN: true, noDefaultInfinity: true }), edges: edgeNumbers }
const booleanKind: Kind = { valid: fc.boolean(), edges: fc.constantFrom(0, 1, "true", new Boolean(true)) }

const validDates = fc.date({ min: new Date("0001-01-01"), max: new Date("9999-12-31"), noInvalidDate: true })
const dateKind: Kind = {
  valid: fc.oneof(validDates, validDates.map((date) => date.toISOString().slice(0, 10))),
  edges: fc.oneof(
    fc.date(),
    fc.constantFrom("2024-02-29", "2023-02-29", "2024-13-01", "2024-1-01", " 2024-01-01", "2024-01-01T00:00:00Z")
  )
}
const dateTimeKind: Kind = {
  valid: fc.oneof(
    validDates,
    validDates.map((date) => date.toISOString()),
    validDates.map((date) => DateTime.fromDateUnsafe(date))
  ),
  edges: fc.oneof(
    fc.date(),
    fc.tuple(validDates, fc.integer({ min: 0, max: 8 })).map(([date, digits]) =>
      `${date.toISOString().slice(0, 19)}${digits === 0 ? "" : "." + "7".repeat(digits)}Z`
    ),
    fc.constantFrom(
      "2025-04-25T12:34:56.789012+00:00",
      "2025-02-30T00:00:00.000Z",
      DateTime.makeZonedUnsafe(0, { timeZone: "Europe/London" })
    )
  )
}
const cyclic: Record<string, unknown> = { a: 1 }
cyclic.self = cyclic
const tooDeep = Array.from({ length: 300 }).reduce<unknown>((inner) => [inner], 0)
const anyKind: Kind = {
  valid: fc.jsonValue(),
  edges: fc.constantFrom(cyclic, tooDeep, [undefined], { f: () => 1 }, new Map(), Object.create(null))
}

const inner = fc.record({ n: fc.integer(), s: fc.option(strings, { nil: undefined }) }, { requiredKeys: ["n"] })
  .map((props) => new Inner(props))
const outer = fc.record({ inner, maybeInner: fc.option(inner, { nil: null }), flag: fc.boolean() }, {
  requiredKeys: ["inner", "flag"]
}).map((props) => new Outer(props))

/** A model's instances; its look-alikes (its props as a plain object, another model) at the edges. */
const modelKind = (valid: fc.Arbitrary<unknown>, lookAlikes: ReadonlyArray<unknown>): Kind => ({
  valid,
  edges: fc.constantFrom(...lookAlikes, new Messages.PhoneNumberModel({}), new Messages.AddressModel({}))
})
const innerKind = modelKind(inner, [{ n: 1 }])
const outerKind = modelKind(outer, [{ inner: new Inner({ n: 1 }), flag: true }])

/** A field's value: mostly of its kind, else at its edges, of any other kind, or nothing. */
const wild = ({ edges, valid }: Kind) =>
  fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 2, arbitrary: edges },
    { weight: 1, arbitrary: anything },
    { weight: 1, arbitrary: fc.constantFrom(undefined, null) }
  )

const mapValues = <A, B>(record: Record<string, A>, f: (a: A) => B): Record<string, B> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]))

const extraKeys = fc.option(fc.dictionary(fc.string(), anything, { maxKeys: 2 }), { nil: undefined })

/**
 * Props: valid ones (the optional keys left out or not, `null` or `undefined` in an optional one); wild
 * ones (any key left out, any of the wrong kind); a few extra keys; and sometimes no object at all.
 */
const propsOf = (shape: Record<string, Kind>, required: ReadonlyArray<string>) => {
  const optional = (kind: Kind): fc.Arbitrary<unknown> =>
    fc.oneof({ weight: 4, arbitrary: kind.valid }, { weight: 1, arbitrary: fc.constantFrom(undefined, null) })
  const valid = fc.record(
    Object.fromEntries(
      Object.entries(shape).map(([key, kind]) => [key, required.includes(key) ? kind.valid : optional(kind)])
    ),
    { requiredKeys: [...required] }
  )
  const wildProps = fc.record(mapValues(shape, wild), { requiredKeys: [] })
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(valid, extraKeys) },
    { weight: 5, arbitrary: fc.tuple(wildProps, extraKeys) },
    { weight: 1, arbitrary: fc.tuple(anything, fc.constant(undefined)) }
  ).map(([props, extra]) => extra === undefined ? props : { ...extra, ...(props as object) })
}

const everyKind = propsOf({
  patron: stringKind,
  shop: stringKind,
  string: stringKind,
  integer: integerKind,
  decimal: decimalKind,
  boolean: booleanKind,
  date: dateKind,
  dateTime: dateTimeKind,
  any: anyKind,
  outer: outerKind,
  optionalString: stringKind,
  optionalInteger: integerKind,
  optionalDecimal: decimalKind,
  optionalBoolean: booleanKind,
  optionalDate: dateKind,
  optionalDateTime: dateTimeKind,
  optionalAny: anyKind,
  optionalOuter: outerKind,
  messageOriginDateUTC: dateTimeKind
}, ["patron", "string", "integer", "decimal", "boolean", "date", "dateTime", "any", "outer"])

const phoneNumber = propsOf({ country_code: integerKind, number: integerKind }, [])

const phoneNumberKind = modelKind(
  fc.record({ country_code: integers, number: integers }, { requiredKeys: [] }).map((props) =>
    new Messages.PhoneNumberModel(props)
  ),
  [{ country_code: 44 }]
)

const userDetails = propsOf({ patron: stringKind, user_id: stringKind, phone_number: phoneNumberKind }, [
  "patron",
  "user_id"
])

const outerProps = propsOf({ inner: innerKind, maybeInner: innerKind, flag: booleanKind }, ["inner", "flag"])

// Outcomes, compared in full: the instance's prototype and own properties in order, or the error.

type Outcome =
  | { readonly made: ReadonlyArray<unknown> }
  | { readonly refused: string }

const describeInstance = (instance: object): ReadonlyArray<unknown> => [
  Object.getPrototypeOf(instance),
  Object.isExtensible(instance),
  ...Reflect.ownKeys(instance).flatMap((key) => {
    const { value, ...flags } = Object.getOwnPropertyDescriptor(instance, key)!
    // `-0` and `NaN` as themselves: compared with `Object.is` by `deepStrictEqual`'s SameValue below.
    return [key, value, JSON.stringify(flags)]
  })
]

const describeError = (error: unknown): string =>
  error instanceof ValidationError
    ? JSON.stringify([error.reason, error.event, error.model, error.field, error.detail, error.message])
    : `${Object.prototype.toString.call(error)} ${String(error)}`

const outcome = (make: () => object): Outcome => {
  try {
    return { made: describeInstance(make()) }
  } catch (error) {
    return { refused: describeError(error) }
  }
}

/** The fast constructor alone, as the class compiled it: the instance it made, or `undefined`. */
const fastOnly = (made: Made, props: unknown): ReadonlyArray<unknown> | undefined => {
  const instance = Construct.make(made.fields)(props, made.prototype)
  return instance === undefined ? undefined : describeInstance(instance)
}

/**
 * The property: the fast constructor takes props exactly when the schema does and makes the same
 * instance, and the constructor (fast path first) answers as the schema alone does, instance or error.
 * Fixed seed: the same cases on every run.
 */
const sameAsSchema = (made: Made, props: fc.Arbitrary<unknown>, runs: number) => {
  let accepted = 0
  fc.assert(
    fc.property(props, (props) => {
      // Options given: the constructor skips the fast path, so this is the schema's answer alone.
      const bySchema = outcome(() => new made(props, {}))
      const fast = fastOnly(made, props)
      if ("made" in bySchema) {
        accepted++
        assert.deepStrictEqual(fast, bySchema.made, "the fast constructor takes what the schema takes, as it makes it")
      } else {
        assert.isUndefined(fast, `the fast constructor refuses what the schema refuses: ${bySchema.refused}`)
      }
      assert.deepStrictEqual(outcome(() => new made(props)), bySchema, "the constructor answers as the schema")
    }),
    { numRuns: runs, seed: 20261202 }
  )
  return accepted
}

describe("the fast constructor", () => {
  it("takes exactly what the schema takes, for every field kind, and answers as it does", () => {
    const accepted = sameAsSchema(EveryKind, everyKind, 2_000)
    // Both answers were exercised (most generated props have a bad or missing field somewhere).
    assert.isAbove(accepted, 200)
    assert.isBelow(accepted, 1_800)
  })

  it("takes exactly what the schema takes for nested models", () => {
    const accepted = sameAsSchema(Outer, outerProps, 1_000)
    assert.isAbove(accepted, 100)
    assert.isBelow(accepted, 900)
  })

  it("takes exactly what the schema takes for the seed's message and model", () => {
    for (
      const [made, props] of [[Messages.PhoneNumberModel, phoneNumber], [
        Messages.UserDetailsUpdateMessage,
        userDetails
      ]] as const
    ) {
      const accepted = sameAsSchema(made, props, 1_000)
      assert.isAbove(accepted, 100)
      assert.isBelow(accepted, 950)
    }
  })

  it("takes the seed's message as the README makes it", () => {
    const props = {
      patron: "12345",
      user_id: "user_0",
      phone_number: new Messages.PhoneNumberModel({ country_code: 44, number: 753594 })
    }
    assert.isDefined(fastOnly(Messages.UserDetailsUpdateMessage, props))
    assert.isDefined(fastOnly(Messages.PhoneNumberModel, { country_code: 44, number: 753594 }))
  })

  it("makes a user's subclass, with its own fields and methods, as the schema does", () => {
    class Phone extends Model.Class<Phone>("Phone")({ number: Field.Integer }) {
      readonly kind = "phone"
      show() {
        return `${this.kind} ${this.number}`
      }
    }
    class Extended extends Outer.extend<Extended>("Extended")({ extra: Field.String }) {}
    const phone = new Phone({ number: 1 })
    assert.deepStrictEqual(describeInstance(phone), describeInstance(new Phone({ number: 1 }, {})))
    assert.strictEqual(phone.show(), "phone 1")
    assert.isTrue(Schema.is(Phone)(phone))
    const props = { inner: new Inner({ n: 1 }), flag: true, extra: "x" }
    assert.deepStrictEqual(outcome(() => new Extended(props)), outcome(() => new Extended(props, {})))
    assert.instanceOf(new Extended(props), Outer)
  })

  it("leaves a class with a field of another kind to the schema", () => {
    class Tagged extends Message.Class<Tagged>("Tagged")({
      event: "tagged",
      entities: ["patron"],
      fields: { tags: Schema.Array(Field.String) }
    }) {}
    const props = { patron: "p", tags: ["a"] }
    assert.isUndefined(fastOnly(Tagged, props))
    assert.deepStrictEqual(outcome(() => new Tagged(props)), outcome(() => new Tagged(props, {})))
    assert.deepStrictEqual([...new Tagged(props).tags], ["a"])
  })
})
