/**
 * Test pages for the browser tests: TypeScript entry points bundled with esbuild for the browser (as a
 * user's bundler would), served with an HTML page each from a loopback HTTP server. `/NAME.html` runs
 * the bundle of `pages/NAME.ts`. A bundler warning fails the build: the SDK must bundle cleanly.
 */
import * as esbuild from "esbuild"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const sdkRoot = path.resolve(here, "../../..")
const pagesDir = path.join(here, "../pages")

/** How the pages import the SDK and the test helpers: from the sources, as the workspace's tests do. */
const aliases: Record<string, string> = {
  "@stellanow/sdk/browser": path.join(sdkRoot, "src/browser.ts"),
  "@stellanow/sdk/internal": path.join(sdkRoot, "src/internalApi.ts"),
  "@stellanow/sdk": path.join(sdkRoot, "src/index.ts"),
  // The conformance suite's `describe`/`it`/`assert`, run by the page's own small runner.
  "@effect/vitest": path.join(here, "pageVitest.ts")
}

export interface PageServer {
  /** The page's address: `http://127.0.0.1:PORT/NAME.html`, or at `host` (e.g. `Chromium.insecureHost`). */
  url(name: string, host?: string): string
  close(): Promise<void>
}

/** Bundles `pages/NAME.ts` for each name. Rejects with every error and warning esbuild reported. */
const bundle = async (names: ReadonlyArray<string>): Promise<Map<string, string>> => {
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(names.map((name) => [name, path.join(pagesDir, `${name}.ts`)])),
    bundle: true,
    write: false,
    outdir: "/pages",
    format: "esm",
    platform: "browser",
    target: "es2022",
    alias: aliases,
    // The suite names its stores after the process; a page has none.
    define: { "process.pid": "0" },
    logLevel: "silent"
  }).catch((error: esbuild.BuildFailure) => ({ errors: error.errors, warnings: error.warnings, outputFiles: [] }))
  const problems = [...result.errors, ...result.warnings]
  if (problems.length > 0) {
    const text = await esbuild.formatMessages(problems, { kind: "warning" })
    throw new Error(`bundling the test pages for the browser failed:\n${text.join("\n")}`)
  }
  return new Map((result.outputFiles ?? []).map((file) => [path.basename(file.path, ".js"), file.text]))
}

const html = (name: string) =>
  `<!doctype html><meta charset="utf-8"><title>${name}</title><script type="module" src="/${name}.js"></script>\n`

/** A route of the page's own server (the app's backend): its answer as JSON, or an error (500). */
export type Route = () => Promise<unknown>

/** Bundles the pages and serves them on a free loopback port, with `routes` answering `POST /NAME`. */
export const start = async (
  names: ReadonlyArray<string>,
  routes: Readonly<Record<string, Route>> = {}
): Promise<PageServer> => {
  const scripts = await bundle(names)
  const server = http.createServer((request, response) => {
    const route = request.method === "POST" ? routes[request.url ?? ""] : undefined
    if (route !== undefined) {
      route().then(
        (body) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body)),
        (error: unknown) => response.writeHead(500).end(String(error))
      )
      return
    }
    const name = /^\/([\w-]+)\.(html|js)(?:\?|$)/.exec(request.url ?? "")
    const script = name === null ? undefined : scripts.get(name[1]!)
    if (name === null || script === undefined) {
      response.writeHead(404).end()
      return
    }
    const isHtml = name[2] === "html"
    response.writeHead(200, {
      "content-type": isHtml ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8",
      "cache-control": "no-store"
    })
    response.end(isHtml ? html(name[1]!) : script)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: (name, host = "127.0.0.1") => `http://${host}:${port}/${name}.html`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
