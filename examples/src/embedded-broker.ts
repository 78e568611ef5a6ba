/**
 * An MQTT broker inside the demo's own process (aedes), for running the examples with no StellaNow
 * account: it listens on a free loopback port and prints every event it receives, decoded.
 */
import { Aedes } from "aedes"
import * as net from "node:net"

export interface EmbeddedBroker {
  readonly url: string
  readonly received: () => number
  readonly close: () => Promise<void>
}

export const startEmbeddedBroker = async (
  options: { readonly print?: boolean } = {}
): Promise<EmbeddedBroker> => {
  const aedes = await Aedes.createBroker()
  const server = net.createServer(aedes.handle)
  let received = 0
  aedes.on("publish", (packet, client) => {
    if (client === null || !packet.topic.startsWith("in/")) return
    received++
    if (options.print === false) return
    const envelope = JSON.parse(packet.payload.toString())
    const { metadata, payload } = envelope.value
    console.log(
      `broker received ${metadata.eventTypeDefinitionId} for ${envelope.key.entityTypeDefinitionId} ` +
        `${envelope.key.entityId} (message ${metadata.messageId}, at ${metadata.messageOriginDateUTC}): ${payload}`
    )
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `mqtt://127.0.0.1:${port}`,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()))
      })
  }
}
