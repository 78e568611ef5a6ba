/**
 * Golden tests: the generated code for the wire vectors' definitions reads as the hand-written message
 * classes do, type-checks against `@stellanow/sdk`, passes the repository's lint, and builds messages
 * whose envelopes are those of `envelopes.json`, byte for byte.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Envelope } from "@stellanow/sdk"
import { Effect, Result } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
// The SDK's fast constructor, to show the generated classes get it with no change to their code.
import * as Construct from "../../sdk/src/internal/construct.js"
import * as EventDefinition from "../src/EventDefinition.js"
import * as Generator from "../src/Generator.js"
import { definitions, event, field, model } from "./support/definitions.js"
import { lint, typeCheck } from "./support/lint.js"
import { makeTempDir, readVector, removeDir } from "./support/paths.js"

const vectorDefinitions = Result.getOrThrow(EventDefinition.decodeUnknown(readVector("event-definitions.json")))
const envelopes = readVector("envelopes.json")

/** Odd names, models in models, dates in models, and required models. */
const extraDefinitions = definitions([
  event("Odd-Event name", [
    field("first-name", "String", { required: true }),
    field("when", "Model", { modelRef: "id-dates" }),
    field("3d", "Integer", { required: false }),
    field("nested", "Model", { required: true, modelRef: "id-outer" })
  ], ["local-shop", "patron"])
], [
  model("dates", [field("day", "Date"), field("at", "DateTime")]),
  model("outer", [field("dates", "Model", { modelRef: "id-dates" }), field("kebab-key", "String")])
])

/** Names of every length, so that every way the formatter breaks a long line is met. */
const lengthDefinitions = (() => {
  const events: Array<EventDefinition.Event> = []
  const models: Array<EventDefinition.Model> = []
  for (let n = 1; n <= 115; n++) {
    models.push(model(
      "m".repeat(n),
      n % 3 === 0 ? [] : [
        field("k".repeat(Math.max(1, 120 - n)), "String"),
        field("r".repeat(n), "DateTime", { required: true }),
        ...(n < 115
          ? [field("q".repeat(n), "Model", { required: n % 2 === 0, modelRef: `id-${"m".repeat(n + 1)}` })]
          : [])
      ]
    ))
    events.push(event(
      "e".repeat(n),
      [
        field("a".repeat(n), "Integer", { required: false }),
        field("b".repeat(n), "Decimal", { required: true }),
        field("c".repeat(n), "Model", { required: false, modelRef: `id-${"m".repeat(n)}` }),
        field("d".repeat(n), "Model", { required: true, modelRef: `id-${"m".repeat(Math.max(1, 116 - n))}` }),
        field(`${"q".repeat(n)}-x`, "Any", { required: n % 2 === 0 })
      ],
      Array.from({ length: 1 + (n % 7) }, (_, i) => `ent${i}_${"x".repeat(n % 17)}`)
    ))
  }
  return definitions(events, models)
})()

const generate = (defs: EventDefinition.Definitions): Generator.Files => Result.getOrThrow(Generator.generate(defs))

const writeAll = (dir: string, files: Generator.Files): void => {
  fs.mkdirSync(dir, { recursive: true })
  for (const [name, content] of files) fs.writeFileSync(path.join(dir, name), content)
}

/** Type-level checks of the generated classes: what compiles, and what must not. */
const usage = `import {
  AddressModel,
  ContactDetailsModel,
  PhoneNumberModel,
  PurchaseCompletedMessage,
  StoreReceiptMessage,
  UserDetailsUpdateExtendedMessage,
  UserDetailsUpdateMessage,
  UserLoginMessage
} from "./vectors/index.js"
import { DatesModel, OddEventNameMessage, OuterModel } from "./extras/index.js"

export const messages = [
  new UserDetailsUpdateMessage({
    patron: "12345",
    user_id: "user_0",
    phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 })
  }),
  new UserDetailsUpdateMessage({ patron: "12345", user_id: "user_0" }),
  new StoreReceiptMessage({ patron: "p", local_shop: "s" }),
  new PurchaseCompletedMessage({
    patron: "p",
    order_id: "o",
    amount: 1.5,
    completed_at: new Date(),
    purchase_date: "2025-01-31",
    shipping_address: new AddressModel({ city: "London", county: null })
  }),
  new UserLoginMessage({ patron: "p", user_id: "u", timestamp: "2025-04-25T12:34:56.789012Z" }),
  new UserDetailsUpdateExtendedMessage({
    patron: "p",
    user_id: "u",
    contact_details: new ContactDetailsModel({ phone_number: new PhoneNumberModel({}) })
  }),
  new OddEventNameMessage({
    "local-shop": "s",
    "first-name": "x",
    nested: new OuterModel({ "kebab-key": "k" }),
    when: new DatesModel({ day: new Date(), at: new Date() })
  })
]

export const statics: readonly [string, ReadonlyArray<string>] = [
  UserDetailsUpdateMessage.eventName,
  StoreReceiptMessage.entityTypes
]

// @ts-expect-error user_id is required
export const missingRequired = new UserDetailsUpdateMessage({ patron: "12345" })
// @ts-expect-error user_id is a string
export const wrongType = new UserDetailsUpdateMessage({ patron: "12345", user_id: 7 })
// @ts-expect-error country_code is a number
export const wrongModelField = new PhoneNumberModel({ country_code: "44" })
// @ts-expect-error phone_number holds a PhoneNumberModel
export const wrongModel = new UserDetailsUpdateMessage({ patron: "1", user_id: "u", phone_number: new AddressModel({}) })
// @ts-expect-error completed_at is required
export const missingDate = new PurchaseCompletedMessage({ patron: "p", order_id: "o", amount: 1.5 })
// @ts-expect-error nested, a required model, is required
export const missingModel = new OddEventNameMessage({ "first-name": "x" })
// @ts-expect-error no such field
export const unknownField = new UserLoginMessage({ patron: "p", user_id: "u", timestamp: new Date(), extra: 1 })
`

