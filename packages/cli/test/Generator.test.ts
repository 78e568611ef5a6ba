import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as EventDefinition from "../src/EventDefinition.js"
import * as Generator from "../src/Generator.js"
import type { GeneratorError } from "../src/GeneratorError.js"
import { definitions, event, field, model } from "./support/definitions.js"
import { readVector } from "./support/paths.js"

const vectors = (): EventDefinition.Definitions =>
  Result.getOrThrow(EventDefinition.decodeUnknown(readVector("event-definitions.json")))

const generate = (defs: EventDefinition.Definitions, options?: Generator.Options): Generator.Files => {
  const result = Generator.generate(defs, options)
  if (Result.isFailure(result)) assert.fail(`expected files, got: ${result.failure.message}`)
  return result.success
}

const fail = (defs: EventDefinition.Definitions, options?: Generator.Options): GeneratorError => {
  const result = Generator.generate(defs, options)
  if (Result.isSuccess(result)) assert.fail(`expected an error, got files ${[...result.success.keys()].join(", ")}`)
  return result.failure
}

/** The lines of the class declaration of a generated file (after the header and imports). */
const declaration = (content: string | undefined): string => {
  assert.isDefined(content)
  return content.slice(content.indexOf("export class"))
}

describe("Generator", () => {
  describe("files", () => {
    it("writes one module per event and per model, dasherized, and an index", () => {
      const files = generate(vectors())
      assert.deepStrictEqual([...files.keys()], [
        "address-model.ts",
        "contact-details-model.ts",
        "index.ts",
        "phone-number-model.ts",
        "purchase-completed-message.ts",
        "store-receipt-message.ts",
        "user-details-update-extended-message.ts",
        "user-details-update-message.ts",
        "user-login-message.ts"
      ])
      assert.strictEqual(
        files.get("index.ts"),
        [
          Generator.header,
          "// The index of the generated message and model classes.",
          "",
          "export * from \"./address-model.js\"",
          "export * from \"./contact-details-model.js\"",
          "export * from \"./phone-number-model.js\"",
          "export * from \"./purchase-completed-message.js\"",
          "export * from \"./store-receipt-message.js\"",
          "export * from \"./user-details-update-extended-message.js\"",
          "export * from \"./user-details-update-message.js\"",
          "export * from \"./user-login-message.js\"",
          ""
        ].join("\n")
      )
    })

    it("heads every file with the generated marker and the definition's id", () => {
      const files = generate(vectors())
      for (const [path, content] of files) {
        assert.isTrue(content.startsWith(`${Generator.header}\n`), path)
        assert.isTrue(Generator.isGenerated(content), path)
      }
      assert.include(
        files.get("user-login-message.ts"),
        "// Event \"user_login\", definition id \"753892fa-da1d-4b42-a468-be65a091673e\"."
      )
      assert.include(
        files.get("address-model.ts"),
        "// Model \"address\", definition id \"8faf7ffa-8d84-4704-b50c-9b75606e609a\"."
      )
      assert.isFalse(Generator.isGenerated("// my own file\n" + Generator.header))
      assert.isFalse(Generator.isGenerated(""))
    })

    it("imports the models a module uses, and only the SDK names it uses", () => {
      const files = generate(vectors())
      const contact = files.get("contact-details-model.ts")!
      assert.include(
        contact,
        [
          "import { Field, Model } from \"@stellanow/sdk\"",
          "import { AddressModel } from \"./address-model.js\"",
          "import { PhoneNumberModel } from \"./phone-number-model.js\""
        ].join("\n")
      )
      // A model whose only field is a required model needs no `Field`.
      const only = generate(definitions([], [
        model("inner", [field("x", "String")]),
        model("outer", [field("inner", "Model", { required: true, modelRef: "id-inner" })])
      ]))
      assert.include(only.get("outer-model.ts"), "import { Model } from \"@stellanow/sdk\"\nimport { InnerModel }")
      assert.include(only.get("outer-model.ts"), "  inner: InnerModel\n")
    })

    it("is deterministic: the same definitions give the same bytes, whatever their order", () => {
      const first = generate(vectors())
      const second = generate(vectors())
      assert.deepStrictEqual([...first.entries()], [...second.entries()])
      const reversed = vectors()
      const shuffled = generate({ events: [...reversed.events].reverse(), models: [...reversed.models].reverse() })
      assert.deepStrictEqual([...shuffled.entries()], [...first.entries()])
      for (const content of first.values()) {
        assert.notMatch(content, /\d{4}-\d{2}-\d{2}T/, "no timestamp")
        assert.notInclude(content, "\r")
        assert.isTrue(content.endsWith("\n") && !content.endsWith("\n\n"), "one final newline")
      }
    })

    it("keeps the declared field order", () => {
      const fields = [field("zeta", "String"), field("alpha", "Integer"), field("mid", "Boolean")]
      const forward = generate(definitions([event("e", fields)])).get("e-message.ts")!
      assert.match(forward, /zeta[^]*alpha[^]*mid/)
      const backward = generate(definitions([event("e", [...fields].reverse())])).get("e-message.ts")!
      assert.match(backward, /mid[^]*alpha[^]*zeta/)
    })
  })

  describe("field types", () => {
    it("maps every console type, required fields required and others optional", () => {
      const files = generate(definitions([
        event("all_types", [
          field("s", "String", { required: true }),
          field("i", "Integer", { required: true }),
          field("d", "Decimal", { required: true }),
          field("b", "Boolean", { required: true }),
          field("day", "Date", { required: true }),
          field("at", "DateTime", { required: true }),
          field("any", "Any", { required: true }),
          field("m", "Model", { required: true, modelRef: "id-thing" }),
          field("os", "String", { required: false }),
          field("oi", "Integer"),
          field("od", "Decimal", { required: false }),
          field("ob", "Boolean", { required: false }),
          field("oday", "Date", { required: false }),
          field("oat", "DateTime", { required: false }),
          field("oany", "Any", { required: false }),
          field("om", "Model", { required: false, modelRef: "id-thing" })
        ])
      ], [
        model("thing", [field("when", "DateTime"), field("day", "Date"), field("must", "String", { required: true })])
      ]))
      assert.strictEqual(
        declaration(files.get("all-types-message.ts")),
        `export class AllTypesMessage extends Message.Class<AllTypesMessage>("AllTypesMessage")({
  event: "all_types",
  entities: ["patron"],
  fields: {
    s: Field.String,
    i: Field.Integer,
    d: Field.Decimal,
    b: Field.Boolean,
    day: Field.Date,
    at: Field.DateTime,
    any: Field.Any,
    m: ThingModel,
    os: Field.optional(Field.String),
    oi: Field.optional(Field.Integer),
    od: Field.optional(Field.Decimal),
    ob: Field.optional(Field.Boolean),
    oday: Field.optional(Field.Date),
    oat: Field.optional(Field.DateTime),
    oany: Field.optional(Field.Any),
    om: Field.optional(ThingModel)
  }
}) {}
`
      )
      // Model fields have no `required` key and are optional; one that says `required: true` is required.
      assert.strictEqual(
        declaration(files.get("thing-model.ts")),
        `export class ThingModel extends Model.Class<ThingModel>("ThingModel")({
  when: Field.optional(Field.DateTime),
  day: Field.optional(Field.Date),
  must: Field.String
}) {}
`
      )
    })

    it("finds a model by its name when no model has the modelRef as id", () => {
      const files = generate(definitions([
        event("e", [field("p", "Model", { modelRef: "phone" })])
      ], [model("phone", [field("n", "Integer")], "some-uuid")]))
      assert.include(files.get("e-message.ts"), "p: Field.optional(PhoneModel)")
    })

    it("writes an event or model without fields", () => {
      const files = generate(definitions([event("ping", [])], [model("nothing", [])]))
      assert.include(files.get("ping-message.ts"), "  entities: [\"patron\"],\n  fields: {}\n}) {}\n")
      assert.include(
        files.get("nothing-model.ts"),
        "export class NothingModel extends Model.Class<NothingModel>(\"NothingModel\")({}) {}\n"
      )
      assert.notInclude(files.get("nothing-model.ts"), "Field")
    })

    it("writes an index alone for no definitions", () => {
      const files = generate(definitions([]))
      assert.deepStrictEqual([...files.keys()], ["index.ts"])
      assert.include(files.get("index.ts"), "\nexport {}\n")
    })
  })

  describe("names", () => {
    it("quotes keys that are not identifiers, and keeps the wire names", () => {
      const files = generate(definitions([
        event("e", [
          field("first-name", "String", { required: true }),
          field("2nd", "Integer"),
          field("with space", "Boolean"),
          field("class", "String"),
          field("$ok_1", "String"),
          field("quote\"d", "String"),
          field("café", "String")
        ], ["local-shop", "patron"])
      ]))
      assert.strictEqual(
        declaration(files.get("e-message.ts")),
        `export class EMessage extends Message.Class<EMessage>("EMessage")({
  event: "e",
  entities: ["local-shop", "patron"],
  fields: {
    "first-name": Field.String,
    "2nd": Field.optional(Field.Integer),
    "with space": Field.optional(Field.Boolean),
    class: Field.optional(Field.String),
    $ok_1: Field.optional(Field.String),
    "quote\\"d": Field.optional(Field.String),
    café: Field.optional(Field.String)
  }
}) {}
`
      )
    })

    it("makes class and file names of any name", () => {
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["user_details_update", "UserDetailsUpdateMessage", "user-details-update-message.ts"],
        ["userLogin", "UserLoginMessage", "user-login-message.ts"],
        ["HTTP-request v2", "HTTPRequestV2Message", "http-request-v2-message.ts"],
        ["3d_view", "_3dViewMessage", "3d-view-message.ts"],
        ["  order.placed!! ", "OrderPlacedMessage", "order-placed-message.ts"],
        ["commande_passée", "CommandePasséeMessage", "commande-passée-message.ts"]
      ]
      for (const [name, className, fileName] of cases) {
        const files = generate(definitions([event(name, [])]))
        const content = files.get(fileName)
        assert.isDefined(content, `${name} → ${fileName}`)
        assert.include(content, `export class ${className} extends Message.Class<${className}>("${className}")({`)
        assert.include(content, `  event: ${JSON.stringify(name)},`)
      }
    })

    it("escapes names in strings and comments", () => {
      const name = "odd \"name\"\u2028// */ \\ end"
      const files = generate(definitions([event(name, [])]))
      const content = files.get("odd-name-end-message.ts")!
      const literal = "\"odd \\\"name\\\"\\u2028// */ \\\\ end\""
      assert.include(content, `// Event ${literal}, definition id`)
      assert.include(content, `  event: ${literal},`)
      assert.notInclude(content, "\u2028")
      assert.strictEqual(JSON.parse(literal), name)
    })

    it("names a model and its file from the model's name", () => {
      const files = generate(vectors())
      assert.strictEqual(
        declaration(files.get("phone-number-model.ts")),
        `export class PhoneNumberModel extends Model.Class<PhoneNumberModel>("PhoneNumberModel")({
  country_code: Field.optional(Field.Integer),
  number: Field.optional(Field.Integer)
}) {}
`
      )
    })
  })

  describe("selecting events", () => {
    it("generates the selected events and the models they reach", () => {
      assert.deepStrictEqual([...generate(vectors(), { events: ["user_login"] }).keys()], [
        "index.ts",
        "user-login-message.ts"
      ])
      assert.deepStrictEqual([
        ...generate(vectors(), { events: ["user_details_update_extended", "store_receipt"] }).keys()
      ], [
        "address-model.ts",
        "contact-details-model.ts",
        "index.ts",
        "phone-number-model.ts",
        "store-receipt-message.ts",
        "user-details-update-extended-message.ts"
      ])
      const files = generate(vectors(), { events: ["purchase_completed"] })
      assert.deepStrictEqual([...files.keys()], ["address-model.ts", "index.ts", "purchase-completed-message.ts"])
      assert.notInclude(files.get("index.ts"), "user-login")
    })

    it("generates everything when no event is selected", () => {
      assert.deepStrictEqual(generate(vectors(), { events: [] }), generate(vectors()))
    })

    it("does not look at events that are not selected", () => {
      const defs = definitions([event("good", [field("a", "String")]), event("bad", [field("b", "Nope")])])
      assert.deepStrictEqual([...generate(defs, { events: ["good"] }).keys()], ["good-message.ts", "index.ts"])
      assert.strictEqual(fail(defs).event, "bad")
    })

    it("refuses an event name that no event has", () => {
      const error = fail(vectors(), { events: ["user_login", "user_logout"] })
      assert.strictEqual(error.reason, "UnknownEvent")
      assert.strictEqual(error.event, "user_logout")
      assert.include(error.message, "\"user_logout\"")
      assert.include(error.message, "\"user_login\"")
    })
  })

  describe("errors name the event or model and the field", () => {
    const expectError = (
      defs: EventDefinition.Definitions,
      expected: { reason: GeneratorError["reason"]; event?: string; model?: string; field?: string; detail?: RegExp }
    ) => {
      const error = fail(defs)
      assert.strictEqual(error._tag, "GeneratorError")
      assert.strictEqual(error.reason, expected.reason)
      assert.strictEqual(error.event, expected.event)
      assert.strictEqual(error.model, expected.model)
      assert.strictEqual(error.field, expected.field)
      if (expected.event !== undefined) assert.include(error.message, `event ${JSON.stringify(expected.event)}`)
      if (expected.model !== undefined) assert.include(error.message, `model ${JSON.stringify(expected.model)}`)
      if (expected.field !== undefined) assert.include(error.message, `field ${JSON.stringify(expected.field)}`)
      if (expected.detail !== undefined) assert.match(error.message, expected.detail)
      return error
    }

    it("an event without an entity", () => {
      expectError(definitions([event("lonely", [field("a", "String")], [])]), {
        reason: "MissingEntity",
        event: "lonely",
        detail: /no entity/
      })
    })

    it("an unknown field type, in an event or a model", () => {
      expectError(definitions([event("e", [field("ok", "String"), field("when", "Timestamp")])]), {
        reason: "UnknownFieldType",
        event: "e",
        field: "when",
        detail: /"Timestamp".*"DateTime"/
      })
      expectError(definitions([], [model("m", [field("x", "string")])]), {
        reason: "UnknownFieldType",
        model: "m",
        field: "x"
      })
      // Not a property of Object.prototype either.
      expectError(definitions([event("e", [field("x", "toString")])]), {
        reason: "UnknownFieldType",
        event: "e",
        field: "x"
      })
    })

    it("a modelRef that names no model, or no modelRef", () => {
      expectError(definitions([event("e", [field("p", "Model", { modelRef: "nope" })])], [model("phone", [])]), {
        reason: "UnknownModel",
        event: "e",
        field: "p",
        detail: /"nope" names no model.*phone/
      })
      expectError(definitions([event("e", [field("p", "Model")])]), { reason: "UnknownModel", event: "e", field: "p" })
      expectError(definitions([], [model("outer", [field("inner", "Model", { modelRef: "gone" })])]), {
        reason: "UnknownModel",
        model: "outer",
        field: "inner"
      })
    })

    it("models that contain each other", () => {
      expectError(
        definitions([], [
          model("a", [field("to_b", "Model", { modelRef: "id-b" })]),
          model("b", [field("name", "String"), field("to_a", "Model", { modelRef: "id-a" })])
        ]),
        { reason: "ModelCycle", model: "a", field: "to_b", detail: /a\.to_b → b\.to_a → a/ }
      )
      expectError(definitions([], [model("node", [field("next", "Model", { modelRef: "id-node" })])]), {
        reason: "ModelCycle",
        model: "node",
        field: "next",
        detail: /node\.next → node/
      })
    })

    it("an entity named like a field", () => {
      expectError(definitions([event("e", [field("user_id", "String"), field("patron", "String")], ["patron"])]), {
        reason: "DuplicateName",
        event: "e",
        field: "patron",
        detail: /entity "patron"/
      })
    })

    it("a field named like the origin date, two fields or two entities with one name", () => {
      expectError(definitions([event("e", [field("messageOriginDateUTC", "DateTime")])]), {
        reason: "DuplicateName",
        event: "e",
        field: "messageOriginDateUTC",
        detail: /origin date/
      })
      expectError(definitions([event("e", [field("a", "String"), field("a", "Integer")])]), {
        reason: "DuplicateName",
        event: "e",
        field: "a"
      })
      expectError(definitions([], [model("m", [field("a", "String"), field("a", "Integer")])]), {
        reason: "DuplicateName",
        model: "m",
        field: "a"
      })
      expectError(definitions([event("e", [], ["patron", "patron"])]), {
        reason: "DuplicateName",
        event: "e",
        field: "patron"
      })
    })

    it("names that make no class or key", () => {
      expectError(definitions([event("!!!", [])]), { reason: "InvalidName", event: "!!!" })
      expectError(definitions([], [model("_", [])]), { reason: "InvalidName", model: "_" })
      expectError(definitions([event("e", [field("", "String")])]), {
        reason: "InvalidName",
        event: "e",
        field: "",
        detail: /field #1/
      })
      expectError(definitions([event("e", [field("__proto__", "String")])]), {
        reason: "InvalidName",
        event: "e",
        field: "__proto__"
      })
      expectError(definitions([event("e", [], [""])]), { reason: "InvalidName", event: "e", field: "" })
    })

    it("two definitions that make the same class or file", () => {
      expectError(definitions([], [model("phone_number", []), model("PhoneNumber", [])]), {
        reason: "NameCollision",
        model: "PhoneNumber",
        detail: /model "phone_number" and model "PhoneNumber" would both generate PhoneNumberModel/
      })
      expectError(definitions([event("user_login", []), event("user-login", [])]), {
        reason: "NameCollision",
        event: "user-login"
      })
      // Different classes, one file on a case-insensitive file system.
      assert.notStrictEqual(generate(definitions([event("aBC", [])])).get("a-bc-message.ts"), undefined)
      expectError(definitions([event("aBC", []), event("a_bc", [])]), {
        reason: "NameCollision",
        event: "a_bc",
        detail: /event "aBC" and event "a_bc" would both generate a-bc-message\.ts/
      })
      expectError(definitions([], [model("one", [], "same"), model("two", [], "same")]), {
        reason: "NameCollision",
        model: "two",
        detail: /same id "same"/
      })
    })
  })
})
