/**
 * The direct payload encoder against the schema's own: for any value, valid or not, the same bytes or
 * the same refusal.
 */
import { assert, describe, it } from "@effect/vitest"
import { Field, Model } from "@stellanow/sdk"
import { Arbitrary, Effect, Result, Schema, SchemaIssue, SchemaParser } from "effect"
import * as Payload from "../../src/internal/payload.js"

class Inner extends Model.Class<Inner>("Inner")({
  n: Field.optional(Field.Integer),
  s: Field.String
}) {}

class Outer extends Model.Class<Outer>("Outer")({
  inner: Field.optional(Inner),
  flag: Field.Boolean,
  when: Field.optional(Field.DateTime)
}) {}

/** A model made by `extend`: its own fields, which the direct encoder must not mistake for Outer's. */
class Extended extends Outer.extend<Extended>("Extended")({ extra: Field.String }) {}

const fields = {
  string: Field.String,
  integer: Field.Integer,
  decimal: Field.Decimal,
  boolean: Field.Boolean,
  date: Field.optional(Field.Date),
  dateTime: Field.optional(Field.DateTime),
  any: Field.optional(Field.Any),
  optionalString: Field.optional(Field.String),
  optionalInteger: Field.optional(Field.Integer),
  outer: Field.optional(Outer),
  extended: Field.optional(Extended)
}

const bySchema = SchemaParser.encodeUnknownResult(Schema.Struct(fields) as unknown as Schema.Codec<unknown>, {
  reportInput: true
})
const direct = Payload.make(fields)

const format = SchemaIssue.makeFormatterDefault()

/** What the schema makes of a value: the JSON, or the refusal's message. */
const expected = (value: unknown) =>
  Result.match(bySchema(value), {
    onFailure: (issue) => ({ refused: format(issue) }),
    onSuccess: (encoded) => ({ json: JSON.stringify(encoded) })
  })

const actual = (value: unknown) =>
  Result.match(direct(value), {
    onFailure: (issue) => ({ refused: format(issue) }),
    onSuccess: (json) => ({ json })
  })

// Generators, from Effect's own `Arbitrary` (Effect 4 has no fast-check): schemas for the values, and a
// few combinators for the choices fast-check's `oneof`, `option` and `record` made.

/** One of the choices, each as likely as its weight. */
const oneOf = (...choices: ReadonlyArray<readonly [weight: number, Arbitrary.Arbitrary<unknown>]>) => {
  const slots = choices.flatMap(([weight, arbitrary]) => Array.from({ length: weight }, () => arbitrary))
  return Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: slots.length - 1 }))).pipe(
    Arbitrary.flatMap((slot) => slots[slot]!)
  )
}

const option = <A, const Nil>(arbitrary: Arbitrary.Arbitrary<A>, nil: Nil) =>
  oneOf([1, Arbitrary.Constant(nil)], [4, arbitrary]) as Arbitrary.Arbitrary<A | Nil>

/** A key left out of a record. */
const Absent = Symbol("Absent")

/** A record whose keys other than `required` may be left out. */
const record = (shape: Record<string, Arbitrary.Arbitrary<unknown>>, required: ReadonlyArray<string>) =>
  Arbitrary.all(
    Object.fromEntries(
      Object.entries(shape).map((
        [key, arbitrary]
      ) => [key, required.includes(key) ? arbitrary : option(arbitrary, Absent)])
    )
  ).pipe(Arbitrary.map((value) => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== Absent))))

const string = Arbitrary.schema(Schema.String)
const boolean = Arbitrary.schema(Schema.Boolean)
const int32 = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: -(2 ** 31), maximum: 2 ** 31 - 1 })))
const safeInteger = Arbitrary.schema(
  Schema.Int.check(Schema.isBetween({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }))
)
const finite = Arbitrary.schema(Schema.Finite)
/** Any double, with the values that have no JSON form. */
const double = oneOf(
  [6, finite],
  [1, Arbitrary.Constant(Number.NaN)],
  [1, Arbitrary.Constant(Infinity)],
  [1, Arbitrary.Constant(-Infinity)],
  [1, Arbitrary.Constant(-0)]
)
const date = Arbitrary.schema(
  Schema.Date.check(Schema.isBetweenDate({ minimum: new Date("1000-01-01"), maximum: new Date("9999-12-31") }))
)
/** Anything at all: what a caller who ignores the types might pass. */
const anything = oneOf([9, Arbitrary.schema(Schema.Unknown)], [1, Arbitrary.Constant(undefined)])

