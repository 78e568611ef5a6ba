/**
 * Proves the integration-test harness works: a real mosquitto over mqtt/mqtts/ws/wss with auth, restarts on the
 * same ports, the Effect resource, and the fault-injecting TCP proxy.
 */
import { Effect } from "effect"
import { connectAsync, type MqttClient } from "mqtt"
import * as fs from "node:fs"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { clientOptions, type Mosquitto, mosquittoResource, startMosquitto, subscribe } from "./support/Mosquitto.js"
import { startTcpProxy } from "./support/TcpProxy.js"

const USER = "sdk-test"
const PASSWORD = "s3cret:with spaces"

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

const closed = (client: MqttClient, timeoutMs = 3_000): Promise<void> =>
  new Promise((resolve, reject) => {
    if (!client.connected) return resolve()
    const timer = setTimeout(() => reject(new Error(`client not closed after ${timeoutMs} ms`)), timeoutMs)
    client.once("close", () => {
      clearTimeout(timer)
      resolve()
    })
  })

describe("mosquitto harness", () => {
  let broker: Mosquitto
  const auth = () => ({ ca: broker.ca!, username: USER, password: PASSWORD })

  beforeAll(async () => {
    broker = await startMosquitto({ tls: true, websockets: true, users: { [USER]: PASSWORD } })
  })
  afterAll(async () => {
    const dir = broker?.dir
    await broker?.dispose()
    if (dir !== undefined) expect(fs.existsSync(dir)).toBe(false)
  })

  it("exposes every listener and the CA", () => {
    expect(new Set([broker.tcpPort, broker.tlsPort, broker.wsPort, broker.wssPort]).size).toBe(4)
    expect(broker.url("mqtt")).toBe(`mqtt://127.0.0.1:${broker.tcpPort}`)
    expect(broker.url("wss")).toBe(`wss://127.0.0.1:${broker.wssPort}/mqtt`)
    expect(broker.ca).toContain("BEGIN CERTIFICATE")
    expect(fs.readFileSync(broker.caPath!, "utf8")).toBe(broker.ca)
  })

  it.each(["mqtt", "mqtts", "ws", "wss"] as const)("publishes and receives over %s", async (kind) => {
    const sub = await subscribe(broker.url(kind), `harness/${kind}/#`, auth())
    // For mqtts, also check the DNS SAN: connect to 127.0.0.1 but verify the certificate as "localhost".
    const extra = kind === "mqtts" ? { servername: "localhost" } : {}
    const pub = await connectAsync(broker.url(kind), clientOptions(auth(), extra))
    try {
      await pub.publishAsync(`harness/${kind}/a`, "hello", { qos: 1 })
      await pub.publishAsync(`harness/${kind}/b`, Buffer.from([1, 2, 3]), { qos: 1, retain: true })
      await sub.waitFor(2)
      expect(sub.messages.map((m) => ({ ...m, payload: m.payload.toString("hex") }))).toEqual([
        { topic: `harness/${kind}/a`, payload: Buffer.from("hello").toString("hex"), qos: 1, retain: false },
        // retain is only set on messages delivered from the retained store, not on live forwards
        { topic: `harness/${kind}/b`, payload: "010203", qos: 1, retain: false }
      ])
    } finally {
      await pub.endAsync()
      await sub.close()
    }
  })

  it("verifies the server certificate", async () => {
    const error = await connectAsync(broker.url("mqtts"), clientOptions({ username: USER, password: PASSWORD }))
      .then(() => undefined, (e: unknown) => e as Error & { code?: string })
    expect(error?.code).toMatch(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/)
  })

  it("refuses a wrong password with CONNACK 135 (mosquitto 2.0.11 does not use 134)", async () => {
    const error = await connectAsync(broker.url("mqtt"), clientOptions({ username: USER, password: "wrong" }))
      .then(() => undefined, (e: unknown) => e as Error & { code?: number })
    expect(error?.code).toBe(135)
    expect(error?.message).toMatch(/Not authorized/)
    const anonymous = await connectAsync(broker.url("mqtt"), clientOptions())
      .then(() => undefined, (e: unknown) => e as Error & { code?: number })
    expect(anonymous?.code).toBe(135)
  })

  it("closes a taken-over v5 session (mosquitto 2.0.11: no DISCONNECT 142, just a close)", async () => {
    const options = clientOptions(auth(), { clientId: "harness-takeover" })
    const first = await connectAsync(broker.url("mqtt"), options)
    const disconnects: Array<number | undefined> = []
    first.on("disconnect", (packet) => disconnects.push(packet.reasonCode))
    const firstClosed = closed(first)
    const second = await connectAsync(broker.url("mqtt"), options)
    try {
      await firstClosed
      expect(disconnects.every((code) => code === 142)).toBe(true)
      expect(second.connected).toBe(true)
    } finally {
      await first.endAsync(true)
      await second.endAsync()
    }
  })

  it("cutAll through the TCP proxy closes the client connection", async () => {
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: broker.tcpPort })
    const client = await connectAsync(proxy.url(), clientOptions(auth()))
    try {
      expect(client.connected).toBe(true)
      expect(proxy.connections()).toBe(1)
      const wasClosed = closed(client)
      proxy.cutAll()
      await wasClosed
      expect(client.connected).toBe(false)
      expect(proxy.connections()).toBe(0)
    } finally {
      await client.endAsync(true)
      await proxy.close()
    }
  })

  it("restarts on the same ports after stop()", async () => {
    const before = [broker.tcpPort, broker.tlsPort, broker.wsPort, broker.wssPort]
    const sub = await subscribe(broker.url("mqtt"), "harness/restart", auth())
    const subClosed = closed(sub.client)
    await broker.stop()
    expect(broker.running()).toBe(false)
    await subClosed
    await sub.close()
    expect(await refused(broker.tcpPort)).toBe(true)

    await broker.start()
    expect(broker.running()).toBe(true)
    expect([broker.tcpPort, broker.tlsPort, broker.wsPort, broker.wssPort]).toEqual(before)
    for (const kind of ["mqtt", "wss"] as const) {
      const again = await subscribe(broker.url(kind), "harness/restart", auth())
      const pub = await connectAsync(broker.url("mqtt"), clientOptions(auth()))
      await pub.publishAsync("harness/restart", "back", { qos: 1 })
      await again.waitFor(1)
      expect(again.messages[0]!.payload.toString()).toBe("back")
      await pub.endAsync()
      await again.close()
    }
  })
})

describe("mosquittoResource", () => {
  it("stops the broker and removes its dir when the scope closes", async () => {
    const broker = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const broker = yield* mosquittoResource()
      expect(broker.running()).toBe(true)
      expect(fs.existsSync(broker.dir)).toBe(true)
      const sub = yield* Effect.promise(() => subscribe(broker.url("mqtt"), "scoped/#"))
      yield* Effect.promise(() => sub.close())
      return broker
    })))
    expect(broker.running()).toBe(false)
    expect(fs.existsSync(broker.dir)).toBe(false)
  })
})
