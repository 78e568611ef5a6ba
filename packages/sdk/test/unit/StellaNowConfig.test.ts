/**
 * Reading the SDK's variables: one error names every missing or malformed one, never a value, and
 * values given in code win over the environment.
 */
import { assert, describe, it } from "@effect/vitest"
import { StellaNowConfig } from "@stellanow/sdk"
import { ConfigProvider, Effect, Redacted } from "effect"

const organizationId = "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11"
const projectId = "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"

/** Runs an effect with only these environment variables. */
const withEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

describe("StellaNowConfig", () => {
  it.effect("names every bad variable in one error, the missing and the malformed, with the auth mode needing it", () =>
    Effect.gen(function*() {
      const error = yield* StellaNowConfig.load(StellaNowConfig.all([StellaNowConfig.project, StellaNowConfig.basic]))
        .pipe(
          withEnv({ ORGANIZATION_ID: "s3cr3t-not-a-uuid", PROJECT_ID: projectId }),
          Effect.flip
        )
      assert.strictEqual(error.reason, "MissingVariable")
      assert.strictEqual(
        error.message,
        `StellaNow configuration: missing MQTT_USERNAME (needed for auth mode "basic"), ` +
          `MQTT_PASSWORD (needed for auth mode "basic"); invalid ORGANIZATION_ID: expected a UUID`
      )
    }))

  it.effect("reads the variables, keeps secrets redacted and defaults the OIDC client id", () =>
    Effect.gen(function*() {
      const [project, oidc] = yield* StellaNowConfig.load(
        StellaNowConfig.all([StellaNowConfig.project, StellaNowConfig.oidc])
      )
        .pipe(
          withEnv({ ORGANIZATION_ID: organizationId, PROJECT_ID: projectId, OIDC_USERNAME: "u", OIDC_PASSWORD: "pw" })
        )
      assert.deepStrictEqual(project, { organizationId, projectId })
      assert.strictEqual(oidc.username, "u")
      assert.isTrue(Redacted.isRedacted(oidc.password))
      assert.strictEqual(Redacted.value(oidc.password), "pw")
      assert.strictEqual(oidc.clientId, "event-ingestor")
    }))

  it.effect("takes values given in code over the environment, and checks an empty one rather than missing it", () =>
    Effect.gen(function*() {
      const project = yield* StellaNowConfig.load(StellaNowConfig.project).pipe(
        StellaNowConfig.withOverrides({ ORGANIZATION_ID: organizationId }),
        withEnv({ ORGANIZATION_ID: "not-a-uuid", PROJECT_ID: projectId })
      )
      assert.deepStrictEqual(project, { organizationId, projectId })
      const error = yield* StellaNowConfig.load(StellaNowConfig.basic).pipe(
        StellaNowConfig.withOverrides({ MQTT_USERNAME: "", MQTT_PASSWORD: Redacted.make("s3cr3t") }),
        withEnv({}),
        Effect.flip
      )
      assert.strictEqual(error.reason, "InvalidVariable")
      assert.include(error.message, `MQTT_USERNAME (needed for auth mode "basic"): expected a non-empty value`)
      assert.notInclude(error.message, "s3cr3t")
    }))
})
