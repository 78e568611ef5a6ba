import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as fs from "node:fs"
import * as EventDefinition from "../src/EventDefinition.js"
import type { GeneratorError } from "../src/GeneratorError.js"
import { vectorPath } from "./support/paths.js"

const decodeError = (text: string, source?: string): GeneratorError => {
  const result = EventDefinition.decodeJson(text, source)
  if (Result.isSuccess(result)) assert.fail("expected the definitions to be refused")
  assert.strictEqual(result.failure.reason, "InvalidInput")
  return result.failure
}

describe("EventDefinition", () => {
  it("reads the console's definitions, events and models alike", () => {
    const result = EventDefinition.decodeJson(fs.readFileSync(vectorPath("event-definitions.json"), "utf8"))
    assert.isTrue(Result.isSuccess(result))
    if (Result.isSuccess(result)) {
      const { events, models } = result.success
      assert.deepStrictEqual(events.map((e) => e.name), [
        "store_receipt",
        "user_details_update_extended",
        "user_details_update",
        "user_login",
        "purchase_completed"
      ])
      assert.deepStrictEqual(models.map((m) => m.name), ["address", "contact_details", "phone_number"])
      const update = events[2]!
      assert.deepStrictEqual(update.entities, [{ id: "194964c4-1caa-4347-9e91-5c275f9ba474", name: "patron" }])
      assert.deepStrictEqual(update.fields[1], {
        id: "9dfa1e09-e95a-4479-be02-2fc28bd124b9",
        name: "phone_number",
        fieldType: { value: "Model", modelRef: "a253a0b1-4c3f-4397-bc19-44f1194885d5" },
        required: false
      })
      // Model fields have no `required` key.
      assert.isUndefined(models[2]!.fields[0]!.required)
    }
  })

  it("takes missing lists as empty", () => {
    assert.deepStrictEqual(EventDefinition.decodeJson("{}"), Result.succeed({ events: [], models: [] }))
    assert.deepStrictEqual(
      EventDefinition.decodeJson("{\"events\":[{\"id\":\"1\",\"name\":\"e\"}]}"),
      Result.succeed({ events: [{ id: "1", name: "e", fields: [], entities: [] }], models: [] })
    )
  })

  it("refuses text that is not JSON, naming the source", () => {
    const error = decodeError("{ not json", "events.json")
    assert.match(error.message, /^events\.json is not valid JSON: /)
  })

  it("refuses JSON that is not definitions", () => {
    assert.match(
      decodeError("[]", "standard input").message,
      /standard input does not hold console definitions.*expected an object with "events" and "models"/
    )
    // Effect 4 describes a list as an "array" (Effect 3 said "ReadonlyArray<Event>") and quotes the input.
    assert.match(decodeError("{\"events\": {}}").message, /at events: Expected array, got \{\}$/)
  })

  it("names the event and field of a malformed field", () => {
    const json = {
      events: [
        { id: "1", name: "good", fields: [], entities: [] },
        {
          id: "2",
          name: "user_login",
          fields: [{ name: "user_id", fieldType: { value: "String" } }, { name: "timestamp", fieldType: { value: 7 } }],
          entities: [{ name: "patron" }]
        }
      ]
    }
    const error = decodeError(JSON.stringify(json))
    assert.strictEqual(error.event, "user_login")
    assert.strictEqual(error.field, "timestamp")
    assert.include(error.message, "event \"user_login\", field \"timestamp\"")
    assert.include(error.message, "at events[1].fields[1].fieldType.value")
  })

  it("names the model of a malformed model", () => {
    const error = decodeError(JSON.stringify({ models: [{ id: "m", name: "phone", fields: [{ fieldType: {} }] }] }))
    assert.strictEqual(error.model, "phone")
    assert.isUndefined(error.event)
    assert.include(error.message, "model \"phone\": ")
    assert.include(error.message, "at models[0].fields[0]")
  })
})
