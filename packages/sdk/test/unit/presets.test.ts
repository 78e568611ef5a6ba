/**
 * The presets' table (`internal/presets.ts`) is the one place each preset is defined: both families
 * are built from it, the Python names it keeps are WIRE.md's, the README pairs the same names, and
 * each preset asks for the variables of the auth mode the table gives it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Sdk from "@stellanow/sdk"
import { StellaNowLive } from "@stellanow/sdk"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Presets from "../../src/internal/presets.js"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..")
const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), "utf8")

const entries = Object.entries(Presets.table)

/** What a preset's name says it is: `devBasicMqttLifo` → basic auth, the dev environment, LIFO. */
const namedAs = (name: string) => ({
  auth: name.includes("Oidc") ? "oidc" : name.includes("Basic") ? "basic" : "none",
  environment: /^(dev|prod|local)/.exec(name)![1],
  order: name.endsWith("Lifo") ? "lifo" : "fifo"
})

/** `devOidcMqttFifo` → `configureDevOidcMqttFifoSdk`. */
const promiseName = (name: string) => `configure${name[0]!.toUpperCase()}${name.slice(1)}Sdk`

describe("the presets' table", () => {
  it("keeps the Python SDK's presets of WIRE.md §7, in its order", () => {
    const section = read("spec/WIRE.md").split(/^## /m).find((part) => part.startsWith("7. "))!
    const listed = [...section.matchAll(/^- `(configure_\w+_sdk)`/gm)].map((match) => match[1])
    assert.deepStrictEqual(entries.map(([, preset]) => preset.python), listed)
  })

  it("gives each preset what its name says", () => {
    for (const [name, { auth, environment, order }] of entries) {
      assert.deepStrictEqual({ auth, environment, order }, namedAs(name), name)
    }
  })

  it("builds both families: StellaNowLive.<name> and configure<Name>Sdk, paired in the README", () => {
    const readme = read("README.md").split("\n")
    for (const [name, preset] of entries) {
      assert.strictEqual(typeof (StellaNowLive as Record<string, unknown>)[name], "function", name)
      assert.strictEqual(typeof (Sdk as Record<string, unknown>)[promiseName(name)], "function", name)
      const row = readme.find((line) => line.startsWith(`| \`${preset.python}\``))
      assert.isDefined(row, preset.python)
      assert.include(row, `\`${promiseName(name)}\``)
      assert.include(row, `\`StellaNowLive.${name}\``)
    }
  })

  it.effect("gives each preset its auth mode: a layer built without variables names that mode's", () =>
    Effect.gen(function*() {
      for (const [name] of entries) {
        const layer = (StellaNowLive as unknown as Record<string, () => Layer.Layer<unknown, Sdk.ConfigurationError>>)[
          name
        ]!()
        const error = yield* Effect.flip(Effect.scoped(Layer.build(layer))).pipe(
          Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: {} }))
        )
        const modes = [...error.message.matchAll(/needed for auth mode "(\w+)"/g)].map((match) => match[1])
        assert.deepStrictEqual(new Set(modes), new Set(namedAs(name).auth === "none" ? [] : [namedAs(name).auth]), name)
      }
    }))
})
