/** Counts StellaNow message ids arriving at a subscriber: losses against what was queued, and duplicates. */
import type { Subscriber } from "../../../sdk/test/support/Mosquitto.js"

export interface Tally {
  readonly expected: number
  readonly received: number
  readonly unique: number
  readonly lost: number
  readonly duplicates: number
}

const idOf = (payload: Buffer): string => JSON.parse(payload.toString("utf8")).value.metadata.messageId as string

export const tally = (subscriber: Subscriber, expected: Iterable<string>): Tally => {
  const counts = new Map<string, number>()
  for (const message of subscriber.messages) {
    const id = idOf(message.payload)
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  const wanted = [...expected]
  const lost = wanted.filter((id) => !counts.has(id)).length
  return {
    expected: wanted.length,
    received: subscriber.messages.length,
    unique: counts.size,
    lost,
    duplicates: subscriber.messages.length - counts.size
  }
}

/** Resolves once every id arrived; rejects after `timeoutMs` saying how many are missing. */
export const waitForAll = (subscriber: Subscriber, ids: ReadonlyArray<string>, timeoutMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const missing = new Set(ids)
    let seen = 0
    const started = Date.now()
    const poll = () => {
      for (; seen < subscriber.messages.length; seen++) missing.delete(idOf(subscriber.messages[seen]!.payload))
      if (missing.size === 0) return resolve()
      if (Date.now() - started > timeoutMs) {
        return reject(new Error(`${missing.size} of ${ids.length} message ids never arrived within ${timeoutMs} ms`))
      }
      setTimeout(poll, 20)
    }
    poll()
  })

/** Resolves once at least `count` messages arrived. */
export const waitForCount = (subscriber: Subscriber, count: number, timeoutMs: number): Promise<void> =>
  subscriber.waitFor(count, timeoutMs)
