/**
 * The size a user ships: a minimal app that sends one event, bundled with esbuild (minified) from the
 * built package, as `esbuild app.ts --bundle --minify` would do it in the user's project. For Node the
 * app uses `@stellanow/sdk` and Node's built-ins stay external; for the browser it is the minimal page
 * app (examples/browser/src/minimal.ts, the one `scripts/check-bundle.mjs` checks) through
 * `@stellanow/sdk/browser` and mqtt's browser build, and Vite's production build of it is measured
 * beside esbuild's. `effect`, `mqtt` and `nanoid` are bundled.
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

/** The page app's sizes: esbuild's, as for Node, and Vite's (Rollup's tree-shaking, its minifier). */
export interface BrowserBundleSize extends BundleSize {
  readonly vite: { readonly min_bytes: number; readonly min_gzip_bytes: number }
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

const here = path.dirname(fileURLToPath(import.meta.url))
const pageAppDir = path.resolve(here, "../../../examples/browser")
const pageApp = path.join(pageAppDir, "src/minimal.ts")

const sizeOf = (code: Uint8Array) => ({
  min_bytes: code.byteLength,
  min_gzip_bytes: gzipSync(code, { level: 9 }).byteLength
})

/** Bundles the Node app against the built `@stellanow/sdk` this package depends on. */
export const bundleSize = async (): Promise<BundleSize> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "stellanow-bundle-"))
  try {
    const entry = path.join(dir, "app.ts")
    await fs.writeFile(entry, nodeApp)
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "node",
      target: "es2022",
      write: false,
      logLevel: "silent",
      // Resolve the SDK and its dependencies from this package, as a user's node_modules would.
      nodePaths: [path.resolve(here, "../node_modules")]
    })
    return { platform: "node", ...sizeOf(result.outputFiles[0]!.contents) }
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

/**
 * Bundles the minimal page app for the browser with esbuild and with Vite, as the bundler check does;
 * the SDK is resolved from the examples' package, the built one a user's project would get.
 */
export const browserBundleSize = async (): Promise<BrowserBundleSize> => {
  const result = await build({
    entryPoints: [pageApp],
    absWorkingDir: pageAppDir,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    // No tsconfig `paths`: the SDK is resolved through its package's `exports`.
    tsconfigRaw: {}
  })
  return { platform: "browser", ...sizeOf(result.outputFiles[0]!.contents), vite: await viteSize() }
}

/** Vite's production build of the page app, in memory, with its defaults. */
const viteSize = async () => {
  const { build: vite } = await import("vite")
  const result = await vite({
    root: pageAppDir,
    configFile: false,
    logLevel: "silent",
    build: { write: false, reportCompressedSize: false, rollupOptions: { input: pageApp } }
  })
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => "output" in r ? r.output : [])
  const code = outputs.flatMap((o) => o.type === "chunk" ? [o.code] : []).join("")
  return sizeOf(Buffer.from(code))
}
