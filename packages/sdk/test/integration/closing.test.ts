/**
 * Closing the SDK against mosquitto: what is queued reaches a subscriber before the SDK lets go, through
 * the Effect layer's scope, the Promise front door's `close()` and `await using`; with the broker away,
 * closing gives up after its deadline and says what it left.
 */
import { assert, describe, it } from "@effect/vitest"
import { configureSdk, Environment, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Effect, Result, Schedule } from "effect"
import * as net from "node:net"
import * as Messages from "../fixtures/messages.js"
import { freePorts, mosquittoResource, subscribe } from "../support/Mosquitto.js"

const project = {
  organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
}
const settings = (brokerUrl: string) => ({
  auth: "none" as const,
  environment: Environment.custom({ brokerUrl }),
  reconnectSchedule: Schedule.spaced("100 millis"),
  ...project
})
const message = (i: number) => new Messages.UserDetailsUpdateMessage({ patron: "12345", user_id: `user_${i}` })
const messageIdOf = (payload: Buffer) => JSON.parse(payload.toString()).value.metadata.messageId as string

const subscriberOn = (url: string) =>
  Effect.acquireRelease(Effect.promise(() => subscribe(url, "in/#")), (s) => Effect.promise(() => s.close()))

/** A warn-level logger for the front door that keeps the warnings. */
const warningsLogger = () => {
  const warnings: Array<string> = []
  const ignore = () => {}
  return {
    warnings,
    logger: { debug: ignore, info: ignore, warn: (text: string) => void warnings.push(text), error: ignore }
  }
}

describe("closing against mosquitto", () => {
  it.live("the README's Effect example delivers its message when the layer's scope closes", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      const subscriber = yield* subscriberOn(broker.url("mqtt"))
      const program = Effect.gen(function*() {
        yield* StellaNow.start
        return yield* StellaNow.sendMessage(message(0))
      })
      const id = yield* program.pipe(Effect.provide(StellaNowLive.layer(settings(broker.url("mqtt")))))
      // The broker acknowledged it before the scope let go; it forwards to the subscriber right after.
      yield* Effect.promise(() => subscriber.waitFor(1, 5_000))
      assert.deepStrictEqual(subscriber.messages.map((m) => messageIdOf(m.payload)), [id])
    }))

  it.live(
    "the front door: 5,000 sendMessage, then close() delivers every one and leaves none",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource()
        const subscriber = yield* subscriberOn(broker.url("mqtt"))
        const { logger, warnings } = warningsLogger()
        const result = yield* Effect.promise(async () => {
          const sdk = configureSdk({ ...settings(broker.url("mqtt")), logger, logLevel: "warn" })
          await sdk.start()
          const ids: Array<string> = []
          for (let i = 0; i < 5_000; i++) ids.push(await sdk.sendMessage(message(i)))
          return { ids, closed: await sdk.close() }
        })
        assert.deepStrictEqual(result.closed, { remaining: 0 })
        yield* Effect.promise(() => subscriber.waitFor(5_000, 20_000))
        const received = new Set(subscriber.messages.map((m) => messageIdOf(m.payload)))
        assert.strictEqual(received.size, 5_000)
        assert.isTrue(result.ids.every((id) => received.has(id)))
        assert.isTrue(subscriber.messages.every((m) => m.qos === 1))
        assert.deepStrictEqual(warnings, [])
      }),
    60_000
  )

  it.live("await using delivers what is queued at the end of the block", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      const subscriber = yield* subscriberOn(broker.url("mqtt"))
      const ids = yield* Effect.promise(async () => {
        // A window of 10 in flight: stopping at once would send 10 and leave the rest.
        await using sdk = configureSdk({ ...settings(broker.url("mqtt")), maxInFlight: 10, logLevel: "none" })
        await sdk.start()
        const ids: Array<string> = []
        for (let i = 0; i < 200; i++) ids.push(await sdk.sendMessage(message(i)))
        return ids
      })
      yield* Effect.promise(() => subscriber.waitFor(200, 10_000))
      assert.deepStrictEqual(new Set(subscriber.messages.map((m) => messageIdOf(m.payload))), new Set(ids))
    }))

  it.live(
    "with the broker stopped, close() returns after its deadline with what is left",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource()
        const { logger, warnings } = warningsLogger()
        const sdk = configureSdk({ ...settings(broker.url("mqtt")), logger, logLevel: "warn" })
        yield* Effect.promise(() => sdk.start())
        yield* Effect.promise(() => broker.stop())
        for (let i = 0; i < 5; i++) yield* Effect.promise(() => sdk.sendMessage(message(i)))
        const started = Date.now()
        const closed = yield* Effect.promise(() => sdk.close({ timeoutMs: 1_000 }))
        const elapsed = Date.now() - started
        assert.deepStrictEqual(closed, { remaining: 5 })
        // The deadline, then at most the stop grace period (5 s) and the disconnect.
        assert.isAtLeast(elapsed, 1_000)
        assert.isBelow(elapsed, 4_000)
        assert.isTrue(warnings.some((w) => w.includes("5 message(s) not sent within 1s") && w.includes("lost")))
      }),
    30_000
  )

  it.live(
    "closing while start still waits for a broker nobody runs returns at once with what is left",
    () =>
      Effect.gen(function*() {
        const [port] = yield* Effect.promise(() => freePorts(1))
        const sdk = configureSdk({ ...settings(`mqtt://127.0.0.1:${port}`), logLevel: "none" })
        const starting = sdk.start().then(() => Result.succeed(undefined), (error: unknown) => Result.fail(error))
        for (let i = 0; i < 3; i++) yield* Effect.promise(() => sdk.sendMessage(message(i)))
        const started = Date.now()
        const closed = yield* Effect.promise(() => sdk.close())
        assert.deepStrictEqual(closed, { remaining: 3 })
        assert.isBelow(Date.now() - started, 3_000)
        const start = yield* Effect.promise(() => starting)
        assert.isTrue(Result.isFailure(start) && (start.failure as { reason?: string }).reason === "Closed")
      }),
    30_000
  )

  it.live("an SDK never started is not connected by closing", () =>
    Effect.gen(function*() {
      // A listener that counts connections: closing must make none.
      let connections = 0
      const server = net.createServer((socket) => {
        connections++
        socket.destroy()
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const { port } = server.address() as net.AddressInfo
      const { logger, warnings } = warningsLogger()
      const sdk = configureSdk({ ...settings(`mqtt://127.0.0.1:${port}`), logger, logLevel: "warn" })
      yield* Effect.promise(() => sdk.sendMessage(message(0)))
      assert.deepStrictEqual(yield* Effect.promise(() => sdk.close()), { remaining: 1 })
      assert.strictEqual(connections, 0)
      assert.deepStrictEqual(warnings, [
        "[stellanow] closed before start: 1 queued message(s) were not sent; they are lost with the in-memory queue"
      ])
    }))
})
