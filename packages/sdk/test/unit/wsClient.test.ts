/**
 * The WebSocket client for pages (`src/internal/wsClient.ts`) under the WebSocket sink, against a fake
 * `WebSocket` installed as the global: a scripted broker that parses what the client sends (with
 * mqtt-packet) and answers what the test tells it to, when it tells it. The keepalive, the broker's
 * Server Keep Alive and Receive Maximum, refusals in PUBACKs, a broken broker, a refused CONNECT,
 * packets split across frames, the end of a connection. Time is `TestClock`'s.
 */
import { assert, describe, it } from "@effect/vitest"
import { Auth, type Envelope, Sink, StellaNowError } from "@stellanow/sdk"
import { Duration, Effect, Exit, Fiber, Option, Schedule, type Scope, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import * as mqttPacket from "mqtt-packet"
import { afterEach, beforeEach, vi } from "vitest"
import * as WsClient from "../../src/internal/wsClient.js"
import { settleFibers } from "../support/ManualDrain.js"

/** A packet the client sent, as mqtt-packet read it. */
type Sent = mqttPacket.Packet & { readonly messageId?: number; readonly payload?: Buffer; readonly topic?: string }

/**
 * The platform's `WebSocket` as the client uses it, with a scripted broker behind it. The close event
 * comes in a microtask, as a real socket's comes later than `close()`.
 */
class FakeWebSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  /** Every socket made, in order: one per connection attempt. */
  static instances: Array<FakeWebSocket> = []

  readyState = FakeWebSocket.CONNECTING
  binaryType = "blob"
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { readonly data: unknown }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null
  /** The packets the client sent, in order. */
  readonly sent: Array<Sent> = []
  /** The code the client closed with; undefined while it has not closed the socket. */
  closedWith: number | undefined = undefined
  private readonly parser = mqttPacket.parser({ protocolVersion: 5 })

  constructor(readonly url: string, readonly protocol: string) {
    FakeWebSocket.instances.push(this)
    this.parser.on("packet", (packet) => this.sent.push(packet as Sent))
    this.parser.on("error", (error) => {
      throw error
    })
  }

  send(data: Uint8Array): void {
    if (this.readyState === FakeWebSocket.CONNECTING) throw new Error("InvalidStateError: still connecting")
    // A real socket drops what is sent once it is closing.
    if (this.readyState !== FakeWebSocket.OPEN) return
    this.parser.parse(Buffer.from(data))
  }

  close(code?: number): void {
    if (this.readyState >= FakeWebSocket.CLOSING) return
    this.closedWith = code ?? 1005
    this.readyState = FakeWebSocket.CLOSING
    queueMicrotask(() => this.closeEvent(code ?? 1005))
  }

  // The broker's side.

  /** The connection opened: the client sends its CONNECT. */
  open(): void {
    this.readyState = FakeWebSocket.OPEN
    this.onopen?.({})
  }

  /** One binary frame from the broker. */
  deliver(bytes: ArrayLike<number>): void {
    this.onmessage?.({ data: Uint8Array.from(bytes).buffer })
  }

  /** A packet from the broker, in one frame. */
  reply(packet: mqttPacket.Packet): void {
    this.deliver(mqttPacket.generate(packet, { protocolVersion: 5 }))
  }

  /** The packets of a kind the client sent. */
  sentOf(cmd: string): Array<Sent> {
    return this.sent.filter((packet) => packet.cmd === cmd)
  }

  private closeEvent(code: number): void {
    if (this.readyState === FakeWebSocket.CLOSED) return
    this.readyState = FakeWebSocket.CLOSED
    this.onclose?.({ code, reason: "" })
  }
}

beforeEach(() => {
  FakeWebSocket.instances = []
  vi.stubGlobal("WebSocket", FakeWebSocket)
})

afterEach(() => {
  vi.unstubAllGlobals()
})

const envelope = (i: number): Envelope.Envelope => ({
  messageId: `m${i}`,
  topic: "in/test",
  eventName: "test",
  body: `{"i":${i}}`
})

