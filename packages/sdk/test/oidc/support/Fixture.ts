/**
 * What the OIDC integration tests share: a token server and a JWT-checking broker, scoped; the SDK's
 * settings pointing at them; and small waits on conditions.
 */
import { type Auth, Environment, type StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Duration, Effect, Redacted, type Scope } from "effect"
import { UserDetailsUpdateMessage } from "../../fixtures/messages.js"
import { type JwtBroker, startJwtBroker } from "./JwtBroker.js"
import { startTokenServer, type TokenServer, type TokenServerOptions } from "./TokenServer.js"

export const realm = "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11"
export const projectId = "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
export const username = "ingestor@acme.test"
export const password = "Tr0ub4dor&3-not-a-real-secret"

/**
 * An app's backend, as a token provider's pages and programs ask it: logs in at the token server with
 * the password grant and hands out the access token and its expiry.
 */
export const backendLogin = async (idp: TokenServer, signal?: AbortSignal): Promise<Auth.AccessToken> => {
  const response = await fetch(idp.tokenUrl, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", client_id: "event-ingestor", username, password }),
    ...(signal === undefined ? {} : { signal })
  })
  if (!response.ok) throw new Error(`backend login failed: HTTP ${response.status}`)
  const body = (await response.json()) as { access_token: string; expires_in: number }
  return { accessToken: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 }
}

export interface Servers {
  readonly idp: TokenServer
  readonly broker: JwtBroker
}

/** A token server with one user, and a broker checking its tokens; both closed with the scope. */
export const servers = (
  options: Partial<TokenServerOptions> = {}
): Effect.Effect<Servers, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const idp = await startTokenServer({ realm, users: { [username]: password }, ...options })
      try {
        const broker = await startJwtBroker({ jwks: idp.jwks, issuer: idp.issuer })
        return { idp, broker }
      } catch (error) {
        await idp.close()
        throw error
      }
    }),
    ({ broker, idp }) => Effect.promise(() => broker.close().finally(() => idp.close()))
  )

/** Settings of the real SDK, over OIDC, against the servers. */
export const settings = (
  { broker, idp }: Servers,
  extra: Partial<StellaNowLive.Settings> = {}
): StellaNowLive.Settings => ({
  auth: "oidc",
  environment: Environment.custom({ brokerUrl: broker.url, apiBaseUrl: idp.baseUrl }),
  organizationId: realm,
  projectId,
  oidcUsername: username,
  oidcPassword: Redacted.make(password),
  ...extra
})

/** The SDK layer over OIDC against the servers. */
export const sdkLayer = (servers: Servers, extra: Partial<StellaNowLive.Settings> = {}) =>
  StellaNowLive.layer(settings(servers, extra))

/** A message that can be told apart by its user id. */
export const message = (i: number) => new UserDetailsUpdateMessage({ patron: `p${i % 17}`, user_id: `u${i}` })

/** Waits for a promise-returning condition wait from the support servers. */
export const until = (wait: () => Promise<void>): Effect.Effect<void> => Effect.promise(wait)

/** Checks `condition` every 20 ms until it holds, or dies after `timeout` naming `what`. */
export const poll = <E, R>(
  condition: Effect.Effect<boolean, E, R>,
  timeout: Duration.Input,
  what: string
): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(Duration.fromInputUnsafe(timeout))
    while (!(yield* condition)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting until ${what}`))
      yield* Effect.sleep("20 millis")
    }
  })

/** Sends `count` messages, returning their ids. */
export const sendAll = (sdk: StellaNow.Service, from: number, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => from + i), (i) => sdk.sendMessage(message(i)))

/** Every id of `ids` arrived at the broker. */
export const allArrived = (broker: JwtBroker, ids: ReadonlyArray<string>) => () =>
  ids.every((id) => broker.recorded.counts.has(id))
