#!/usr/bin/env node
/**
 * The bundler check: the minimal page app (examples/browser/src/minimal.ts) imports the browser entry
 * `@stellanow/sdk/browser` as a user's project does, through the built package's `exports`, and is
 * bundled for the browser with esbuild and with Vite. It fails on any warning of either, and when the
 * bundle holds a `node:*` module or the Node-only parts (the OIDC password grant, the Node presets).
 * It prints the minified and gzipped sizes (against the issue's 150 KB for the page app, which it does
 * not enforce: packages/bench/RESULTS.md says what stands in the way); `--analyze` adds what takes the
 * room, by package and file.
 *
 *   pnpm build && node scripts/check-bundle.mjs [--analyze]
 */
import { build as esbuild } from "esbuild"
import { existsSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { build as vite } from "vite"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const appDir = join(root, "examples/browser")
const entry = join(appDir, "src/minimal.ts")
const analyze = process.argv.includes("--analyze")

/** Modules a page must not ship: Node's own, and the SDK's Node-only ones. */
const forbidden = [
  { test: (id) => id.startsWith("node:"), why: "a Node built-in" },
  {
    test: (id) => /\/(AuthOidc|StellaNowLive|StellaNowSDK|oidcAuth|oidcClient|oidcExchange)\.(js|ts)$/.test(id),
    why: "Node-only (the OIDC password grant, the Node presets)"
  }
]

const problems = []

/** Module ids of what ended up in a bundle, with their share of its bytes. */
const checkModules = (bundler, modules) => {
  for (const [id, bytes] of modules) {
    const rule = forbidden.find(({ test }) => test(id))
    if (rule !== undefined) problems.push(`${bundler}: the bundle holds ${id} (${bytes} bytes): ${rule.why}`)
  }
}

const sizeOf = (code) => ({ min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength })

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`

/** The issue's target for the page app, minified and gzipped; a KB is 1,000 bytes. */
const targetGzipBytes = 150_000

/** esbuild, as `esbuild app.ts --bundle --minify --platform=browser` would. */
const withEsbuild = async () => {
  const result = await esbuild({
    entryPoints: [entry],
    absWorkingDir: appDir,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "silent",
    // No tsconfig `paths`: the SDK is resolved as a user's project resolves it, through its package.
    tsconfigRaw: {}
  })
  for (const warning of result.warnings) {
    const where = warning.location === null ? "" : ` (${warning.location.file}:${warning.location.line})`
    problems.push(`esbuild: ${warning.text}${where}`)
  }
  const [output] = Object.values(result.metafile.outputs)
  const inputs = Object.entries(output.inputs).map(([id, { bytesInOutput }]) => [id, bytesInOutput])
  // The whole import graph, whatever was shaken out: nothing of Node's in it at all.
  checkModules(
    "esbuild",
    Object.keys(result.metafile.inputs).filter((id) => id.startsWith("node:")).map((id) => [id, 0])
  )
  checkModules("esbuild", inputs.filter(([, bytes]) => bytes > 0))
  return { size: sizeOf(result.outputFiles[0].contents), inputs }
}

/** Vite (Rollup), building the app for production with its defaults but the chunk-size advice. */
const withVite = async () => {
  const warn = (message) => problems.push(`vite: ${String(message).trim()}`)
  const result = await vite({
    root: appDir,
    configFile: false,
    logLevel: "warn",
    customLogger: {
      info: () => undefined,
      warn,
      warnOnce: warn,
      error: warn,
      clearScreen: () => undefined,
      hasErrorLogged: () => false,
      hasWarned: false
    },
    build: {
      write: false,
      reportCompressedSize: false,
      // Vite advises on chunks over 500 kB; the size is this script's and the bench's to report
      // (see the README's browser section), not a defect of the bundle.
      chunkSizeWarningLimit: Number.POSITIVE_INFINITY,
      // Rollup's warnings reach the logger as Vite filters them for its users (it drops circular imports).
      rollupOptions: { input: entry }
    }
  })
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output)
  const chunks = outputs.filter((o) => o.type === "chunk")
  const inputs = chunks.flatMap((chunk) =>
    Object.entries(chunk.modules).map(([id, m]) => [id.replace(/^\0/, ""), m.renderedLength])
  ).filter(([, bytes]) => bytes > 0)
  checkModules("vite", inputs)
  return { size: sizeOf(Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.code)))), inputs }
}

/** Where the bytes come from: by package, then the largest files (Vite's before minification). */
const report = (bundler, inputs, what) => {
  console.log(`${bundler} (${what}):`)
  const packageOf = (id) => {
    const match = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(id)
    return match === null ? "@stellanow/sdk" : match[1]
  }
  const byPackage = new Map()
  for (const [id, bytes] of inputs) byPackage.set(packageOf(id), (byPackage.get(packageOf(id)) ?? 0) + bytes)
  console.log("  by package:")
  for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1])) console.log(`    ${name}: ${kib(bytes)}`)
  console.log("  largest files:")
  for (const [id, bytes] of [...inputs].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`    ${kib(bytes)}  ${relative(root, resolve(appDir, id))}`)
  }
}

if (!existsSync(join(root, "packages/sdk/dist/browser.js"))) {
  console.error("packages/sdk/dist/browser.js is missing: build the packages first (pnpm build)")
  process.exit(1)
}

const fromEsbuild = await withEsbuild()
const fromVite = await withVite()
const sizeLine = (bundler, { gzip, min }) =>
  `minimal browser app, ${bundler} ${kib(min)} minified, ${kib(gzip)} gzipped (${gzip} bytes; ` +
  `${gzip <= targetGzipBytes ? "within" : "over"} the 150 KB target)`
console.log(sizeLine("esbuild:", fromEsbuild.size))
console.log(sizeLine("vite:   ", fromVite.size))
if (analyze) {
  report("esbuild", fromEsbuild.inputs, "minified bytes")
  report("vite", fromVite.inputs, "bytes each module rendered, before minification")
}
if (problems.length > 0) {
  console.error(`\nthe bundler check failed:\n${problems.map((p) => `- ${p}`).join("\n")}`)
  process.exit(1)
}
console.log("no bundler warnings; no Node built-in or Node-only module in the bundle")