/** The socket of the `n`th connection attempt. */
const socket = (n = 0): FakeWebSocket => {
  const made = FakeWebSocket.instances[n]
  assert.isDefined(made, `connection attempt ${n + 1} made no WebSocket`)
  return made!
}

const connack = (properties: Record<string, number> = {}, reasonCode = 0): mqttPacket.Packet => ({
  cmd: "connack",
  sessionPresent: false,
  reasonCode,
  properties
})

const puback = (messageId: number, reasonCode = 0): mqttPacket.Packet => ({ cmd: "puback", messageId, reasonCode })

/** Lets fibers run, and the microtasks they leave. */
const settle = settleFibers

const stateTag = (sink: Sink.Service) => Effect.map(SubscriptionRef.get(sink.state), (state) => state._tag)

/** A WebSocket sink over the fake, running in the scope. */
const start = (options: Partial<Sink.WebSocketOptions> = {}) =>
  Effect.gen(function*() {
    const sink = yield* Sink.makeWebSocket({
      brokerUrl: "ws://broker.test:8080/mqtt",
      keepAlive: "10 seconds",
      reconnectSchedule: Schedule.spaced("1 second"),
      ...options
    }).pipe(Effect.provide(Auth.layerNone))
    const run = yield* Effect.forkScoped(sink.run)
    yield* settle
    return { sink, run }
  })

/** A sink connected over the first socket, the broker's CONNACK carrying `properties`. */
const connected = (properties: Record<string, number> = {}, options: Partial<Sink.WebSocketOptions> = {}) =>
  Effect.gen(function*() {
    const started = yield* start(options)
    const ws = socket()
    ws.open()
    assert.strictEqual(ws.sentOf("connect").length, 1)
    ws.reply(connack(properties))
    yield* settle
    assert.strictEqual(yield* stateTag(started.sink), "Connected")
    return { ...started, ws }
  })

/** Publishes through the sink in a fiber of its own. */
const publish = (sink: Sink.Service, i: number) =>
  Effect.tap(Effect.forkScoped(sink.publish(envelope(i))), () => settle)

const publishError = (fiber: Fiber.Fiber<void, StellaNowError.PublishError>) => Effect.flip(Fiber.join(fiber))

const scoped = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.scoped(effect)

describe("the WebSocket client's keepalive", () => {
  it.effect("pings every keepAlive once connected; an answered ping keeps the connection", () =>
    scoped(Effect.gen(function*() {
      const { sink, ws } = yield* connected()
      assert.strictEqual(ws.url, "ws://broker.test:8080/mqtt")
      assert.strictEqual(ws.protocol, "mqtt")
      assert.strictEqual(ws.binaryType, "arraybuffer")
      assert.strictEqual((ws.sentOf("connect")[0] as mqttPacket.IConnectPacket).keepalive, 10)
      yield* TestClock.adjust("9999 millis")
      yield* settle
      assert.strictEqual(ws.sentOf("pingreq").length, 0)
      yield* TestClock.adjust("1 millis")
      yield* settle
      assert.strictEqual(ws.sentOf("pingreq").length, 1)
      ws.reply({ cmd: "pingresp" })
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.strictEqual(ws.sentOf("pingreq").length, 2)
      assert.strictEqual(yield* stateTag(sink), "Connected")
      assert.isUndefined(ws.closedWith)
    })))

  it.effect("ends the connection at the next tick when a ping went unanswered, then reconnects", () =>
    scoped(Effect.gen(function*() {
      const { sink, ws } = yield* connected()
      yield* TestClock.adjust("10 seconds")
      yield* settle
      ws.reply({ cmd: "pingresp" })
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.strictEqual(ws.sentOf("pingreq").length, 2)
      assert.isUndefined(ws.closedWith)
      // The second ping stays unanswered.
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.strictEqual(ws.sentOf("pingreq").length, 2, "no third PINGREQ: the connection ended instead")
      assert.strictEqual(ws.closedWith, 1000)
      const state = yield* SubscriptionRef.get(sink.state)
      assert.strictEqual(state._tag, "Disconnected")
      if (state._tag === "Disconnected") {
        assert.include(state.error.message, "keepalive timeout")
        assert.strictEqual(state.error.reason, "Timeout")
      }
      assert.strictEqual(FakeWebSocket.instances.length, 1)
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.strictEqual(FakeWebSocket.instances.length, 2)
      assert.strictEqual(yield* stateTag(sink), "Connecting")
    })))
})

