/**
 * MQTT over WebSocket in front of a TCP MQTT endpoint: a loopback WebSocket server (subprotocol
 * `mqtt`) whose every connection is piped, byte for byte, to the TCP port. It puts the JWT-checking
 * gate of the OIDC tests (test/oidc/support/JwtBroker.ts, which reads MQTT over TCP) behind the ws://
 * URL a page connects to; either side closing closes the other.
 */
import * as net from "node:net"
import { WebSocketServer } from "ws"

export interface WsBridge {
  /** `ws://127.0.0.1:PORT/mqtt` */
  readonly url: string
  close(): Promise<void>
}

/** Bridges ws:// to the TCP MQTT endpoint at `target` (`mqtt://host:port`). */
export const start = async (target: string): Promise<WsBridge> => {
  const { hostname, port } = new URL(target)
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false)
  })
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve)
    server.once("error", reject)
  })
  server.on("connection", (socket) => {
    // Writes made before the TCP connection is up are queued by the socket.
    const upstream = net.connect({ host: hostname, port: Number(port) })
    upstream.on("data", (chunk) => socket.send(chunk))
    upstream.on("close", () => socket.close())
    upstream.on("error", () => socket.terminate())
    socket.on("message", (data: Buffer) => upstream.write(data))
    socket.on("close", () => upstream.destroy())
    socket.on("error", () => upstream.destroy())
  })
  const { port: listening } = server.address() as net.AddressInfo
  return {
    url: `ws://127.0.0.1:${listening}/mqtt`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate()
        server.close(() => resolve())
      })
  }
}
