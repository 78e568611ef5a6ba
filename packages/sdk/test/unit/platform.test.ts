/**
 * The internals that must not lean on Node's globals, so the same code runs in a page: message ids
 * without `crypto.randomUUID` (browsers give it only to secure pages) and JWT decoding without
 * `Buffer`. Each is run here with the Node global taken away.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { afterEach, vi } from "vitest"
import * as OidcToken from "../../src/internal/oidcToken.js"
import * as Uuid from "../../src/internal/uuid.js"

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** base64url without padding, as JWTs carry their parts. */
const base64Url = (text: string) => Buffer.from(text).toString("base64url")

afterEach(() => {
  vi.unstubAllGlobals()
  vi.resetModules()
})

describe("message ids", () => {
  it("crypto.getRandomValues makes distinct UUID v4s, version and variant bits set", () => {
    const ids = Array.from({ length: 5_000 }, Uuid.random)
    for (const id of ids) assert.match(id, uuidV4)
    assert.strictEqual(new Set(ids).size, ids.length)
    // Every hex digit shows up in the random positions: the bytes are used, not a constant.
    assert.strictEqual(new Set(ids.map((id) => id[0])).size, 16)
  })

  it("a page without crypto.randomUUID (plain http) still gets UUID v4 message ids", async () => {
    const { getRandomValues } = globalThis.crypto
    vi.stubGlobal("crypto", { getRandomValues: getRandomValues.bind(globalThis.crypto) })
    const { Envelope } = await import("../../src/index.js")
    const ids = [Envelope.makeMessageId(), Envelope.makeMessageId()]
    for (const id of ids) assert.match(id, uuidV4)
    assert.notStrictEqual(ids[0], ids[1])
  })
})

describe("JWT decoding", () => {
  const timing = { refreshBeforeExpiry: 60_000, clockSkew: 10_000 }

  it("decodes base64url text (URL-safe alphabet, no padding, UTF-8)", () => {
    for (const text of ["", "a", "ab", "abc", "{\"name\":\"Zoë ✓ ??>\"}", "~~~???>>>"]) {
      assert.strictEqual(OidcToken.decodeBase64Url(base64Url(text)), text)
    }
    assert.throws(() => OidcToken.decodeBase64Url("not base64!"))
  })

  it("reads a JWT's lifetime without Buffer: a 300 s token is not taken for a 60 s one", () => {
    const jwt = `${base64Url("{\"alg\":\"RS256\"}")}.${base64Url(JSON.stringify({ iat: 1_000, exp: 1_300 }))}.sig`
    vi.stubGlobal("Buffer", undefined)
    const token = OidcToken.fromResponse({ access_token: Redacted.make(jwt) }, 0, timing)
    assert.strictEqual(token.lifetime, 300_000)
  })
})