describe("the broker's Server Keep Alive", () => {
  it.effect("replaces the keepAlive: a CONNACK's serverKeepAlive 3 pings every 3 s", () =>
    scoped(Effect.gen(function*() {
      const { sink, ws } = yield* connected({ serverKeepAlive: 3 })
      yield* TestClock.adjust("2999 millis")
      yield* settle
      assert.strictEqual(ws.sentOf("pingreq").length, 0)
      for (let ping = 1; ping <= 3; ping++) {
        yield* TestClock.adjust(ping === 1 ? "1 millis" : "3 seconds")
        yield* settle
        assert.strictEqual(ws.sentOf("pingreq").length, ping)
        ws.reply({ cmd: "pingresp" })
      }
      assert.strictEqual(yield* stateTag(sink), "Connected")
    })))

  it.effect("a serverKeepAlive of 0 turns the keepalive off: no ping in 60 s", () =>
    scoped(Effect.gen(function*() {
      const { sink, ws } = yield* connected({ serverKeepAlive: 0 })
      yield* TestClock.adjust("60 seconds")
      yield* settle
      assert.strictEqual(ws.sentOf("pingreq").length, 0)
      assert.strictEqual(yield* stateTag(sink), "Connected")
      assert.isUndefined(ws.closedWith)
    })))
})

describe("the broker's Receive Maximum", () => {
  it.effect("holds publishes beyond it; each PUBACK lets the next one through, in order", () =>
    scoped(Effect.gen(function*() {
      const { sink, ws } = yield* connected({ receiveMaximum: 2 })
      const fibers: Array<Fiber.Fiber<void, StellaNowError.PublishError>> = []
      for (let i = 1; i <= 5; i++) fibers.push(yield* publish(sink, i))
      const bodies = () => ws.sentOf("publish").map((packet) => packet.payload!.toString())
      const ids = () => ws.sentOf("publish").map((packet) => packet.messageId!)
      assert.deepStrictEqual(bodies(), [envelope(1).body, envelope(2).body])
      assert.isTrue(ws.sentOf("publish").every((packet) => (packet as mqttPacket.IPublishPacket).qos === 1))
      for (let acked = 0; acked < 5; acked++) {
        const sent = ws.sentOf("publish")
        // Those in flight: sent, not yet acknowledged.
        const inFlight = ids().slice(acked)
        assert.strictEqual(inFlight.length, Math.min(2, 5 - acked))
        assert.strictEqual(new Set(inFlight).size, inFlight.length, "packet ids in flight are distinct")
        assert.isUndefined(fibers[acked]!.pollUnsafe())
        ws.reply(puback(sent[acked]!.messageId!))
        yield* settle
        assert.deepStrictEqual(fibers[acked]!.pollUnsafe(), Exit.void)
        assert.deepStrictEqual(bodies(), [1, 2, 3, 4, 5].slice(0, Math.min(5, acked + 3)).map((i) => envelope(i).body))
      }
      for (const fiber of fibers) yield* Fiber.join(fiber)
      assert.strictEqual(yield* stateTag(sink), "Connected")
    })))
})

