/**
 * The long run: thousands of messages through the real SDK over OIDC, across many short token
 * lifetimes, to a broker that checks each token at CONNECT and drops a client whose token expires.
 * Every message must arrive; every reconnect must come before the expiry of the token in use.
 */
import { assert, describe, it } from "@effect/vitest"
import { StellaNow } from "@stellanow/sdk"
import { Effect, References } from "effect"
import { allArrived, sdkLayer, sendAll, servers, until } from "./support/Fixture.js"

const tokenLifetime = 3 // seconds
const lifetimes = 5
const total = 6_000
const batch = 50

describe("OIDC long run", () => {
  it.live(
    `${total} messages across ${lifetimes} token lifetimes of ${tokenLifetime} s`,
    () =>
      Effect.gen(function*() {
        const env = yield* servers({ accessTokenLifetime: tokenLifetime, refreshTokenLifetime: 10 })
        const { broker, idp } = env
        const started = Date.now()
        const ids = yield* Effect.gen(function*() {
          const sdk = yield* StellaNow.StellaNow
          yield* sdk.start
          // Spread evenly over the run, so publishes are in flight at every renewal.
          const batches = total / batch
          const pause = (lifetimes * tokenLifetime * 1000) / batches
          const ids: Array<string> = []
          for (let b = 0; b < batches; b++) {
            ids.push(...(yield* sendAll(sdk, b * batch, batch)))
            yield* Effect.sleep(pause)
          }
          yield* until(() => broker.until(allArrived(broker, ids), 30_000, `all ${total} messages arrived`))
          const { remaining } = yield* sdk.stop()
          assert.strictEqual(remaining, 0)
          return ids
        }).pipe(
          Effect.provide(sdkLayer(env)),
          Effect.provideService(References.MinimumLogLevel, "Warn")
        )
        const elapsed = Date.now() - started
        const connections = broker.connections
        const margins = connections.map((c) => c.expiresAt - c.closedAt!)
        const summary = {
          messages: total,
          distinct: broker.recorded.counts.size,
          arrivals: broker.recorded.order.length,
          duplicates: broker.recorded.duplicates(),
          seconds: elapsed / 1000,
          tokenLifetimes: elapsed / (tokenLifetime * 1000),
          connections: connections.length,
          reconnects: connections.length - 1,
          kicks: broker.kicks(),
          refusals: broker.refusals.length,
          logins: idp.stats.logins,
          refreshes: idp.stats.refreshes,
          minMarginBeforeExpiryMs: Math.min(...margins)
        }
        console.log("OIDC long run:", JSON.stringify(summary))

        assert.isAtLeast(elapsed, lifetimes * tokenLifetime * 1000)
        assert.strictEqual(new Set(ids).size, total)
        assert.isTrue(allArrived(broker, ids)(), "every message arrived")
        assert.strictEqual(broker.recorded.counts.size, total, "nothing else arrived")
        assert.strictEqual(summary.duplicates, 0, "no message arrived twice")
        assert.strictEqual(summary.kicks, 0, "the broker never had to drop a client whose token expired")
        assert.strictEqual(summary.refusals, 0)
        assert.isTrue(connections.every((c) => c.closedBy === "client" && c.closedAt! < c.expiresAt))
        // A new connection per token: at least one reconnect per lifetime, each with a fresh token.
        assert.isAtLeast(summary.reconnects, lifetimes - 1)
        assert.strictEqual(idp.stats.logins, 1, "one login; refreshes after it")
        assert.isAtLeast(idp.stats.refreshes, lifetimes - 1)
        assert.strictEqual(new Set(connections.map((c) => c.clientId)).size, 1, "one client id throughout")
      }),
    { timeout: 60_000 }
  )
})
