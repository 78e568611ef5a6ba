/**
 * A page with a token provider, in real Chromium: its tokens come from the app's backend (the page's
 * own server, logging in at the real token server), and the broker checks each CONNECT's token (the
 * JWT-checking gate in front of a real mosquitto, reached over ws://). 1,000 events acknowledged; and
 * tokens that expire mid-stream, each replaced ahead of its expiry, nothing lost.
 */
import { afterEach, assert, it } from "@effect/vitest"
import { allArrived, backendLogin, password, projectId, realm, username } from "../oidc/support/Fixture.js"
import { type JwtBroker, startJwtBroker } from "../oidc/support/JwtBroker.js"
import { startTokenServer } from "../oidc/support/TokenServer.js"
import * as Chromium from "./support/Chromium.js"
import * as PageServer from "./support/PageServer.js"
import * as WsBridge from "./support/WsBridge.js"

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

const call = (fn: string, ...args: ReadonlyArray<unknown>) =>
  `__page.${fn}(${args.map((a) => JSON.stringify(a)).join(", ")})`

/** The token server, the checking broker behind ws://, and a page configured with the token provider. */
const setUp = async (accessTokenLifetime: number) => {
  const idp = await startTokenServer({ realm, users: { [username]: password }, accessTokenLifetime })
  cleanups.push(() => idp.close())
  const broker = await startJwtBroker({ jwks: idp.jwks, issuer: idp.issuer })
  cleanups.push(() => broker.close())
  const bridge = await WsBridge.start(broker.url)
  cleanups.push(() => bridge.close())
  const server = await PageServer.start(["sdk"], { "/token": () => backendLogin(idp) })
  cleanups.push(() => server.close())
  const browser = await Chromium.launch()
  cleanups.push(() => browser.close())
  const page = await browser.open(server.url("sdk"))
  await page.evaluate(
    call("configure", { brokerUrl: bridge.url, organizationId: realm, projectId, tokenProvider: true })
  )
  return { broker, page }
}

/** The gate's connections, in milliseconds from the first, for failure messages. */
const timeline = (broker: JwtBroker): string => {
  const t0 = broker.connections[0]?.connectedAt ?? 0
  return JSON.stringify(broker.connections.map((c) => ({
    connected: c.connectedAt - t0,
    expires: c.expiresAt - t0,
    closed: c.closedAt === undefined ? undefined : c.closedAt - t0,
    by: c.closedBy
  })))
}

const until = (broker: JwtBroker, condition: (broker: JwtBroker) => boolean, what: string) =>
  broker.until(condition, 30_000, what)

Chromium.describeInChromium("a page with a token provider (Chromium, token-checking broker over ws://)", () => {
  it("1,000 events acknowledged", async () => {
    const { broker, page } = await setUp(300)
    await page.evaluate(call("start"))
    const ids = await page.evaluate<Array<string>>(call("send", 0, 1_000))
    await until(broker, allArrived(broker, ids), "all 1,000 arrived")
    // Stopping with a drain resolves once every message was acknowledged (PUBACK) or the deadline passed.
    assert.strictEqual(await page.evaluate<number>(call("stop", 10_000)), 0)
    assert.strictEqual(new Set(ids).size, 1_000)
    assert.strictEqual(broker.refusals.length, 0)
    assert.isAtLeast(broker.connections.length, 1)
    assert.deepStrictEqual(await page.evaluate(call("tokenRequests")), ["first"])
  })

  it("tokens that expire mid-stream: each replaced ahead of its expiry, nothing lost", async () => {
    // Long enough that the renewal (half the lifetime ahead) has seconds to spare on a loaded machine.
    const { broker, page } = await setUp(5)
    await page.evaluate(call("start"))
    const ids: Array<string> = []
    // A part of the stream on each of three tokens: after each part, wait for the next token's connection.
    for (const connections of [2, 3, 4]) {
      ids.push(...await page.evaluate<Array<string>>(call("send", ids.length, 200)))
      await until(broker, (b) => b.connections.length >= connections, `connection ${connections} (a fresh token)`)
    }
    await until(broker, allArrived(broker, ids), "all arrived")
    assert.strictEqual(await page.evaluate<number>(call("stop", 10_000)), 0)
    assert.strictEqual(new Set(ids).size, ids.length)
    assert.strictEqual(
      broker.kicks(),
      0,
      `every connection moved to a fresh token before its token expired: ${timeline(broker)}`
    )
    assert.strictEqual(broker.refusals.length, 0)
    const reasons = await page.evaluate<Array<string>>(call("tokenRequests"))
    assert.strictEqual(reasons[0], "first")
    assert.isAtLeast(reasons.filter((reason) => reason === "refresh").length, 3)
  })
})