describe("a refusal in a PUBACK", () => {
  for (
    const [code, bytes] of [[0x87, undefined], [0x95, (id: number) => [0x40, 0x03, id >> 8, id & 0xff, 0x95]]] as const
  ) {
    it.effect(`PUBACK 0x${code.toString(16)} fails that publish as Rejected; the connection stays`, () =>
      scoped(Effect.gen(function*() {
        const { sink, ws } = yield* connected()
        const refused = yield* publish(sink, 1)
        const id = ws.sentOf("publish")[0]!.messageId!
        if (bytes === undefined) ws.reply(puback(id, code))
        else ws.deliver(bytes(id))
        yield* settle
        const error = yield* publishError(refused)
        assert.strictEqual(error.reason, "Rejected")
        assert.strictEqual(error.reasonCode, code)
        assert.strictEqual(error.messageId, "m1")
        assert.strictEqual(yield* stateTag(sink), "Connected")
        assert.isUndefined(ws.closedWith)
        const later = yield* publish(sink, 2)
        ws.reply(puback(ws.sentOf("publish")[1]!.messageId!))
        yield* settle
        yield* Fiber.join(later)
        assert.strictEqual(FakeWebSocket.instances.length, 1)
      })))
  }

  it.effect("PUBACK 0x10 (no matching subscribers) is a success", () =>
    scoped(Effect.gen(function*() {
      const { sink, ws } = yield* connected()
      const fiber = yield* publish(sink, 1)
      ws.reply(puback(ws.sentOf("publish")[0]!.messageId!, 0x10))
      yield* settle
      assert.deepStrictEqual(fiber.pollUnsafe(), Exit.void)
    })))
})

describe("a broken broker", () => {
  const cases: ReadonlyArray<readonly [string, (ws: FakeWebSocket) => void]> = [
    ["a remaining length of 5 bytes", (ws) => ws.deliver([0x20, 0xff, 0xff, 0xff, 0xff, 0x01])],
    // Packet id 1, reason 0, 2 bytes of properties: an identifier 0x7f no property has, and a byte.
    ["a PUBACK with an unknown property", (ws) => ws.deliver([0x40, 0x06, 0x00, 0x01, 0x00, 0x02, 0x7f, 0x00])],
    ["a text frame", (ws) => ws.onmessage?.({ data: "not MQTT" })]
  ]
  for (const [what, send] of cases) {
    it.effect(`${what} ends the connection; the publishes in flight are lost, not refused`, () =>
      scoped(Effect.gen(function*() {
        const { sink, ws } = yield* connected()
        const first = yield* publish(sink, 1)
        const second = yield* publish(sink, 2)
        assert.strictEqual(ws.sentOf("publish").length, 2)
        send(ws)
        yield* settle
        assert.strictEqual(ws.closedWith, 1000)
        for (const fiber of [first, second]) {
          const error = yield* publishError(fiber)
          assert.strictEqual(error.reason, "ConnectionLost")
          assert.isUndefined(error.reasonCode)
        }
        assert.strictEqual(yield* stateTag(sink), "Disconnected")
      })))
  }
})

describe("a refused CONNECT", () => {
  it.effect("CONNACK 0x86 fails the attempt as Refused, and run gives up after maxAuthFailures", () =>
    scoped(Effect.gen(function*() {
      const { run, sink } = yield* start({ maxAuthFailures: 1 })
      const ws = socket()
      ws.open()
      ws.reply(connack({}, 0x86))
      yield* settle
      assert.strictEqual(ws.closedWith, 1000)
      const exit = yield* Fiber.await(run)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Fiber.join(run))
      assert.instanceOf(error, StellaNowError.ConnectionError)
      assert.strictEqual(error.reason, "Refused")
      assert.include(error.message, "reason code 0x86 (Bad User Name or Password)")
      const cause = (error as StellaNowError.ConnectionError).cause as Error & { code: number }
      assert.strictEqual(cause.code, 0x86)
      assert.include(cause.message, "Bad User Name or Password")
      const state = yield* SubscriptionRef.get(sink.state)
      assert.strictEqual(state._tag, "Failed")
      if (state._tag === "Failed") assert.strictEqual(state.error, error)
    })))

  it.effect("with refusals left, the state is Disconnected with the refusal, and the sink tries again", () =>
    scoped(Effect.gen(function*() {
      const { sink } = yield* start({ maxAuthFailures: 3 })
      socket().open()
      socket().reply(connack({}, 0x86))
      yield* settle
      const state = yield* SubscriptionRef.get(sink.state)
      assert.strictEqual(state._tag, "Disconnected")
      if (state._tag === "Disconnected") assert.strictEqual(state.error.reason, "Refused")
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.strictEqual(FakeWebSocket.instances.length, 2)
    })))
})

