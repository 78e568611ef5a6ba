/**
 * The page: the seed's ten `UserDetailsUpdateMessage` events through the browser entry's Promise front
 * door, over WebSockets, with a token provider that asks the page's own server (`serve.ts`) for access
 * tokens, as a page asks its app's backend.
 */
import { configureBrowserSdk, Environment, type StellaNowSDK } from "@stellanow/sdk/browser"
import { PhoneNumberModel, UserDetailsUpdateMessage } from "../../src/messages/index.js"

/** What the server tells the page: where the broker is, and the project. */
interface PageConfig {
  readonly brokerUrl: string
  readonly organizationId: string
  readonly projectId: string
  readonly protocolVersion: 4 | 5
}

const logLine = (line: string) => {
  document.getElementById("log")!.textContent += `${line}\n`
}

const setStatus = (state: "sending" | "done" | "failed", text: string) => {
  const status = document.getElementById("status")!
  status.dataset["state"] = state
  status.textContent = text
}

const sendTheSeedsEvents = async (sdk: StellaNowSDK) => {
  setStatus("sending", "sending…")
  for (let i = 0; i < 10; i++) {
    const message = new UserDetailsUpdateMessage({
      patron: "12345",
      user_id: `user_${i}`,
      phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
    })
    logLine(`acknowledged ${await sdk.sendMessageAndWait(message)}`)
  }
  setStatus("done", `all 10 acknowledged; ${await sdk.queueSize()} left in the queue`)
}

const main = async () => {
  const config = (await (await fetch("/config")).json()) as PageConfig
  logLine(`broker ${config.brokerUrl}`)
  const sdk = configureBrowserSdk({
    environment: Environment.custom({ brokerUrl: config.brokerUrl }),
    organizationId: config.organizationId,
    projectId: config.projectId,
    protocolVersion: config.protocolVersion,
    // The app's own login: here the page's server hands out the tokens (see serve.ts).
    tokenProvider: async ({ reason, signal }) => {
      const response = await fetch("/token", { signal })
      if (!response.ok) throw new Error(`the token endpoint answered HTTP ${response.status}`)
      logLine(`got an access token (${reason})`)
      return response.json()
    },
    logLevel: "info",
    logger: console
  })
  addEventListener("pagehide", () => void sdk.close())
  const button = document.getElementById("send") as HTMLButtonElement
  button.onclick = () => {
    button.disabled = true
    sendTheSeedsEvents(sdk).catch(fail).finally(() => (button.disabled = false))
  }
  await sdk.start()
  await sendTheSeedsEvents(sdk)
  button.disabled = false
}

const fail = (error: unknown) => {
  setStatus("failed", `failed: ${error instanceof Error ? error.message : String(error)}`)
  console.error(error)
}

main().catch(fail)
