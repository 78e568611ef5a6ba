/**
 * The smoke program `runtimes.test.ts` runs under Deno and Bun (and Node, for comparison), in a fresh
 * project where the SDK was installed from its tarball: TypeScript that each runtime runs as it is,
 * importing the packages by name as a user does. `SMOKE_TARGETS` is a JSON array of {@link Target}s;
 * for each, one after the other, it connects with the Promise front door, sends 100
 * `UserDetailsUpdateMessage`s (the seed's event, as the README sends it), stops with a drain and closes.
 * Each target has an organization of its own, so the test's subscriber can tell them apart by topic.
 * It prints one line of JSON and exits by itself: a socket or timer left open would keep it running,
 * and the test would time out.
 */
import { configureSdk, Environment, Field, Message, Model } from "@stellanow/sdk"
import { SqliteQueue } from "@stellanow/sdk-sql"
import { configureBrowserSdk } from "@stellanow/sdk/browser"

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

/** One run of the SDK: where to, how it logs in, and which queue holds the messages. */
interface Target {
  readonly brokerUrl: string
  readonly organizationId: string
  /** Logs in with OIDC at this API (its password grant) instead of connecting anonymously. */
  readonly oidc?: { readonly apiBaseUrl: string; readonly username: string; readonly password: string }
  /** Queues in a SQLite file (`@stellanow/sdk-sql`) instead of in memory. */
  readonly sqliteFile?: string
  /** Through the browser entry (`configureBrowserSdk`): its MQTT client over the runtime's own `WebSocket`. */
  readonly browserEntry?: boolean
}

const messagesPerTarget = 100

const projectId = "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"

const sdkFor = (target: Target) =>
  target.browserEntry === true
    ? configureBrowserSdk({
      environment: Environment.custom({ brokerUrl: target.brokerUrl }),
      organizationId: target.organizationId,
      projectId,
      logLevel: "warn"
    })
    : configureSdk({
      ...(target.oidc === undefined
        ? { auth: "none" as const }
        : { auth: "oidc" as const, oidcUsername: target.oidc.username, oidcPassword: target.oidc.password }),
      environment: Environment.custom({ brokerUrl: target.brokerUrl, apiBaseUrl: target.oidc?.apiBaseUrl }),
      ...(target.sqliteFile === undefined ? {} : { queue: SqliteQueue.layer({ filename: target.sqliteFile }) }),
      organizationId: target.organizationId,
      projectId,
      logLevel: "warn"
    })

/** Sends the messages of one target; the ids queued and what the drain left unsent. */
const send = async (target: Target) => {
  const sdk = sdkFor(target)
  try {
    await sdk.start()
    const ids: Array<string> = []
    for (let i = 0; i < messagesPerTarget; i++) {
      const message = new UserDetailsUpdateMessage({
        patron: "12345",
        user_id: `user_${i}`,
        phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
      })
      ids.push(await sdk.sendMessage(message))
    }
    // Generous: the drain ends as soon as the queue is empty; the deadline only bounds a stuck run.
    const { remaining } = await sdk.stop({ drainTimeoutMs: 60_000 })
    return { organizationId: target.organizationId, ids, remaining }
  } finally {
    await sdk.close()
  }
}

const targets = JSON.parse(process.env.SMOKE_TARGETS ?? "[]") as ReadonlyArray<Target>
if (targets.length === 0) throw new Error("SMOKE_TARGETS is not set")
const results = []
for (const target of targets) results.push(await send(target))
console.log(JSON.stringify({ results }))
