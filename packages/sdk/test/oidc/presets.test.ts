/**
 * The OIDC presets and configuration, end to end against the local token server and broker: the
 * `configureDevOidcMqttFifoSdk` / `configureProdOidcMqttFifoSdk` facades with a custom token endpoint,
 * everything read from the environment (`OIDC_CLIENT_ID` included), and the Keycloak paths.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  AuthOidc,
  configureDevOidcMqttFifoSdk,
  configureProdOidcMqttFifoSdk,
  Environment,
  StellaNow,
  StellaNowLive
} from "@stellanow/sdk"
import { ConfigProvider, Effect, References, Result } from "effect"
import { message, password, projectId, realm, servers, until, username } from "./support/Fixture.js"

describe("OIDC presets and configuration", () => {
  for (
    const [name, preset] of [
      ["configureDevOidcMqttFifoSdk", configureDevOidcMqttFifoSdk],
      ["configureProdOidcMqttFifoSdk", configureProdOidcMqttFifoSdk]
    ] as const
  ) {
    it.live(`${name} logs in and delivers, with a custom token endpoint`, () =>
      Effect.gen(function*() {
        const { broker, idp } = yield* servers()
        const id = yield* Effect.promise(async () => {
          const sdk = preset({
            brokerUrl: broker.url,
            oidc: { tokenUrl: idp.tokenUrl },
            organizationId: realm,
            projectId,
            oidcUsername: username,
            oidcPassword: password,
            logLevel: "none"
          })
          try {
            await sdk.start()
            return await sdk.sendMessageAndWait(message(1))
          } finally {
            await sdk.close()
          }
        })
        yield* until(() => broker.until((b) => b.recorded.counts.has(id), 5_000, "the message arrived"))
        assert.strictEqual(idp.stats.logins, 1)
        assert.strictEqual(broker.connections.length, 1)
      }))
  }

  it.live("credentials and client id from the environment (OIDC_CLIENT_ID)", () =>
    Effect.gen(function*() {
      const env = yield* servers({ clientId: "acme-ingestor" })
      const { broker, idp } = env
      const fromEnv = (vars: Record<string, string>) =>
        ConfigProvider.fromEnvRecord({
          ORGANIZATION_ID: realm,
          PROJECT_ID: projectId,
          OIDC_USERNAME: username,
          OIDC_PASSWORD: password,
          ...vars
        })
      const layer = StellaNowLive.layer({
        auth: "oidc",
        environment: Environment.custom({ brokerUrl: broker.url, apiBaseUrl: idp.baseUrl })
      })
      const run = Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        const started = yield* Effect.result(sdk.start)
        if (Result.isSuccess(started)) yield* sdk.stop()
        return started
      }).pipe(Effect.provide(layer), Effect.provideService(References.MinimumLogLevel, "Warn"))

      const ok = yield* Effect.provideService(
        run,
        ConfigProvider.ConfigProvider,
        fromEnv({ OIDC_CLIENT_ID: "acme-ingestor" })
      )
      assert.isTrue(Result.isSuccess(ok))
      assert.strictEqual(idp.stats.logins, 1)

      // Without it, the default client (event-ingestor) is not this provider's: a fatal error.
      const refused = yield* Effect.provideService(run, ConfigProvider.ConfigProvider, fromEnv({}))
      assert.isTrue(Result.isFailure(refused))
      const error = (refused as Result.Failure<void, StellaNow.StartError>).failure
      assert.strictEqual(error._tag, "AuthError")
      assert.include(error.message, "invalid_client")
      assert.include(error.message, `realm "${realm}"`)
    }))

  it.live("STELLANOW_BROKER_URL and STELLANOW_API_URL point a preset elsewhere; code wins over them", () =>
    Effect.gen(function*() {
      const { broker, idp } = yield* servers()
      const environment = (vars: Record<string, string>) =>
        ConfigProvider.fromEnvRecord({
          ORGANIZATION_ID: realm,
          PROJECT_ID: projectId,
          OIDC_USERNAME: username,
          OIDC_PASSWORD: password,
          ...vars
        })
      const sendOne = (layer: ReturnType<typeof StellaNowLive.layer>) =>
        Effect.gen(function*() {
          const sdk = yield* StellaNow.StellaNow
          yield* sdk.start
          return yield* sdk.sendMessageAndWait(message(1))
        }).pipe(Effect.provide(layer), Effect.provideService(References.MinimumLogLevel, "Warn"))
      const unreachable = "mqtt://127.0.0.1:1"

      // The dev preset, whose own endpoints are the platform's, reaches the local servers.
      const viaVariables = yield* Effect.provideService(
        sendOne(StellaNowLive.devOidcMqttFifo()),
        ConfigProvider.ConfigProvider,
        environment({ STELLANOW_BROKER_URL: broker.url, STELLANOW_API_URL: idp.baseUrl })
      )
      yield* until(() => broker.until((b) => b.recorded.counts.has(viaVariables), 5_000, "the message arrived"))
      assert.strictEqual(idp.stats.logins, 1)

      // The `brokerUrl` option and a custom environment are code: the variable does not move them.
      for (
        const layer of [
          StellaNowLive.devOidcMqttFifo({ brokerUrl: broker.url }),
          StellaNowLive.layer({
            auth: "oidc",
            environment: Environment.custom({ brokerUrl: broker.url, apiBaseUrl: idp.baseUrl })
          })
        ]
      ) {
        const id = yield* Effect.provideService(
          sendOne(layer),
          ConfigProvider.ConfigProvider,
          environment({ STELLANOW_BROKER_URL: unreachable, STELLANOW_API_URL: idp.baseUrl })
        )
        yield* until(() => broker.until((b) => b.recorded.counts.has(id), 5_000, "the message arrived"))
      }
      assert.strictEqual(idp.stats.logins, 3)
    }))

  it.live("the token endpoint is Keycloak's, as its discovery document names it", () =>
    Effect.gen(function*() {
      const { idp } = yield* servers()
      const discovery = yield* Effect.promise(() =>
        fetch(idp.discoveryUrl).then((r) => r.json() as Promise<Record<string, unknown>>)
      )
      assert.strictEqual(discovery.token_endpoint, AuthOidc.keycloakTokenUrl(idp.baseUrl, realm))
      const jwks = yield* Effect.promise(() =>
        fetch(String(discovery.jwks_uri)).then((r) => r.json() as Promise<{ keys: Array<{ kid: string }> }>)
      )
      assert.deepStrictEqual(jwks.keys.map((k) => k.kid), idp.jwks.keys.map((k) => k.kid))
    }))

  it.effect("OIDC without an API base URL or token endpoint is a configuration error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(
          StellaNow.StellaNow,
          StellaNowLive.layer({
            auth: "oidc",
            environment: "local",
            organizationId: realm,
            projectId,
            oidcUsername: username,
            oidcPassword: password
          })
        )
      )
      assert.strictEqual(error._tag, "ConfigurationError")
      assert.include(error.message, "token endpoint")
    }))
})
