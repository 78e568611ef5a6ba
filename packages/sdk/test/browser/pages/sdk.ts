/**
 * A page that uses the SDK as an app would: the browser entry's Promise front door over ws://, with a
 * token provider that fetches tokens from the app's backend (the page's own server, `POST /token`) or
 * no auth, and the in-memory or IndexedDB queue. Node drives it through `globalThis.__page`.
 */
import {
  type Auth,
  configureBrowserSdk,
  Environment,
  Field,
  IndexedDbQueue,
  Message,
  type StellaNowSDK
} from "@stellanow/sdk/browser"
import { Schedule } from "effect"

class PageEvent extends Message.Class<PageEvent>("PageEvent")({
  event: "page_event",
  entities: ["patron"],
  fields: { n: Field.Integer }
}) {}

export interface StartOptions {
  readonly brokerUrl: string
  readonly organizationId: string
  readonly projectId: string
  /** `"indexeddb"`: the IndexedDB queue in this database; otherwise the in-memory one. */
  readonly database?: string | undefined
  /** Tokens from the app's backend (`POST /token`), else no auth. */
  readonly tokenProvider?: boolean | undefined
}

/** Why the SDK asked for each token, in order. */
const tokenRequests: Array<Auth.TokenRequest["reason"]> = []

/** The app's token provider: its own backend logs in and hands out the access token and its expiry. */
const tokenProvider: Auth.TokenProvider = async ({ reason, signal }) => {
  tokenRequests.push(reason)
  const response = await fetch("/token", { method: "POST", signal })
  if (!response.ok) throw new Error(`the app's token endpoint answered ${response.status}`)
  return (await response.json()) as Auth.AccessToken
}

let sdk: StellaNowSDK | undefined

const started = (): StellaNowSDK => {
  if (sdk === undefined) throw new Error("call __page.start first")
  return sdk
}

const page = {
  /** Configures the SDK (its queue opens with the first call that needs it). */
  configure: (options: StartOptions): void => {
    sdk = configureBrowserSdk({
      ...(options.tokenProvider === true ? { tokenProvider } : {}),
      environment: Environment.custom({ brokerUrl: options.brokerUrl }),
      organizationId: options.organizationId,
      projectId: options.projectId,
      reconnectSchedule: Schedule.spaced("100 millis"),
      ...(options.database === undefined ? {} : { queue: IndexedDbQueue.layer({ database: options.database }) })
    })
  },
  /** Connects and starts sending. */
  start: () => started().start(),
  /** Sends events `from` to `from + count - 1`, one after the other; their message ids. */
  send: async (from: number, count: number): Promise<Array<string>> => {
    const ids: Array<string> = []
    for (let n = from; n < from + count; n++) {
      ids.push(await started().sendMessage(new PageEvent({ patron: `p${n % 17}`, n })))
    }
    return ids
  },
  queueSize: () => started().queueSize(),
  /** Stops, sending what is queued for up to `drainTimeoutMs`; how many are left. */
  stop: async (drainTimeoutMs: number) => (await started().stop({ drainTimeoutMs })).remaining,
  close: async () => (await started().close()).remaining,
  tokenRequests: () => [...tokenRequests]
}

Object.assign(globalThis, { __page: page })
