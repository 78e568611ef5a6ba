/**
 * Two processes draining one PostgreSQL queue of 20,000 messages: every message delivered, none twice
 * while both live; and when one is killed mid-way, the other finishes its share.
 */
import type { Envelope } from "@stellanow/sdk"
import { MessageQueue } from "@stellanow/sdk"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Mosquitto, startMosquitto, subscribe } from "../../sdk/test/support/Mosquitto.js"
import { PgQueue } from "../src/index.js"
import { tally, waitForAll, waitForCount } from "./support/Counting.js"
import { type Postgres, startPostgres } from "./support/Postgres.js"
import { type SdkProcess, spawnSdkProcess } from "./support/SdkProcess.js"

const COUNT = 20_000

let server: Postgres
let broker: Mosquitto
let url: string
beforeAll(async () => {
  ;[server, broker] = await Promise.all([startPostgres(), startMosquitto()])
  url = await server.createDatabase("drain")
})
afterAll(async () => {
  await Promise.all([server?.dispose(), broker?.dispose()])
})

const envelopeOf = (i: number): Envelope.Envelope => {
  const messageId = globalThis.crypto.randomUUID()
  return {
    messageId,
    topic: "in/drain-org",
    eventName: "drain_test",
    body: JSON.stringify({ key: { organizationId: "drain-org" }, value: { metadata: { messageId }, payload: { i } } })
  }
}

/** Queues COUNT messages in the table, from this process. */
const fill = (table: string) =>
  Effect.gen(function*() {
    const queue = yield* MessageQueue.MessageQueue
    const envelopes = Array.from({ length: COUNT }, (_, i) => envelopeOf(i))
    yield* Effect.forEach(envelopes, (e) => queue.offer(e), { concurrency: 1_000, discard: true })
    return envelopes.map((e) => e.messageId)
  }).pipe(Effect.provide(PgQueue.layer({ url, table, capacity: COUNT })), Effect.runPromise)

const startBoth = async (table: string, leaseDuration: string): Promise<[SdkProcess, SdkProcess]> => {
  const store = { kind: "pg" as const, url, table, leaseDuration }
  const both = [0, 1].map(() => spawnSdkProcess({ store, brokerUrl: broker.url("mqtt"), mode: "deliver" }))
  await Promise.all(both.map((p) => p.waitFor(/^opened$/)))
  for (const p of both) p.send("start")
  return both as [SdkProcess, SdkProcess]
}

const stop = async (p: SdkProcess) => {
  p.send("stop")
  const line = await p.waitFor(/^stopped /)
  await p.exited
  const [, remaining, acknowledged] = line.split(" ")
  return { remaining: Number(remaining), acknowledged: Number(acknowledged) }
}

describe("two processes draining one PostgreSQL queue", () => {
  it("all 20,000 delivered, none twice, both taking a share", async () => {
    const ids = await fill("drain_both")
    const subscriber = await subscribe(broker.url("mqtt"), "in/#")
    try {
      const [a, b] = await startBoth("drain_both", "30 seconds")
      await waitForAll(subscriber, ids, 90_000)
      const [shareA, shareB] = await Promise.all([stop(a), stop(b)])
      const result = tally(subscriber, ids)
      console.log(
        `two processes: ${result.received} received, lost ${result.lost}, duplicates ${result.duplicates}; ` +
          `shares ${shareA.acknowledged} + ${shareB.acknowledged}`
      )
      expect(result.lost).toBe(0)
      expect(result.duplicates).toBe(0)
      expect(shareA.acknowledged + shareB.acknowledged).toBe(COUNT)
      // Both gone: the table is empty (every acknowledgement committed).
      expect(await server.psql("SELECT count(*) FROM drain_both", "drain")).toBe("0")
    } finally {
      await subscriber.close()
    }
  }, 120_000)

  it("one killed mid-way: the other finishes its share, nothing lost", async () => {
    const ids = await fill("drain_kill")
    const subscriber = await subscribe(broker.url("mqtt"), "in/#")
    try {
      const [a, b] = await startBoth("drain_kill", "2 seconds")
      await waitForCount(subscriber, Math.floor(COUNT / 4), 60_000)
      await a.kill("SIGKILL")
      const atKill = subscriber.messages.length
      await waitForAll(subscriber, ids, 90_000)
      const survivor = await stop(b)
      const result = tally(subscriber, ids)
      console.log(
        `one killed after ${atKill} delivered: ${result.received} received, lost ${result.lost}, ` +
          `duplicates ${result.duplicates}; the survivor acknowledged ${survivor.acknowledged} ` +
          `(${survivor.remaining} left when it stopped)`
      )
      expect(result.lost).toBe(0)
      expect(await server.psql("SELECT count(*) FROM drain_kill", "drain")).toBe("0")
    } finally {
      await subscriber.close()
    }
  }, 120_000)
})
