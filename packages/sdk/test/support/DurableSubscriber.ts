/**
 * A subscriber that survives broker restarts without missing a message: a persistent MQTT 5 session
 * (clean start off, long session expiry, QoS 1) on a broker with persistence on, reconnecting by
 * itself. It counts StellaNow message ids: what arrived, and what arrived more than once.
 */
import { connectAsync, type MqttClient } from "mqtt"

export interface DurableSubscriber {
  /** Every message id received, with how many times. */
  readonly counts: ReadonlyMap<string, number>
  /** Deliveries of an id seen before. */
  duplicates(): number
  /** Resolves once every id in `ids` arrived; rejects after `timeoutMs` naming how many are missing. */
  waitForAll(ids: Iterable<string>, timeoutMs: number): Promise<void>
  close(): Promise<void>
}

/** Mosquitto settings a durable subscriber needs: sessions and queued messages survive a restart. */
export const persistenceConfig = (dir: string) =>
  ["persistence true", `persistence_location ${dir}/`, "autosave_interval 0"].join("\n")

export const durableSubscriber = async (url: string, topic = "in/#"): Promise<DurableSubscriber> => {
  const counts = new Map<string, number>()
  let duplicates = 0
  const waiters = new Set<(id: string) => void>()
  const client: MqttClient = await connectAsync(url, {
    protocolVersion: 5,
    clientId: `durable-subscriber-${process.pid}-${Math.random().toString(36).slice(2)}`,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 100,
    connectTimeout: 5_000
  })
  client.on("error", () => {}) // reconnects by itself; errors while the broker is down are expected
  client.on("message", (_topic, payload) => {
    const id = JSON.parse(payload.toString("utf8")).value.metadata.messageId as string
    const seen = counts.get(id) ?? 0
    if (seen > 0) duplicates++
    counts.set(id, seen + 1)
    for (const waiter of [...waiters]) waiter(id)
  })
  await client.subscribeAsync(topic, { qos: 1 })

  const waitForAll = (ids: Iterable<string>, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const remaining = new Set([...ids].filter((id) => !counts.has(id)))
      const total = remaining.size
      if (remaining.size === 0) return resolve()
      const check = (id: string) => {
        if (remaining.delete(id) && remaining.size === 0) {
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`${remaining.size} of ${total} awaited message ids never arrived within ${timeoutMs} ms`))
      }, timeoutMs)
      waiters.add(check)
    })

  return {
    counts,
    duplicates: () => duplicates,
    waitForAll,
    close: () => client.endAsync(true)
  }
}