const revive = (value: unknown): unknown =>
  value !== null && typeof value === "object" && "$date" in value ? new Date((value as { $date: string }).$date) : value

/** The class name the generator gives a snake_case name (an independent statement of the rule). */
const pascal = (name: string): string => name.split("_").map((word) => word[0]!.toUpperCase() + word.slice(1)).join("")

describe("golden", () => {
  let root: string
  const vectorsDir = () => path.join(root, "vectors")
  const extrasDir = () => path.join(root, "extras")

  beforeAll(() => {
    root = makeTempDir("golden")
    writeAll(vectorsDir(), generate(vectorDefinitions))
    writeAll(extrasDir(), generate(extraDefinitions))
    fs.writeFileSync(path.join(root, "usage.ts"), usage)
  })

  afterAll(() => removeDir(root))

  it("writes the seed's event and model as the hand-written classes read", () => {
    const files = generate(vectorDefinitions)
    assert.strictEqual(
      files.get("phone-number-model.ts"),
      `${Generator.header}
// Model "phone_number", definition id "a253a0b1-4c3f-4397-bc19-44f1194885d5".

import { Field, Model } from "@stellanow/sdk"

export class PhoneNumberModel extends Model.Class<PhoneNumberModel>("PhoneNumberModel")({
  country_code: Field.optional(Field.Integer),
  number: Field.optional(Field.Integer)
}) {}
`
    )
    assert.strictEqual(
      files.get("user-details-update-message.ts"),
      `${Generator.header}
// Event "user_details_update", definition id "1e6cf72f-f4e0-4fe5-9fde-fae30bdbcb23".

import { Field, Message } from "@stellanow/sdk"
import { PhoneNumberModel } from "./phone-number-model.js"

export class UserDetailsUpdateMessage extends Message.Class<UserDetailsUpdateMessage>("UserDetailsUpdateMessage")({
  event: "user_details_update",
  entities: ["patron"],
  fields: {
    user_id: Field.String,
    phone_number: Field.optional(PhoneNumberModel)
  }
}) {}
`
    )
  })

  it("type-checks against @stellanow/sdk, refusing what the definitions forbid", () => {
    const files = [
      ...fs.readdirSync(vectorsDir()).map((name) => path.join(vectorsDir(), name)),
      ...fs.readdirSync(extrasDir()).map((name) => path.join(extrasDir(), name)),
      path.join(root, "usage.ts")
    ]
    assert.deepStrictEqual(typeCheck(files, root), [])
  })

  it("passes the repository's lint, formatting included, for names of any length", async () => {
    const lengths = path.join(root, "lengths")
    const files = generate(lengthDefinitions)
    assert.isAbove(files.size, 200)
    writeAll(lengths, files)
    // The long shapes are really met.
    const all = [...files.values()].join("\n")
    for (
      const shape of [
        "\n  extends Message.Class<",
        "\n  )({\n",
        "\n  >(\"",
        ": Field\n",
        ": Field.optional(\n",
        ":\n      "
      ]
    ) {
      assert.include(all, shape)
    }
    assert.deepStrictEqual(await lint([vectorsDir(), extrasDir(), lengths]), [])
  })

  it.effect("builds messages that reproduce every envelope of envelopes.json byte for byte", () =>
    Effect.gen(function*() {
      const module: Record<string, any> = yield* Effect.promise(() => import(path.join(vectorsDir(), "index.ts")))
      const byEvent = new Map<string, any>(
        Object.values(module).filter((value) => typeof value.eventName === "string").map((
          Class
        ) => [Class.eventName, Class])
      )
      assert.deepStrictEqual([...byEvent.keys()].sort(), vectorDefinitions.events.map((e) => e.name).sort())

      const build = (values: Record<string, unknown>, fields: ReadonlyArray<EventDefinition.Field>) =>
        Object.fromEntries(
          Object.entries(values).map(([name, value]): [string, unknown] => {
            const definition = fields.find((f) => f.name === name)
            assert.isDefined(definition, `no field ${name}`)
            if (definition.fieldType.value !== "Model" || value === null) return [name, revive(value)]
            const target = vectorDefinitions.models.find((m) => m.id === definition.fieldType.modelRef)!
            const ModelClass = module[`${pascal(target.name)}Model`]
            assert.isDefined(ModelClass, `no class for model ${target.name}`)
            return [name, new ModelClass(build(value as Record<string, unknown>, target.fields))]
          })
        )

      assert.isAbove(envelopes.cases.length, 0)
      for (const testCase of envelopes.cases) {
        const Class = byEvent.get(testCase.event)
        const definition = vectorDefinitions.events.find((e) => e.name === testCase.event)!
        const message = new Class({
          ...Object.fromEntries(testCase.entities.map((e: any) => [e.entityTypeDefinitionId, e.entityId])),
          ...build(testCase.fields, definition.fields),
          messageOriginDateUTC: revive(testCase.originDate)
        })
        const envelope = yield* Envelope.wrap(message, {
          organizationId: envelopes.organizationId,
          projectId: envelopes.projectId
        }, { messageId: testCase.messageId })
        assert.strictEqual(envelope.body, testCase.body, testCase.name)
        assert.strictEqual(envelope.topic, envelopes.topic)
        assert.deepStrictEqual(Buffer.from(envelope.body, "utf8"), Buffer.from(testCase.body, "utf8"))
      }
    }))

  it.effect("are made by the SDK's fast constructor, as the schema would make them", () =>
    Effect.gen(function*() {
      const module: Record<string, any> = yield* Effect.promise(() => import(path.join(extrasDir(), "index.ts")))
      const { DatesModel, OddEventNameMessage, OuterModel } = module
      const fast = (Class: any, props: object) => Construct.make(Class.fields)(props, Class.prototype)
      const datesProps = { day: "2024-02-29", at: new Date("2025-04-25T10:00:00.5Z") }
      const dates = fast(DatesModel, datesProps)
      assert.deepStrictEqual(dates, new DatesModel(datesProps, {}))
      const props = {
        "local-shop": "s-1",
        patron: "p-1",
        "first-name": "Ada",
        "3d": 3,
        nested: new OuterModel({ dates })
      }
      assert.instanceOf(fast(OddEventNameMessage, props), OddEventNameMessage)
      assert.deepStrictEqual(fast(OddEventNameMessage, props), new OddEventNameMessage(props, {}))
    }))

  it.effect("sends dates inside models, odd keys and nested models as an event's own fields are sent", () =>
    Effect.gen(function*() {
      const module: Record<string, any> = yield* Effect.promise(() => import(path.join(extrasDir(), "index.ts")))
      const { DatesModel, OddEventNameMessage, OuterModel } = module
      const message = new OddEventNameMessage({
        "local-shop": "s-1",
        patron: "p-1",
        "first-name": "Ada",
        when: new DatesModel({ day: new Date("2025-01-31T23:00:00Z"), at: new Date("2025-04-25T10:00:00.5Z") }),
        nested: new OuterModel({ dates: new DatesModel({ day: "2024-02-29", at: "2025-04-25T12:34:56.789012Z" }) })
      })
      const envelope = yield* Envelope.wrap(message, { organizationId: "o", projectId: "p" }, { messageId: "m" })
      const body = JSON.parse(envelope.body)
      assert.strictEqual(
        body.value.payload,
        JSON.stringify({
          "first-name": "Ada",
          when: { day: "2025-01-31", at: "2025-04-25T10:00:00.500000Z" },
          "3d": null,
          nested: { dates: { day: "2024-02-29", at: "2025-04-25T12:34:56.789012Z" }, "kebab-key": null }
        })
      )
      assert.strictEqual(body.value.metadata.eventTypeDefinitionId, "Odd-Event name")
      assert.deepStrictEqual(body.key.entityTypeDefinitionId, "local-shop")
      assert.throws(() => new DatesModel({ day: "2025-02-30" }), /day/)
    }))
})
