/**
 * The smoke program `runtimes.test.ts` runs under Deno and Bun (and Node, for comparison), in a fresh
 * project where the SDK was installed from its tarball: TypeScript that each runtime runs as it is,
 * importing the package by name as a user does. For each broker URL in `BROKER_URLS` (comma-separated;
 * `mqtt://` and `ws://`) it connects with the Promise front door and the default in-memory queue, queues
 * 100 `UserDetailsUpdateMessage`s (the seed's event, as the README sends it), stops with a drain, and
 * closes. Each URL gets an organization of its own (`ORGANIZATION_IDS`, in the same order), so the
 * test's subscriber can tell the transports apart by topic. It prints one line of JSON and exits by
 * itself: a socket or timer left open would keep it running, and the test would time out.
 */
import { configureSdk, Environment, Field, Message, Model } from "@stellanow/sdk"

class PhoneNumberModel extends Model.Class<PhoneNumberModel>("PhoneNumberModel")({
  country_code: Field.optional(Field.Integer),
  number: Field.optional(Field.Integer)
}) {}

class UserDetailsUpdateMessage extends Message.Class<UserDetailsUpdateMessage>("UserDetailsUpdateMessage")({
  event: "user_details_update",
  entities: ["patron"],
  fields: {
    user_id: Field.String,
    phone_number: Field.optional(PhoneNumberModel)
  }
}) {}

const messagesPerBroker = 100

const list = (name: string): ReadonlyArray<string> => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is not set`)
  return value.split(",")
}

/** Sends the messages to one broker; the ids queued and what the drain left unsent. */
const sendTo = async (brokerUrl: string, organizationId: string) => {
  const sdk = configureSdk({
    auth: "none",
    environment: Environment.custom({ brokerUrl }),
    organizationId,
    projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
    logLevel: "warn"
  })
  try {
    await sdk.start()
    const ids: Array<string> = []
    for (let i = 0; i < messagesPerBroker; i++) {
      const message = new UserDetailsUpdateMessage({
        patron: "12345",
        user_id: `user_${i}`,
        phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
      })
      ids.push(await sdk.sendMessage(message))
    }
    // Generous: the drain ends as soon as the queue is empty; the deadline only bounds a stuck run.
    const { remaining } = await sdk.stop({ drainTimeoutMs: 60_000 })
    return { brokerUrl, organizationId, ids, remaining }
  } finally {
    await sdk.close()
  }
}

const urls = list("BROKER_URLS")
const organizations = list("ORGANIZATION_IDS")
const results = []
for (const [i, url] of urls.entries()) results.push(await sendTo(url, organizations[i]!))
console.log(JSON.stringify({ results }))
