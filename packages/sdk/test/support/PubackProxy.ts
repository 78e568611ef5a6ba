/**
 * A loopback TCP proxy that reads the MQTT packets going through it and plays a content-aware broker
 * policy: the PUBACK of every PUBLISH larger than `largerThan` bytes is replaced — by one with reason
 * code `code` (e.g. 0x87, not authorized), or by nothing at all when `code` is `"drop"`. Everything
 * else passes unchanged, packet by packet.
 */
import * as net from "node:net"

export interface PubackProxy {
  readonly port: number
  url(): string
  /** PUBACKs replaced (or dropped) so far. */
  replaced(): number
  close(): Promise<void>
}

export interface PubackPolicy {
  readonly largerThan: number
  readonly code: number | "drop"
}

/** Splits a byte stream into MQTT packets (fixed header, remaining length, body). */
const framer = (onPacket: (packet: Buffer) => void) => {
  let buffered = Buffer.alloc(0)
  return (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    while (buffered.length >= 2) {
      let length = 0
      let multiplier = 1
      let offset = 1
      let complete = false
      while (offset < buffered.length && offset <= 4) {
        const byte = buffered[offset++]!
        length += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0) {
          complete = true
          break
        }
      }
      if (!complete || buffered.length < offset + length) return
      onPacket(buffered.subarray(0, offset + length))
      buffered = buffered.subarray(offset + length)
    }
  }
}

/** Where a packet's variable header starts: after the fixed header byte and the remaining length. */
const bodyStart = (packet: Buffer): number => {
  let offset = 1
  while ((packet[offset++]! & 0x80) !== 0);
  return offset
}

/** A QoS 1 or 2 PUBLISH's packet id. */
const publishId = (packet: Buffer): number => {
  const start = bodyStart(packet)
  const topicLength = packet.readUInt16BE(start)
  return packet.readUInt16BE(start + 2 + topicLength)
}

export const startPubackProxy = async (
  target: { readonly host: string; readonly port: number },
  policy: PubackPolicy
): Promise<PubackProxy> => {
  const sockets = new Set<net.Socket>()
  let replaced = 0
  const server = net.createServer((client) => {
    const upstream = net.connect(target)
    sockets.add(client).add(upstream)
    const refused = new Set<number>()
    client.on(
      "data",
      framer((packet) => {
        const type = packet[0]! >> 4
        const qos = (packet[0]! >> 1) & 3
        if (type === 3 && qos > 0 && packet.length > policy.largerThan) refused.add(publishId(packet))
        upstream.write(packet)
      })
    )
    upstream.on(
      "data",
      framer((packet) => {
        const id = packet[0]! >> 4 === 4 ? packet.readUInt16BE(bodyStart(packet)) : undefined
        if (id === undefined || !refused.has(id)) return void client.write(packet)
        refused.delete(id)
        replaced++
        if (policy.code !== "drop") client.write(Buffer.from([0x40, 3, id >> 8, id & 0xff, policy.code]))
      })
    )
    const closeBoth = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const socket of [client, upstream]) {
      socket.on("error", closeBoth)
      socket.on("close", closeBoth)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    url: () => `mqtt://127.0.0.1:${port}`,
    replaced: () => replaced,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
