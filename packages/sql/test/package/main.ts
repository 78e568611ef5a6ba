/**
 * A user's program, compiled and run by `package.test.ts` in a project where the SDK and this package
 * were installed with the README's install line for one store. It imports both queues (so the
 * declaration files must type-check without PostgreSQL's driver), queues a message in the store named by
 * `STORE` (`sqlite`: the file `QUEUE_FILE`; `pg`: the database `QUEUE_URL`), then, when `MISSING` names
 * a store, opens that store's queue, whose driver is not installed, and prints the outcomes as one line
 * of JSON.
 */
import { type ConfigurationError, configureSdk, Environment, Message, type MessageQueue } from "@stellanow/sdk"
import { PgQueue, SqliteQueue, StoreError } from "@stellanow/sdk-sql"
import type { Layer } from "effect"

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const sqlite = () => SqliteQueue.layer({ filename: env("QUEUE_FILE") })
const pg = () => PgQueue.layer({ url: env("QUEUE_URL") })

/** The SDK on a queue; never started, so nothing is sent: the message waits in the queue. */
const sdkOn = (queue: Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError>) =>
  configureSdk({
    auth: "none",
    environment: Environment.custom({ brokerUrl: "mqtt://127.0.0.1:1" }),
    organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
    projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
    queue,
    logLevel: "none"
  })

const queueOne = async (queue: Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError>) => {
  const sdk = sdkOn(queue)
  try {
    const messageId = await sdk.sendMessage(Message.raw({
      eventName: "order_placed",
      entities: [{ entityTypeDefinitionId: "patron", entityId: "patron-1" }],
      payload: JSON.stringify({ order_id: "order-1" })
    }))
    return { messageId, queueSize: await sdk.queueSize() }
  } finally {
    await sdk.close()
  }
}

/** What opening a queue fails with: a `StoreError`, imported from this package. */
const openFailure = async (queue: Layer.Layer<MessageQueue.MessageQueue, ConfigurationError | StoreError>) => {
  const sdk = sdkOn(queue)
  try {
    await sdk.queueSize()
    return { opened: true }
  } catch (error) {
    return error instanceof StoreError
      ? { tag: error._tag, reason: error.reason, message: error.message }
      : { tag: String(error) }
  } finally {
    await sdk.close()
  }
}

const queueOf = (store: string) => store === "sqlite" ? sqlite() : pg()
const queued = await queueOne(queueOf(env("STORE")))
const missing = process.env.MISSING
const other = missing === undefined ? undefined : await openFailure(queueOf(missing))
console.log(JSON.stringify({ ...queued, other }))
