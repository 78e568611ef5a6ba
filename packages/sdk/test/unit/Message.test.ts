import { assert, describe, it } from "@effect/vitest"
import { Envelope, Field, Message, Model, OriginDate, ValidationError } from "@stellanow/sdk"
import { DateTime, Effect, Exit, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Messages from "../fixtures/messages.js"

const project = { organizationId: "o", projectId: "p" }

const thrown = (f: () => unknown): ValidationError => {
  try {
    f()
  } catch (error) {
    assert.instanceOf(error, ValidationError)
    return error as ValidationError
  }
  return assert.fail("expected a ValidationError")
}

const payloadOf = (message: Message.Message) =>
  JSON.parse(JSON.parse(Effect.runSync(Envelope.wrap(message, project)).body).value.payload)

/** A message whose model was changed after it was made (plain JavaScript can; TypeScript says readonly). */
const changedAfterMaking = () => {
  const message = new Messages.UserDetailsUpdateMessage({
    patron: "12345",
    user_id: "user_0",
    phone_number: new Messages.PhoneNumberModel({ country_code: 44 })
  })
  ;(message.phone_number as { country_code: unknown }).country_code = 1.5
  return message
}

const refusedAtSend = (message: Message.Message): ValidationError =>
  Result.match(Effect.runSync(Effect.result(Envelope.wrap(message, project))), {
    onFailure: (error) => error,
    onSuccess: () => assert.fail("expected the message to be refused")
  })

describe("Message.Class", () => {
  it("names the event, the field and the rule when a field is bad", () => {
    const error = thrown(() =>
      new Messages.PurchaseCompletedMessage({
        patron: "1",
        order_id: "o",
        amount: 1,
        completed_at: "2025-04-25T12:34:56Z"
      })
    )
    assert.strictEqual(error.reason, "InvalidField")
    assert.strictEqual(error.event, "purchase_completed")
    assert.strictEqual(error.field, "completed_at")
    assert.include(error.message, `event "purchase_completed", field "completed_at"`)
    assert.include(error.message, "1 to 6 fractional digits")
  })

  it("words a refusal as documented: the nested field's path, the rule and the value", () => {
    assert.strictEqual(
      refusedAtSend(changedAfterMaking()).message,
      `event "user_details_update", field "phone_number.country_code": Expected an integer, actual 1.5`
    )
    assert.strictEqual(
      thrown(() => new Messages.UserDetailsUpdateMessage({ user_id: "u" } as any)).message,
      `event "user_details_update", field "patron": is missing`
    )
  })

  it("throws an Error named by its tag, which an Effect can yield", () => {
    const error = thrown(() => new Messages.UserDetailsUpdateMessage({ patron: "1", user_id: 42 as any }))
    assert.instanceOf(error, Error)
    assert.strictEqual(error.name, "ValidationError")
    assert.strictEqual(error._tag, "ValidationError")
    const exit = Effect.runSyncExit(Effect.gen(function*() {
      return yield* error
    }))
    assert.deepStrictEqual(exit, Exit.fail(error))
  })

  it("refuses a non-integer Integer and a non-finite Decimal", () => {
    assert.include(thrown(() => new Messages.PhoneNumberModel({ country_code: 1.5 })).message, "PhoneNumberModel")
    const error = thrown(() =>
      new Messages.PurchaseCompletedMessage({ patron: "1", order_id: "o", amount: Infinity, completed_at: new Date() })
    )
    assert.strictEqual(error.field, "amount")
  })

  it("requires the primary entity and reports it as missing", () => {
    // @ts-expect-error the primary entity is required
    const error = thrown(() => new Messages.UserDetailsUpdateMessage({ user_id: "u" }))
    assert.strictEqual(error.reason, "MissingEntity")
    assert.strictEqual(error.field, "patron")
    assert.strictEqual(
      thrown(() => new Messages.UserDetailsUpdateMessage({ patron: "", user_id: "u" })).reason,
      "InvalidEntity"
    )
  })

  it("keeps only the entities given, primary first, and keys the envelope by the primary", () => {
    const message = new Messages.StoreReceiptMessage({ patron: "p-1" })
    const body = JSON.parse(Effect.runSync(Envelope.wrap(message, project)).body)
    assert.deepStrictEqual(body.value.metadata.entityTypeIds, [{ entityTypeDefinitionId: "patron", entityId: "p-1" }])
    assert.deepStrictEqual(body.key.entityId, "p-1")
    assert.deepStrictEqual(payloadOf(message), { transaction_id: null })
  })

  it("refuses declarations without entities or with a field named like an entity", () => {
    assert.strictEqual(
      thrown(() => Message.Class<any>("X")({ event: "x", entities: [], fields: {} })).reason,
      "MissingEntity"
    )
    const clash = thrown(() =>
      Message.Class<any>("Y")({ event: "y", entities: ["patron"], fields: { patron: Field.String } })
    )
    assert.strictEqual(clash.field, "patron")
  })

  it("sets the origin date afterwards, validated, and keeps the class", () => {
    const message = new Messages.UserDetailsUpdateMessage({ patron: "1", user_id: "u" })
    const dated = Message.withOriginDate(message, "2025-04-25T12:34:56.7Z")
    assert.instanceOf(dated, Messages.UserDetailsUpdateMessage)
    assert.strictEqual(dated.user_id, "u")
    const body = JSON.parse(Effect.runSync(Envelope.wrap(dated, project)).body)
    assert.strictEqual(body.value.metadata.messageOriginDateUTC, "2025-04-25T12:34:56.700000Z")
    const error = thrown(() => Message.withOriginDate(message, "2025-04-25T12:34:56.789+00:00"))
    assert.strictEqual(error.reason, "InvalidOriginDate")
    assert.strictEqual(error.event, "user_details_update")
  })

  it("accepts a UTC DateTime and refuses a zoned one outside UTC", () => {
    const utc = DateTime.makeUnsafe("2025-04-25T12:34:56.789Z")
    const message = new Messages.UserDetailsUpdateMessage({ patron: "1", user_id: "u", messageOriginDateUTC: utc })
    const body = JSON.parse(Effect.runSync(Envelope.wrap(message, project)).body)
    assert.strictEqual(body.value.metadata.messageOriginDateUTC, "2025-04-25T12:34:56.789000Z")
    const paris = DateTime.makeZonedUnsafe(utc, { timeZone: "Europe/Paris" })
    assert.include(
      thrown(() => new Messages.UserDetailsUpdateMessage({ patron: "1", user_id: "u", messageOriginDateUTC: paris }))
        .message,
      "not UTC"
    )
    assert.strictEqual(thrown(() => Message.withOriginDate(message, new Date(Number.NaN))).reason, "InvalidOriginDate")
  })

  it("sends Date fields as YYYY-MM-DD and refuses impossible dates", () => {
    const base = { patron: "1", order_id: "o", amount: 1, completed_at: "2025-01-01T00:00:00.1Z" }
    const message = new Messages.PurchaseCompletedMessage({ ...base, purchase_date: new Date("2025-03-04T23:00:00Z") })
    assert.strictEqual(payloadOf(message).purchase_date, "2025-03-04")
    assert.strictEqual(
      thrown(() => new Messages.PurchaseCompletedMessage({ ...base, purchase_date: "2025-02-30" })).field,
      "purchase_date"
    )
  })

  it("refuses a non-JSON value in an Any field", () => {
    const base = { patron: "1", order_id: "o", amount: 1, completed_at: "2025-01-01T00:00:00.1Z" }
    assert.strictEqual(
      thrown(() => new Messages.PurchaseCompletedMessage({ ...base, extra: { f: () => 1 } as any })).field,
      "extra"
    )
  })
})

/** Each of the README's examples, with the code that produces it. */
const readmeExamples: ReadonlyArray<readonly [string, () => ValidationError]> = [
  [
    `model "PhoneNumberModel", field "country_code": Expected an integer, actual 1.5`,
    () => thrown(() => new Messages.PhoneNumberModel({ country_code: 1.5 }))
  ],
  [
    `event "user_details_update", field "user_id": Expected string, actual 42`,
    // @ts-expect-error plain JavaScript could pass a number
    () => thrown(() => new Messages.UserDetailsUpdateMessage({ patron: "12345", user_id: 42 }))
  ],
  [
    `event "user_details_update", field "patron": is missing`,
    // @ts-expect-error the primary entity is required
    () => thrown(() => new Messages.UserDetailsUpdateMessage({ user_id: "user_0" }))
  ],
  [
    `event "user_details_update", field "phone_number.country_code": Expected an integer, actual 1.5`,
    () => refusedAtSend(changedAfterMaking())
  ]
]

/** The backquoted error messages of the README's paragraph on bad values. */
const readmeMessages = (): ReadonlyArray<string> => {
  const readme = fs.readFileSync(
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../README.md"),
    "utf8"
  )
  const start = readme.indexOf("A bad value throws a `ValidationError`")
  assert.isAbove(start, -1)
  const end = readme.indexOf("**Origin date.**", start)
  return [...readme.slice(start, end).matchAll(/`((?:event|model) "[^`]*)`/g)].map((match) => match[1]!)
}

describe("validation errors", () => {
  it("every example of the README is produced verbatim", () => {
    assert.deepStrictEqual(readmeMessages(), readmeExamples.map(([message]) => message))
    for (const [message, produce] of readmeExamples) assert.strictEqual(produce().message, message)
  })

  it("carry who refused the value, the field and the reason as fields", () => {
    const model = thrown(() => new Messages.PhoneNumberModel({ country_code: 1.5 }))
    assert.deepInclude(model, { reason: "InvalidField", model: "PhoneNumberModel", field: "country_code" })
    assert.isUndefined(model.event)
    // @ts-expect-error the primary entity is required
    const missing = thrown(() => new Messages.UserDetailsUpdateMessage({ user_id: "user_0" }))
    assert.deepInclude(missing, { reason: "MissingEntity", event: "user_details_update", field: "patron" })
    assert.deepInclude(refusedAtSend(changedAfterMaking()), {
      reason: "InvalidField",
      event: "user_details_update",
      field: "phone_number.country_code"
    })
  })

  it("give the dotted path into nested models and structures", () => {
    class ContactModel extends Model.Class<ContactModel>("ContactModel")({
      phone: Messages.PhoneNumberModel,
      postcodes: Schema.Struct({ home: Schema.Array(Field.Integer) })
    }) {}
    assert.strictEqual(
      thrown(() => new ContactModel({ phone: new Messages.PhoneNumberModel({}), postcodes: { home: [1, 2.5] } }))
        .message,
      `model "ContactModel", field "postcodes.home.1": Expected an integer, actual 2.5`
    )
    class ContactMessage extends Message.Class<ContactMessage>("ContactMessage")({
      event: "contact",
      entities: ["patron"],
      fields: { contact: ContactModel }
    }) {}
    const message = new ContactMessage({
      patron: "1",
      contact: new ContactModel({ phone: new Messages.PhoneNumberModel({ number: 7 }), postcodes: { home: [] } })
    })
    ;(message.contact.phone as { number: unknown }).number = "7"
    assert.strictEqual(
      refusedAtSend(message).message,
      `event "contact", field "contact.phone.number": Expected number, actual "7"`
    )
  })

  it("a model given as a plain object is refused, naming the model expected", () => {
    assert.strictEqual(
      thrown(() =>
        new Messages.UserDetailsUpdateMessage({
          patron: "1",
          user_id: "u",
          phone_number: { country_code: 44 } as Messages.PhoneNumberModel
        })
      ).message,
      `event "user_details_update", field "phone_number": Expected PhoneNumberModel, actual {"country_code":44}`
    )
    // Effect 4's class constructors would make the model from its fields; a model's own model fields refuse too.
    class ContactModel extends Model.Class<ContactModel>("ContactModel")({ phone: Messages.PhoneNumberModel }) {}
    assert.strictEqual(
      thrown(() => new ContactModel({ phone: { number: 7 } as Messages.PhoneNumberModel })).message,
      `model "ContactModel", field "phone": Expected PhoneNumberModel, actual {"number":7}`
    )
    assert.instanceOf(new ContactModel({ phone: new Messages.PhoneNumberModel({ number: 7 }) }), ContactModel)
  })
})

describe("Message.raw", () => {
  it("sends the payload as it is", () => {
    const message = Message.raw({
      eventName: "user_details_update",
      entities: [{ entityTypeDefinitionId: "patron", entityId: "1" }],
      payload: "{\"user_id\":\"u\"}"
    })
    assert.strictEqual(
      JSON.parse(Effect.runSync(Envelope.wrap(message, project)).body).value.payload,
      "{\"user_id\":\"u\"}"
    )
  })

  it("refuses no entity, a payload that is not a JSON object, and a bad origin date", () => {
    const ok = { eventName: "e", entities: [{ entityTypeDefinitionId: "patron", entityId: "1" }], payload: "{}" }
    assert.strictEqual(thrown(() => Message.raw({ ...ok, entities: [] })).reason, "MissingEntity")
    assert.strictEqual(thrown(() => Message.raw({ ...ok, payload: "[1]" })).reason, "InvalidPayload")
    assert.strictEqual(thrown(() => Message.raw({ ...ok, payload: "{" })).reason, "InvalidPayload")
    assert.strictEqual(
      thrown(() => Message.raw({ ...ok, messageOriginDateUTC: "2025-04-25" })).reason,
      "InvalidOriginDate"
    )
  })

  it("answers whatever plain JavaScript passes with a ValidationError", () => {
    const ok = { eventName: "e", entities: [{ entityTypeDefinitionId: "patron", entityId: "1" }], payload: "{}" }
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [undefined, "Message.raw takes an object: { eventName, entities, payload, messageOriginDateUTC? }"],
      [{ ...ok, eventName: 7 }, `field "eventName": the event name must be a non-empty string`],
      [
        { ...ok, entities: "patron" },
        `event "e", field "entities": entities must be an array of { entityTypeDefinitionId, entityId }`
      ],
      [
        { ...ok, entities: [null] },
        `event "e", field "entities.0": an entity needs a non-empty entityTypeDefinitionId and entityId`
      ],
      [{ ...ok, payload: ["{}"] }, `event "e", field "payload": the payload must be a string of JSON`]
    ]
    for (const [options, message] of cases) {
      assert.strictEqual(thrown(() => Message.raw(options as any)).message, message)
    }
  })
})

describe("Envelope.wrap", () => {
  it.effect("refuses something that is not a message", () =>
    Effect.gen(function*() {
      const result = yield* Effect.result(Envelope.wrap({ user_id: "u" } as any, project))
      assert.isTrue(Result.isFailure(result) && result.failure.reason === "InvalidPayload")
    }))

  it.effect("stamps a message without an origin date from Effect's Clock, which TestClock drives", () =>
    Effect.gen(function*() {
      const message = new Messages.UserDetailsUpdateMessage({ patron: "1", user_id: "u" })
      yield* TestClock.setTime(Date.UTC(2025, 3, 25, 12, 34, 56, 789))
      const first = yield* Envelope.wrap(message, project)
      yield* TestClock.adjust("1 millis")
      const second = yield* Envelope.wrap(message, project)
      assert.strictEqual(JSON.parse(first.body).value.metadata.messageOriginDateUTC, "2025-04-25T12:34:56.789000Z")
      assert.strictEqual(JSON.parse(second.body).value.metadata.messageOriginDateUTC, "2025-04-25T12:34:56.790000Z")
      assert.strictEqual(second.wrappedAt, Date.UTC(2025, 3, 25, 12, 34, 56, 790))
    }))

  it.effect("makes a fresh UUID v4 per message", () =>
    Effect.gen(function*() {
      const message = new Messages.UserDetailsUpdateMessage({ patron: "1", user_id: "u" })
      const a = yield* Envelope.wrap(message, project)
      const b = yield* Envelope.wrap(message, project)
      assert.notStrictEqual(a.messageId, b.messageId)
      assert.match(a.messageId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }))

  it.effect("writes compact JSON that reads back to the stamps, for its own ids and for any given one", () =>
    Effect.gen(function*() {
      const message = new Messages.StoreReceiptMessage({ patron: "p\"1", local_shop: "shop\n2" })
      for (const messageId of [undefined, "an \"id\" with \\ and \u2028"]) {
        const envelope = yield* Envelope.wrap(message, { organizationId: "o\"", projectId: "p" }, { messageId })
        const parsed = JSON.parse(envelope.body)
        assert.strictEqual(JSON.stringify(parsed), envelope.body)
        assert.strictEqual(parsed.value.metadata.messageId, envelope.messageId)
        if (messageId !== undefined) assert.strictEqual(envelope.messageId, messageId)
        assert.deepStrictEqual(parsed.key.organizationId, "o\"")
        assert.deepStrictEqual(parsed.value.metadata.entityTypeIds, [
          { entityTypeDefinitionId: "patron", entityId: "p\"1" },
          { entityTypeDefinitionId: "local_shop", entityId: "shop\n2" }
        ])
      }
    }))
})

describe("OriginDate.fromEpochMicros", () => {
  it("formats every microsecond, within one millisecond and across them", () => {
    const base = Date.UTC(2025, 3, 25, 12, 34, 56, 789) * 1000
    // In this order: the formatted millisecond is reused, then changes, then comes back.
    const cases: ReadonlyArray<readonly [number, string]> = [
      [base, "2025-04-25T12:34:56.789000Z"],
      [base + 5, "2025-04-25T12:34:56.789005Z"],
      [base + 12, "2025-04-25T12:34:56.789012Z"],
      [base + 999, "2025-04-25T12:34:56.789999Z"],
      [base + 1000, "2025-04-25T12:34:56.790000Z"],
      [base + 210_123, "2025-04-25T12:34:56.999123Z"],
      [base + 211_000, "2025-04-25T12:34:57.000000Z"],
      [base + 7, "2025-04-25T12:34:56.789007Z"],
      [-1, "1969-12-31T23:59:59.999999Z"],
      [0, "1970-01-01T00:00:00.000000Z"]
    ]
    for (const [micros, expected] of cases) {
      assert.deepStrictEqual(OriginDate.fromEpochMicros(micros), Result.succeed(expected), String(micros))
    }
  })

  it("refuses an instant outside the years 0000 to 9999", () => {
    const result = OriginDate.fromEpochMicros(Date.UTC(10000, 0, 1) * 1000)
    assert.isTrue(Result.isFailure(result) && result.failure.reason === "InvalidOriginDate")
  })
})
