/**
 * A page reloaded mid-stream loses nothing with the IndexedDB queue: what it queued and had not sent
 * (the broker down meanwhile) is sent by the next load, with the same message ids. Real Chromium, real
 * mosquitto over ws://; a durable subscriber counts the message ids the broker accepted. The page is
 * a plain-http site's (not a secure context), so the platform-neutral paths run: message ids without
 * `crypto.randomUUID`, the queue without Web Locks.
 */
import { afterEach, assert, it } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { durableSubscriber, persistenceConfig } from "../support/DurableSubscriber.js"
import { startMosquitto } from "../support/Mosquitto.js"
import * as Chromium from "./support/Chromium.js"
import * as PageServer from "./support/PageServer.js"

const organizationId = "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11"
const projectId = "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"

/** What each test started, closed after it in reverse order. */
const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

const call = (fn: string, ...args: ReadonlyArray<unknown>) =>
  `__page.${fn}(${args.map((a) => JSON.stringify(a)).join(", ")})`

Chromium.describeInChromium("a page reloaded mid-stream (Chromium, mosquitto over ws://)", () => {
  it("sends after the reload what it queued before: 1,000 events, 0 lost", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "stellanow-reload-"))
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
    const broker = await startMosquitto({ websockets: true, extraConfig: persistenceConfig(dir) })
    cleanups.push(() => broker.dispose())
    const subscriber = await durableSubscriber(broker.url("mqtt"))
    cleanups.push(() => subscriber.close())
    const server = await PageServer.start(["sdk"])
    cleanups.push(() => server.close())
    const browser = await Chromium.launch()
    cleanups.push(() => browser.close())
    // A plain-http site's page: no secure context, so no Web Locks and no crypto.randomUUID either.
    const page = await browser.open(server.url("sdk", Chromium.insecureHost))
    assert.isFalse(await page.evaluate<boolean>("isSecureContext"))
    const options = { brokerUrl: broker.url("ws"), organizationId, projectId, database: "reload-test" }

    await page.evaluate(call("configure", options))
    await page.evaluate(call("start"))
    const delivered = await page.evaluate<Array<string>>(call("send", 0, 500))
    await subscriber.waitForAll(delivered, 30_000)
    // The broker goes away: the next 500 are queued (each committed when sendMessage returns), not sent.
    await broker.stop()
    const queued = await page.evaluate<Array<string>>(call("send", 500, 500))
    assert.isAtLeast(await page.evaluate<number>(call("queueSize")), 500)

    await page.reload()
    await page.evaluate(call("configure", options))
    assert.isAtLeast(await page.evaluate<number>(call("queueSize")), 500, "the queue after the reload")
    await broker.start()
    await page.evaluate(call("start"))
    await subscriber.waitForAll(queued, 30_000)

    const ids = [...delivered, ...queued]
    assert.strictEqual(new Set(ids).size, 1_000)
    const lost = ids.filter((id) => !subscriber.counts.has(id))
    assert.deepStrictEqual(lost, [])
    // Closing commits the last acknowledgements: a third load finds the queue empty.
    assert.strictEqual(await page.evaluate<number>(call("close")), 0)
    await page.reload()
    await page.evaluate(call("configure", options))
    assert.strictEqual(await page.evaluate<number>(call("queueSize")), 0)
  })
})
