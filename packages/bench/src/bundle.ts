/**
 * The size a user ships: a minimal app that sends one event, bundled with esbuild (minified) from the
 * built package, as `esbuild app.ts --bundle --minify` would do it in the user's project. For Node the
 * app uses `@stellanow/sdk` and Node's built-ins stay external; for the browser it uses
 * `@stellanow/sdk/browser` and mqtt's browser build. `effect`, `mqtt` and `nanoid` are bundled.
 */
import { build } from "esbuild"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"

export interface BundleSize {
  readonly platform: "node" | "browser"
  readonly min_bytes: number
  readonly min_gzip_bytes: number
}

/** The Node app: one message class, one preset, one event. */
const nodeApp = `
import { configureSdk, Field, Message } from "@stellanow/sdk"

class Ping extends Message.Class<Ping>("Ping")({ event: "ping", entities: ["patron"], fields: { n: Field.Integer } }) {}

const sdk = configureSdk({ auth: "none", environment: "local" })
await sdk.start()
await sdk.sendMessage(new Ping({ patron: "1", n: 1 }))
await sdk.close()
`

/**
 * The page app: the same through the browser entry, with a token provider (as
 * examples/browser/src/minimal.ts, which the bundler check builds with esbuild and Vite).
 */
const browserApp = `
import { configureBrowserSdk, Field, Message } from "@stellanow/sdk/browser"

class Ping extends Message.Class<Ping>("Ping")({ event: "ping", entities: ["patron"], fields: { n: Field.Integer } }) {}

const sdk = configureBrowserSdk({
  environment: "prod",
  organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
  tokenProvider: async ({ signal }) => (await fetch("/stellanow-token", { signal })).json()
})
await sdk.start()
await sdk.sendMessage(new Ping({ patron: "1", n: 1 }))
await sdk.close()
`

const here = path.dirname(fileURLToPath(import.meta.url))

/** Bundles the app against the built `@stellanow/sdk` this package depends on. */
export const bundleSize = async (platform: BundleSize["platform"] = "node"): Promise<BundleSize> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "stellanow-bundle-"))
  try {
    const entry = path.join(dir, "app.ts")
    await fs.writeFile(entry, platform === "browser" ? browserApp : nodeApp)
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: "esm",
      platform,
      target: "es2022",
      write: false,
      logLevel: "silent",
      // Resolve the SDK and its dependencies from this package, as a user's node_modules would.
      nodePaths: [path.resolve(here, "../node_modules")]
    })
    const code = result.outputFiles[0]!.contents
    return { platform, min_bytes: code.byteLength, min_gzip_bytes: gzipSync(code, { level: 9 }).byteLength }
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}
