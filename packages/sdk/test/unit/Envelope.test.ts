import { assert, describe, it } from "@effect/vitest"
import { Envelope } from "@stellanow/sdk"
import { Effect } from "effect"
import * as Messages from "../fixtures/messages.js"

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("Envelope.makeMessageId", () => {
  it("makes UUID v4 strings, never the same twice, across many refills of its random bytes", () => {
    // 16 bytes an id, 4 KiB of random bytes at a time: 10,000 ids refill about forty times.
    const ids = Array.from({ length: 10_000 }, () => Envelope.makeMessageId())
    for (const id of ids) assert.match(id, uuidV4)
    assert.strictEqual(new Set(ids).size, ids.length)
  })

  it("uses every hex digit in every random position, as random bytes would", () => {
    const ids = Array.from({ length: 2_000 }, () => Envelope.makeMessageId())
    const positions = [0, 7, 9, 15, 20, 24, 35] // random nibbles, one from each group
    for (const at of positions) {
      assert.strictEqual(new Set(ids.map((id) => id[at])).size, 16, `position ${at}`)
    }
    // The variant's nibble takes exactly its four values.
    assert.deepStrictEqual([...new Set(ids.map((id) => id[19]))].sort(), ["8", "9", "a", "b"])
  })

  it("is the id a wrapped message carries, in its envelope and on the wire", () => {
    const project = { organizationId: "org", projectId: "proj" }
    const envelope = Effect.runSync(
      Envelope.wrap(new Messages.UserDetailsUpdateMessage({ patron: "12345", user_id: "user_0" }), project)
    )
    assert.match(envelope.messageId, uuidV4)
    assert.strictEqual(JSON.parse(envelope.body).value.metadata.messageId, envelope.messageId)
  })
})
