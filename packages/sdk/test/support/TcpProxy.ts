/**
 * A loopback TCP proxy for fault injection between an MQTT client and a broker.
 *
 * Each direction of each connection is an ordered queue of events (data chunks, FIN, hard close), so delays and
 * stalls keep the byte order and also hold back closes: while stalled, a side closing is not seen by the other side
 * either (like a network partition) until the stall is lifted. `cutAll` and `close` bypass the queues.
 */
import * as net from "node:net"

export interface TcpProxy {
  /** The loopback port clients connect to. */
  readonly port: number
  /** e.g. `mqtt://127.0.0.1:PORT` */
  url(scheme?: string): string
  /** Hard cut: destroy every current client and upstream socket now. */
  cutAll(): void
  /** Stop (on) or resume (off) forwarding in both directions, for current and new connections. Nothing is closed. */
  stall(on: boolean): void
  /** Deliver every chunk `ms` after it arrived (order kept). Applies to chunks arriving from now on. */
  setDelay(ms: number): void
  /** Accept and immediately destroy new connections. */
  refuseNew(on: boolean): void
  /** Swallow the first chunk the upstream sends on each new connection (for MQTT: the CONNACK). */
  dropFirstServerPacket(on: boolean): void
  /** Number of proxied connections whose client socket is still open. */
  connections(): number
  /** Total connections accepted so far (refused ones included). */
  accepted(): number
  /** Destroy all connections and stop listening. */
  close(): Promise<void>
}

type Event =
  | { readonly _tag: "data"; readonly chunk: Buffer; readonly due: number }
  | { readonly _tag: "end"; readonly due: number }
  | { readonly _tag: "destroy"; readonly due: number }

interface Pipe {
  readonly to: net.Socket
  readonly queue: Array<Event>
  timer: NodeJS.Timeout | undefined
  dead: boolean
}

interface Connection {
  readonly client: net.Socket
  readonly upstream: net.Socket
  readonly up: Pipe
  readonly down: Pipe
}

export const startTcpProxy = async (target: { host: string; port: number }): Promise<TcpProxy> => {
  const live = new Set<Connection>()
  let stalled = false
  let delayMs = 0
  let refusing = false
  let dropFirst = false
  let acceptedCount = 0

  const pump = (pipe: Pipe) => {
    if (pipe.timer !== undefined) return
    while (!stalled && pipe.queue.length > 0) {
      const event = pipe.queue[0]!
      const wait = event.due - Date.now()
      if (wait > 0) {
        pipe.timer = setTimeout(() => {
          pipe.timer = undefined
          pump(pipe)
        }, wait)
        return
      }
      pipe.queue.shift()
      if (pipe.to.destroyed) continue
      switch (event._tag) {
        case "data":
          pipe.to.write(event.chunk)
          break
        case "end":
          pipe.to.end()
          break
        case "destroy":
          pipe.to.destroy()
          break
      }
    }
  }

  const enqueue = (pipe: Pipe, event: Event) => {
    if (pipe.dead) return
    pipe.queue.push(event)
    pump(pipe)
  }

  const teardown = (connection: Connection) => {
    for (const pipe of [connection.up, connection.down]) {
      clearTimeout(pipe.timer)
      pipe.timer = undefined
      pipe.dead = true
      pipe.queue.length = 0
    }
    connection.client.destroy()
    connection.upstream.destroy()
    live.delete(connection)
  }

  /** Wire `from` into `pipe`: its data, FIN and abrupt close become queued events for the other side. */
  const forward = (from: net.Socket, pipe: Pipe, dropFirstChunk: boolean) => {
    let drop = dropFirstChunk
    let ended = false
    from.on("data", (chunk: Buffer) => {
      if (drop) {
        drop = false
        return
      }
      enqueue(pipe, { _tag: "data", chunk, due: Date.now() + delayMs })
    })
    from.on("end", () => {
      ended = true
      enqueue(pipe, { _tag: "end", due: Date.now() + delayMs })
    })
    from.on("error", () => {})
    from.on("close", () => {
      if (!ended) enqueue(pipe, { _tag: "destroy", due: Date.now() + delayMs })
    })
  }

  const server = net.createServer((client) => {
    acceptedCount++
    client.on("error", () => {})
    if (refusing) {
      client.destroy()
      return
    }
    client.setNoDelay(true)
    const upstream = net.connect({ host: target.host, port: target.port })
    upstream.setNoDelay(true)
    const connection: Connection = {
      client,
      upstream,
      up: { to: upstream, queue: [], timer: undefined, dead: false },
      down: { to: client, queue: [], timer: undefined, dead: false }
    }
    live.add(connection)
    forward(client, connection.up, false)
    forward(upstream, connection.down, dropFirst)
    let closed = 0
    const onClose = () => {
      if (++closed === 2) teardown(connection)
    }
    client.on("close", onClose)
    upstream.on("close", onClose)
  })

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const port = (server.address() as net.AddressInfo).port

  const cutAll = () => {
    for (const connection of [...live]) teardown(connection)
  }

  return {
    port,
    url: (scheme = "mqtt") => `${scheme}://127.0.0.1:${port}`,
    cutAll,
    stall: (on) => {
      stalled = on
      if (!on) {
        for (const connection of [...live]) {
          pump(connection.up)
          pump(connection.down)
        }
      }
    },
    setDelay: (ms) => {
      delayMs = Math.max(0, ms)
    },
    refuseNew: (on) => {
      refusing = on
    },
    dropFirstServerPacket: (on) => {
      dropFirst = on
    },
    connections: () => [...live].filter((connection) => !connection.client.destroyed).length,
    accepted: () => acceptedCount,
    close: () =>
      new Promise<void>((resolve) => {
        refusing = true
        cutAll()
        server.close(() => resolve())
      })
  }
}