const inner = Arbitrary.all({ n: option(int32, undefined), s: string }).pipe(
  Arbitrary.map((props) => new Inner(props))
)
const outer = Arbitrary.all({ inner: option(inner, undefined), flag: boolean, when: option(date, undefined) }).pipe(
  Arbitrary.map((props) => new Outer(props))
)
const extended = Arbitrary.all({ flag: boolean, extra: string }).pipe(Arbitrary.map((props) => new Extended(props)))

/** Payloads of the right kinds, or (with `wild`) each field one time in ten anything at all. */
const payloads = (wild: boolean) => {
  const field = (valid: Arbitrary.Arbitrary<unknown>) => wild ? oneOf([9, valid], [1, anything]) : valid
  return record({
    string: field(string),
    integer: field(wild ? oneOf([1, int32], [1, safeInteger], [1, double]) : safeInteger),
    decimal: field(wild ? double : finite),
    boolean: field(boolean),
    date: field(
      oneOf([1, date], [1, date.pipe(Arbitrary.map((d) => d.toISOString().slice(0, 10)))], [
        1,
        Arbitrary.Constant(null)
      ])
    ),
    dateTime: field(
      oneOf([1, date], [1, date.pipe(Arbitrary.map((d) => d.toISOString()))], [1, Arbitrary.Constant(undefined)])
    ),
    any: field(Arbitrary.schema(Schema.Json)),
    optionalString: field(option(string, undefined)),
    optionalInteger: field(option(int32, null)),
    outer: field(option(outer, undefined)),
    extended: field(option(extended, undefined))
  }, ["string", "integer", "decimal", "boolean"])
}

/**
 * Checks that both encoders give the same answer for every generated payload, with a fixed seed: the
 * same cases on every run. A counterexample is shown shrunk, as the assertion's diff.
 */
const sameAnswers = (arbitrary: Arbitrary.Arbitrary<unknown>, runs: number, onCase: (want: object) => void) =>
  Effect.gen(function*() {
    const result = yield* Arbitrary.checkEffect(arbitrary, (value) => {
      const want = expected(value)
      onCase(want)
      return JSON.stringify(actual(value)) === JSON.stringify(want)
    }, { runs, seed: 20261127 })
    if (result._tag === "Falsified") {
      assert.deepStrictEqual(actual(result.shrunkInput), expected(result.shrunkInput), "the shrunk counterexample")
    }
    assert.strictEqual(result._tag, "Passed", Arbitrary.formatCheckFailure(result))
  })

// Fixed seeds: the same cases on every run.
describe("the direct payload encoder", () => {
  it.effect("gives the schema's bytes for every payload of the right kinds", () =>
    sameAnswers(payloads(false), 1_000, (want) => assert.property(want, "json")))

  it.effect("gives the schema's answer, bytes or refusal, for any payload at all", () =>
    Effect.gen(function*() {
      let refused = 0
      yield* sameAnswers(payloads(true), 2_000, (want) => {
        if ("refused" in want) refused++
      })
      // Both answers were exercised.
      assert.isAbove(refused, 100)
      assert.isBelow(refused, 1_900)
    }))

  it("keeps declared order, and sends an absent optional field as null", () => {
    const value = {
      boolean: false,
      string: "s",
      decimal: 1.5,
      integer: 3,
      outer: new Outer({ flag: true, inner: new Inner({ s: "x" }) })
    }
    assert.deepStrictEqual(actual(value), {
      json: `{"string":"s","integer":3,"decimal":1.5,"boolean":false,"date":null,"dateTime":null,"any":null,` +
        `"optionalString":null,"optionalInteger":null,"outer":{"inner":{"n":null,"s":"x"},"flag":true,"when":null},` +
        `"extended":null}`
    })
  })

  it("refuses a plain object where a model is declared, as the schema does", () => {
    const value = { string: "s", integer: 1, decimal: 1, boolean: true, outer: { flag: "yes" } }
    const result = actual(value)
    assert.isTrue("refused" in result)
    assert.deepStrictEqual(result, expected(value))
  })
})
