/**
 * The receiving end of the user-path benchmark: a QoS 1 subscriber on the same mosquitto, in a process of
 * its own (so its parsing does not share the measured process's event loop), that counts the distinct
 * message ids it received on each topic. Every user-path run publishes on a topic of its own (a fresh
 * organization id), and is only counted once this subscriber has every one of its messages.
 *
 * The child side is `child.ts subscribe <brokerUrl>`: it prints `ready`, then answers each
 * `wait <topic> <count>` line on its standard input with `has <topic> <count>` once it has that many.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

export interface Subscriber {
  /** Resolves once the subscriber has `count` distinct messages on `topic`; rejects after `timeoutMs`. */
  readonly waitFor: (topic: string, count: number, timeoutMs?: number) => Promise<void>
  readonly close: () => void
}

/** Starts the subscriber's process; resolves once it is subscribed. */
export const startSubscriber = (brokerUrl: string): Promise<Subscriber> =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, path.join(here, "child.ts"), "subscribe", brokerUrl], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, TSX_TSCONFIG_PATH: path.resolve(here, "../tsconfig.json") }
    })
    const waiting = new Map<string, () => void>()
    proc.on("error", reject)
    proc.on("exit", (code) => reject(new Error(`the subscriber exited with ${code}`)))
    readline.createInterface({ input: proc.stdout }).on("line", (line) => {
      if (line === "ready") {
        return resolve({
          waitFor: (topic, count, timeoutMs = 60_000) =>
            new Promise<void>((done, fail) => {
              const timer = setTimeout(
                () => fail(new Error(`the subscriber did not get ${count} messages on ${topic} in ${timeoutMs} ms`)),
                timeoutMs
              )
              waiting.set(`${topic} ${count}`, () => {
                clearTimeout(timer)
                done()
              })
              proc.stdin.write(`wait ${topic} ${count}\n`)
            }),
          close: () => {
            proc.removeAllListeners("exit")
            proc.stdin.end()
          }
        })
      }
      const [word, topic, count] = line.split(" ")
      if (word === "has") waiting.get(`${topic} ${count}`)?.()
    })
  })

/** The child's side: subscribes to every organization's topic at QoS 1 and answers `wait` lines. */
export const serve = async (brokerUrl: string): Promise<void> => {
  const mqtt = await import("mqtt")
  const client = await mqtt.connectAsync(brokerUrl, {
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 0,
    // As many unacknowledged deliveries in flight to us as the broker will keep.
    properties: { receiveMaximum: 65_535 }
  })
  const ids = new Map<string, Set<string>>()
  const wanted = new Map<string, number>()
  const answer = (topic: string) => {
    const count = wanted.get(topic)
    const have = ids.get(topic)?.size ?? 0
    if (count !== undefined && have >= count) {
      wanted.delete(topic)
      ids.delete(topic)
      process.stdout.write(`has ${topic} ${count}\n`)
    }
  }
  const messageId = /"messageId":"([^"]+)"/
  client.on("message", (topic, payload) => {
    const id = messageId.exec(payload.toString("utf8"))?.[1]
    if (id === undefined) return
    let seen = ids.get(topic)
    if (seen === undefined) ids.set(topic, seen = new Set())
    seen.add(id)
    if (wanted.has(topic)) answer(topic)
  })
  await client.subscribeAsync("in/+", { qos: 1 })
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    const [word, topic, count] = line.split(" ")
    if (word !== "wait" || topic === undefined) return
    wanted.set(topic, Number(count))
    answer(topic)
  }).on("close", () => void client.endAsync().then(() => process.exit(0)))
  process.stdout.write("ready\n")
}
