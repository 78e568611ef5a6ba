/**
 * The size a user ships: a minimal app that sends one event, bundled with esbuild (minified) from the
 * built package, as `esbuild app.ts --bundle --minify` would do it in the user's project. Node's
 * built-ins stay external; `effect`, `mqtt` and `nanoid` are bundled.
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

/** The app: one message class, one preset, one event. */
const app = `
import { configureSdk, Field, Message } from "@stellanow/sdk"

class Ping extends Message.Class<Ping>("Ping")({ event: "ping", entities: ["patron"], fields: { n: Field.Integer } }) {}

const sdk = configureSdk({ auth: "none", environment: "local" })
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
    await fs.writeFile(entry, app)
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
