/**
 * The direct payload encoder against the schema's own: for any value, valid or not, the same bytes or
 * the same refusal.
 */
import { assert, describe, it } from "@effect/vitest"
import { Field, Model } from "@stellanow/sdk"
import { Either, FastCheck as fc, ParseResult, Schema } from "effect"
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

const bySchema = ParseResult.encodeUnknownEither(Schema.Struct(fields) as unknown as Schema.Schema<unknown>)
const direct = Payload.make(fields)

/** What the schema makes of a value: the JSON, or the refusal's message. */
const expected = (value: unknown) =>
  Either.match(bySchema(value), {
    onLeft: (issue) => ({ refused: ParseResult.TreeFormatter.formatIssueSync(issue) }),
    onRight: (encoded) => ({ json: JSON.stringify(encoded) })
  })

const actual = (value: unknown) =>
  Either.match(direct(value), {
    onLeft: (issue) => ({ refused: ParseResult.TreeFormatter.formatIssueSync(issue) }),
    onRight: (json) => ({ json })
  })

const date = fc.date({ min: new Date("1000-01-01"), max: new Date("9999-12-31"), noInvalidDate: true })
const inner = fc.record({ n: fc.option(fc.integer(), { nil: undefined }), s: fc.string() })
  .map((props) => new Inner(props))
const outer = fc.record({
  inner: fc.option(inner, { nil: undefined }),
  flag: fc.boolean(),
  when: fc.option(date, { nil: undefined })
}).map((props) => new Outer(props))
const extended = fc.record({ flag: fc.boolean(), extra: fc.string() }).map((props) => new Extended(props))

/** Payloads of the right kinds, or (with `wild`) each field one time in ten anything at all. */
const payloads = (wild: boolean) => {
  const field = <A>(valid: fc.Arbitrary<A>): fc.Arbitrary<unknown> =>
    wild ? fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: fc.anything(), weight: 1 }) : valid
  return fc.record({
    string: field(fc.string()),
    integer: field(wild ? fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double()) : fc.maxSafeInteger()),
    decimal: field(wild ? fc.double() : fc.double({ noNaN: true, noDefaultInfinity: true })),
    boolean: field(fc.boolean()),
    date: field(fc.oneof(date, date.map((d) => d.toISOString().slice(0, 10)), fc.constant(null))),
    dateTime: field(fc.oneof(date, date.map((d) => d.toISOString()), fc.constant(undefined))),
    any: field(fc.jsonValue()),
    optionalString: field(fc.option(fc.string(), { nil: undefined })),
    optionalInteger: field(fc.option(fc.integer())),
    outer: field(fc.option(outer, { nil: undefined })),
    extended: field(fc.option(extended, { nil: undefined }))
  }, { requiredKeys: ["string", "integer", "decimal", "boolean"] })
}

// Fixed seeds: the same cases on every run.
describe("the direct payload encoder", () => {
  it("gives the schema's bytes for every payload of the right kinds", () => {
    fc.assert(
      fc.property(payloads(false), (value) => {
        const want = expected(value)
        assert.property(want, "json")
        assert.deepStrictEqual(actual(value), want)
      }),
      { numRuns: 1_000, seed: 20261127 }
    )
  })

  it("gives the schema's answer, bytes or refusal, for any payload at all", () => {
    let refused = 0
    fc.assert(
      fc.property(payloads(true), (value) => {
        const want = expected(value)
        if ("refused" in want) refused++
        assert.deepStrictEqual(actual(value), want)
      }),
      { numRuns: 2_000, seed: 20261127 }
    )
    // Both answers were exercised.
    assert.isAbove(refused, 100)
    assert.isBelow(refused, 1_900)
  })

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