describe("packets split across frames", () => {
  it.effect("a CONNACK and a PUBACK delivered a byte at a time", () =>
    scoped(Effect.gen(function*() {
      const { sink } = yield* start()
      const ws = socket()
      ws.open()
      const bytesOf = (packet: mqttPacket.Packet) => mqttPacket.generate(packet, { protocolVersion: 5 })
      const connackBytes = bytesOf(connack({ receiveMaximum: 10, maximumPacketSize: 1000 }))
      for (const byte of connackBytes.subarray(0, -1)) ws.deliver([byte])
      yield* settle
      assert.strictEqual(yield* stateTag(sink), "Connecting")
      ws.deliver([connackBytes[connackBytes.length - 1]!])
      yield* settle
      assert.strictEqual(yield* stateTag(sink), "Connected")
      assert.deepStrictEqual(yield* SubscriptionRef.get(sink.maxPacketSize!), Option.some(1000))

      const fiber = yield* publish(sink, 1)
      const pubackBytes = bytesOf(puback(ws.sentOf("publish")[0]!.messageId!))
      for (const byte of pubackBytes.subarray(0, -1)) ws.deliver([byte])
      yield* settle
      assert.isUndefined(fiber.pollUnsafe())
      ws.deliver([pubackBytes[pubackBytes.length - 1]!])
      yield* settle
      assert.deepStrictEqual(fiber.pollUnsafe(), Exit.void)
      assert.isUndefined(ws.closedWith)
    })))
})

describe("the end of a connection", () => {
  it.effect("interrupting run ends the connection at once: the socket closed with 1000, no DISCONNECT", () =>
    scoped(Effect.gen(function*() {
      const { run, sink, ws } = yield* connected()
      yield* Fiber.interrupt(run)
      assert.strictEqual(ws.closedWith, 1000)
      assert.strictEqual(ws.readyState, FakeWebSocket.CLOSED)
      // The sink's release ends the client forced (`end(true)`): no DISCONNECT goes out.
      assert.deepStrictEqual(ws.sent.map((packet) => packet.cmd), ["connect"])
      assert.strictEqual(yield* stateTag(sink), "Idle")
      yield* TestClock.adjust("1 minute")
      yield* settle
      assert.strictEqual(FakeWebSocket.instances.length, 1)
    })))

  it.effect("the client's graceful end sends a DISCONNECT, then closes with 1000", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const client = WsClient.connect(
        {
          connector: WsClient.connect,
          address: {
            url: "ws://broker.test:8080/mqtt",
            host: "broker.test",
            port: 8080,
            tls: false,
            path: "/mqtt",
            transport: "websocket"
          },
          clientId: "c",
          protocolVersion: 5,
          keepAlive: Duration.seconds(10),
          connectTimeout: Duration.seconds(10),
          publishTimeout: Duration.seconds(30)
        },
        {},
        {
          connack: () => events.push("connack"),
          error: (error) => events.push(`error ${String(error)}`),
          disconnect: () => events.push("disconnect"),
          close: () => events.push("close"),
          pingSent: () => events.push("pingSent"),
          pingAnswered: () => events.push("pingAnswered")
        }
      )
      const ws = socket()
      ws.open()
      ws.reply(connack())
      let ended = false
      client.end(false, () => {
        ended = true
      })
      assert.deepStrictEqual(ws.sent.map((packet) => packet.cmd), ["connect", "disconnect"])
      assert.strictEqual(ws.closedWith, 1000)
      yield* settle
      assert.isTrue(ended)
      assert.deepStrictEqual(events, ["connack", "close"])
    }))
})
