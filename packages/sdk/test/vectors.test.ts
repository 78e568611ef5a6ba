import { assert, describe, it } from "@effect/vitest"
import { BrokerUrl, Envelope, Message, OriginDate } from "@stellanow/sdk"
import { Effect, Result } from "effect"
import * as Messages from "./fixtures/messages.js"
import { readVector } from "./fixtures/vectors.js"

const envelopes = readVector("envelopes.json")
const timestamps = readVector("timestamps.json")
const brokerUrls = readVector("broker-urls.json")

const classes: Record<string, any> = {
  user_details_update: Messages.UserDetailsUpdateMessage,
  store_receipt: Messages.StoreReceiptMessage,
  purchase_completed: Messages.PurchaseCompletedMessage,
  user_login: Messages.UserLoginMessage
}
const models: Record<string, any> = {
  phone_number: Messages.PhoneNumberModel,
  shipping_address: Messages.AddressModel
}

/** `{ $date: iso }` in a vector is a JavaScript Date; a nested object under a model field is that model. */
const revive = (value: unknown): unknown =>
  value !== null && typeof value === "object" && "$date" in value ? new Date((value as any).$date) : value

const buildMessage = (testCase: any): Message.Message => {
  const Class = classes[testCase.event]
  assert.isDefined(Class, `no message class for ${testCase.event}`)
  const fields = Object.fromEntries(
    Object.entries(testCase.fields).map(([name, value]) => {
      const Model = models[name]
      return [name, Model !== undefined && value !== null ? new Model(value) : revive(value)]
    })
  )
  const entityIds = Object.fromEntries(
    testCase.entities.map((e: any) => [e.entityTypeDefinitionId, e.entityId])
  )
  return new Class({ ...entityIds, ...fields, messageOriginDateUTC: revive(testCase.originDate) })
}

describe("envelopes.json", () => {
  it("has cases", () => {
    assert.isAbove(envelopes.cases.length, 0)
  })
  for (const testCase of envelopes.cases) {
    it.effect(`reproduces "${testCase.name}" byte for byte`, () =>
      Effect.gen(function*() {
        const envelope = yield* Envelope.wrap(buildMessage(testCase), {
          organizationId: envelopes.organizationId,
          projectId: envelopes.projectId
        }, { messageId: testCase.messageId })
        assert.strictEqual(envelope.body, testCase.body)
        assert.strictEqual(envelope.topic, envelopes.topic)
        assert.strictEqual(envelope.messageId, testCase.messageId)
        assert.deepStrictEqual(
          Buffer.from(envelope.body, "utf8"),
          Buffer.from(testCase.body, "utf8")
        )
      }))
  }
})

describe("timestamps.json", () => {
  for (const { input, wire } of timestamps.ok) {
    it(`accepts ${input}`, () => {
      assert.deepStrictEqual(OriginDate.fromString(input), Result.succeed(wire))
      const message = new Messages.UserDetailsUpdateMessage({ patron: "1", user_id: "u", messageOriginDateUTC: input })
      const body = Effect.runSync(Envelope.wrap(message, { organizationId: "o", projectId: "p" }))
      assert.strictEqual(JSON.parse(body.body).value.metadata.messageOriginDateUTC, wire)
    })
  }
  for (const input of timestamps.error) {
    it(`refuses ${JSON.stringify(input)}, quoting it`, () => {
      const result = OriginDate.fromString(input)
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure.reason, "InvalidOriginDate")
        assert.include(result.failure.message, JSON.stringify(input))
      }
      assert.throws(
        () => new Messages.UserDetailsUpdateMessage({ patron: "1", user_id: "u", messageOriginDateUTC: input }),
        /user_details_update.*messageOriginDateUTC/
      )
    })
  }
})

describe("broker-urls.json", () => {
  for (const { url, expect } of brokerUrls.ok) {
    it(`parses ${url}`, () => {
      const parsed = BrokerUrl.parse(url)
      assert.isTrue(Result.isSuccess(parsed), `expected ${url} to parse`)
      if (Result.isSuccess(parsed)) {
        const { url: _url, ...address } = parsed.success
        assert.deepStrictEqual(address, expect)
      }
    })
  }
  for (const url of brokerUrls.error) {
    it(`refuses ${JSON.stringify(url)}, naming it`, () => {
      const parsed = BrokerUrl.parse(url)
      assert.isTrue(Result.isFailure(parsed))
      if (Result.isFailure(parsed)) {
        assert.strictEqual(parsed.failure.reason, "InvalidBrokerUrl")
        assert.include(parsed.failure.message, JSON.stringify(url))
      }
    })
  }
})
