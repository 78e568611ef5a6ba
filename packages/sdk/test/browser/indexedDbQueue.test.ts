/**
 * `IndexedDbQueue` passes the queue conformance suite (packages/sql/test/support/conformance.ts) in
 * headless Chromium: the suite is bundled into a page with a small runner, and each of its tests runs
 * there as one test here.
 */
import { afterAll, describe, it } from "@effect/vitest"
import * as Chromium from "./support/Chromium.js"
import * as PageServer from "./support/PageServer.js"

const availability = Chromium.availability()

const open = async () => {
  const server = await PageServer.start(["conformance"])
  const browser = await Chromium.launch().catch(async (error) => {
    await server.close()
    throw error
  })
  const page = await browser.open(server.url("conformance"))
  return { server, browser, page, names: await page.evaluate<Array<string>>("__tests()") }
}

// The suite's test names come from the page, so the page is opened while the tests are collected.
const session = availability.run ? await open() : undefined

afterAll(async () => {
  await session?.browser.close()
  await session?.server.close()
})

if (session === undefined) {
  describe.skip(`IndexedDbQueue in Chromium: ${availability.run ? "" : availability.reason}`, () => {
    it("the conformance suite", () => {})
  })
} else {
  describe("IndexedDbQueue in Chromium", () => {
    it("the page registered the conformance suite", ({ expect }) => {
      expect(session.names.length).toBeGreaterThan(20)
    })
    for (const name of session.names) {
      it(name, async () => {
        const outcome = await session.page.evaluate<{ ok: boolean; error?: string }>(
          `__runTest(${JSON.stringify(name)})`
        )
        if (!outcome.ok) throw new Error(`${outcome.error}\n--- page log ---\n${session.page.log().join("\n")}`)
      })
    }
  })
}
