/**
 * Start, stop, order, duplicate client ids, dead connections and a clean exit, against mosquitto.
 */
import { assert, describe, it } from "@effect/vitest"
import { Environment, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Context, Effect, Fiber, Layer, Option, Result, Schedule, Stream } from "effect"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import * as Messages from "../fixtures/messages.js"
import { mosquittoResource, subscribe } from "../support/Mosquitto.js"
import { startTcpProxy } from "../support/TcpProxy.js"

const project = {
  organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
}
const layerFor = (brokerUrl: string, options: Partial<StellaNowLive.Settings> = {}) =>
  StellaNowLive.layer({
    auth: "none",
    environment: Environment.custom({ brokerUrl }),
    reconnectSchedule: Schedule.spaced("100 millis"),
    ...project,
    ...options
  })
const message = (i: number) => new Messages.UserDetailsUpdateMessage({ patron: "p", user_id: `user_${i}` })
const userIdOf = (payload: Buffer) => JSON.parse(JSON.parse(payload.toString()).value.payload).user_id as string

const subscriberOn = (url: string) =>
  Effect.acquireRelease(Effect.promise(() => subscribe(url, "in/#")), (s) => Effect.promise(() => s.close()))

describe("lifecycle against mosquitto", () => {
  it.live("messages sent before start, and left queued by stop, go out after the next start", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      const subscriber = yield* subscriberOn(broker.url("mqtt"))
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        for (let i = 0; i < 5; i++) yield* sdk.sendMessage(message(i))
        assert.strictEqual(subscriber.messages.length, 0)
        yield* sdk.start
        yield* Effect.promise(() => subscriber.waitFor(5))
        yield* sdk.stop()
        for (let i = 5; i < 10; i++) yield* sdk.sendMessage(message(i))
        assert.strictEqual(yield* sdk.queueSize, 5)
        yield* sdk.start
        yield* Effect.promise(() => subscriber.waitFor(10))
      }).pipe(Effect.provide(layerFor(broker.url("mqtt"))))
      assert.deepStrictEqual(
        subscriber.messages.map((m) => userIdOf(m.payload)),
        Array.from({ length: 10 }, (_, i) => `user_${i}`)
      )
    }))

  it.live("LIFO delivers the newest first", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      const subscriber = yield* subscriberOn(broker.url("mqtt"))
      yield* Effect.gen(function*() {
        for (let i = 0; i < 20; i++) yield* StellaNow.sendMessage(message(i))
        yield* StellaNow.start
        yield* Effect.promise(() => subscriber.waitFor(20))
      }).pipe(Effect.provide(layerFor(broker.url("mqtt"), { queue: "lifo", maxInFlight: 1 })))
      assert.deepStrictEqual(
        subscriber.messages.map((m) => userIdOf(m.payload)),
        Array.from({ length: 20 }, (_, i) => `user_${19 - i}`)
      )
    }))

  it.live("start fails after its timeout when the broker is down, and the queue is kept", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      yield* Effect.promise(() => broker.stop())
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        yield* sdk.sendMessage(message(0))
        const result = yield* Effect.result(sdk.start)
        assert.isTrue(Result.isFailure(result) && result.failure._tag === "LifecycleError")
        assert.strictEqual(yield* sdk.queueSize, 1)
        yield* Effect.promise(() => broker.start())
        const subscriber = yield* subscriberOn(broker.url("mqtt"))
        yield* sdk.start
        yield* Effect.promise(() => subscriber.waitFor(1))
      }).pipe(Effect.provide(layerFor(broker.url("mqtt"), { startTimeout: "1 second" })))
    }))

  it.live(
    "two SDKs with one client id: the takeover loop is detected and reported, not spun forever",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource()
        const settings = { clientId: "StellaNowSDKTypeScript_duplicate", maxTakeovers: 3 }
        const sdks = [
          yield* buildSdk(layerFor(broker.url("mqtt"), settings)),
          yield* buildSdk(layerFor(broker.url("mqtt"), settings))
        ]
        const failures = yield* Effect.forEach(sdks, (sdk) =>
          Effect.flatMap(sdk.subscribe, (events) =>
            events.pipe(
              Stream.filterMap((e) =>
                e._tag === "ConnectionChanged" && e.state._tag === "Failed"
                  ? Result.succeed(e.state.error.reason)
                  : Result.failVoid
              ),
              Stream.runHead,
              Effect.forkChild
            )))
        yield* sdks[0]!.start
        yield* Effect.result(sdks[1]!.start)
        // One of them (or both) ends in Failed, naming the duplicate client id.
        const reason = yield* Effect.raceAll(failures.map(Fiber.join)).pipe(Effect.timeout("20 seconds"))
        assert.deepStrictEqual(reason, Option.some("DuplicateClientId"))
      }),
    30_000
  )

  it.live(
    "a silent (half-open) connection is noticed by keepalive and replaced; nothing is lost",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource()
        const proxy = yield* Effect.acquireRelease(
          Effect.promise(() => startTcpProxy({ host: "127.0.0.1", port: broker.tcpPort })),
          (p) => Effect.promise(() => p.close())
        )
        const subscriber = yield* subscriberOn(broker.url("mqtt"))
        yield* Effect.gen(function*() {
          const sdk = yield* StellaNow.StellaNow
          yield* sdk.start
          yield* sdk.sendMessage(message(0))
          yield* Effect.promise(() => subscriber.waitFor(1))
          const disconnected = yield* (yield* sdk.subscribe).pipe(
            Stream.filter((e) => e._tag === "ConnectionChanged" && e.state._tag === "Disconnected"),
            Stream.runHead,
            Effect.forkChild
          )
          proxy.stall(true)
          yield* sdk.sendMessage(message(1))
          yield* sdk.sendMessage(message(2))
          // Keepalive is 1 s: the dead connection is noticed without any help from the network.
          yield* Fiber.join(disconnected).pipe(Effect.timeout("10 seconds"))
          proxy.stall(false)
          proxy.cutAll()
          yield* Effect.promise(() => subscriber.waitFor(3, 15_000))
        }).pipe(Effect.provide(layerFor(proxy.url("mqtt"), { keepAlive: "1 second", connectTimeout: "2 seconds" })))
        const ids = new Set(subscriber.messages.map((m) => userIdOf(m.payload)))
        assert.deepStrictEqual([...ids].sort(), ["user_0", "user_1", "user_2"])
      }),
    30_000
  )

  it.live("the Promise facade's close() lets the process exit by itself", () =>
    Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..")
      const program = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/programs/facade-exits.ts")
      const { stdout } = yield* Effect.promise(() =>
        promisify(execFile)(
          process.execPath,
          ["--import", "tsx", program, broker.url("mqtt")],
          { cwd: root, timeout: 20_000, env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json") } }
        )
      )
      assert.include(stdout, "closed")
    }).pipe(Effect.scoped), 30_000)
})

/** Builds an SDK in the test's scope, to run two side by side. */
const buildSdk = (layer: ReturnType<typeof layerFor>) =>
  Effect.map(Layer.build(layer), Context.get(StellaNow.StellaNow)).pipe(Effect.orDie)
