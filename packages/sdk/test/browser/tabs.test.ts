/**
 * `IndexedDbQueue` in two tabs of one site, and on a database that is not a queue (real Chromium):
 * the second tab waits for the first to close the queue, or fails with `StoreError` `"Locked"`; then
 * it opens it with the first tab's messages. Another app's database is refused as `"Foreign"`.
 */
import { afterAll, assert, beforeAll, it } from "@effect/vitest"
import * as Chromium from "./support/Chromium.js"
import * as PageServer from "./support/PageServer.js"

const call = (fn: string, ...args: ReadonlyArray<unknown>) =>
  `__queue.${fn}(${args.map((a) => JSON.stringify(a)).join(", ")})`

interface Opened {
  readonly ok: boolean
  readonly error?: { readonly tag?: string; readonly reason?: string; readonly message?: string }
}

Chromium.describeInChromium("IndexedDbQueue across tabs (Chromium)", () => {
  let server: PageServer.PageServer
  let browser: Chromium.Browser
  beforeAll(async () => {
    server = await PageServer.start(["queue"])
    browser = await Chromium.launch()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it("a second tab waits for the first to close the queue, then finds its messages", async () => {
    const first = await browser.open(server.url("queue"))
    const second = await browser.open(server.url("queue"))
    const options = { database: "tabs", lockTimeout: "300 millis" }
    assert.deepStrictEqual(await first.evaluate<Opened>(call("open", options)), { ok: true })
    await first.evaluate(call("offer", 0, 3))

    const refused = await second.evaluate<Opened>(call("open", options))
    assert.isFalse(refused.ok)
    assert.strictEqual(refused.error?.tag, "StoreError")
    assert.strictEqual(refused.error?.reason, "Locked")
    assert.include(refused.error?.message, "IndexedDB database \"tabs\"")

    // Waiting longer than the first tab keeps it: opens once it is closed.
    const waiting = second.evaluate<Opened>(call("open", { ...options, lockTimeout: "30 seconds" }))
    await first.evaluate(call("close"))
    assert.deepStrictEqual(await waiting, { ok: true })
    assert.strictEqual(await second.evaluate<number>(call("size")), 3)
    await second.evaluate(call("close"))
  })

  it("a database that is not a queue is refused as Foreign", async () => {
    const page = await browser.open(server.url("queue"))
    await page.evaluate(call("makeForeign", "another-app"))
    const refused = await page.evaluate<Opened>(call("open", { database: "another-app" }))
    assert.isFalse(refused.ok)
    assert.strictEqual(refused.error?.tag, "StoreError")
    assert.strictEqual(refused.error?.reason, "Foreign")
  })
})
