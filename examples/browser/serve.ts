/**
 * Serves the browser example on http://localhost:8080 (PORT to change it): the page, its script
 * bundled with esbuild for the browser, and what the app's backend would answer, `/config` (the broker
 * and the project) and `/token` (an access token for the page's token provider).
 *
 * - With ORGANIZATION_ID, PROJECT_ID, OIDC_USERNAME and OIDC_PASSWORD set (STELLANOW_ENV=prod for
 *   production, dev by default), it logs in to the platform's Keycloak itself, with the SDK's OIDC auth,
 *   so the password stays on the server, and hands the page the access token; the page connects to the
 *   environment's wss:// broker.
 * - With STELLANOW_BROKER_URL set (a ws:// or wss:// broker of yours, e.g. mosquitto's websockets
 *   listener), the page connects there, with placeholder tokens.
 * - Otherwise it runs a broker for the page on the same port, aedes over WebSockets
 *   (ws://localhost:8080/mqtt, MQTT 3.1.1), and prints every event it receives.
 */
import { Auth, AuthOidc, Environment } from "@stellanow/sdk"
import { Aedes } from "aedes"
import { Effect, ManagedRuntime, Redacted } from "effect"
import * as esbuild from "esbuild"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { createWebSocketStream, WebSocketServer } from "ws"

const here = path.dirname(fileURLToPath(import.meta.url))
const port = Number(process.env["PORT"] ?? 8080)
const env = process.env
const platform = env["ORGANIZATION_ID"] !== undefined && env["OIDC_USERNAME"] !== undefined

/** The page's script, bundled once: the SDK resolves to its sources through the workspace's tsconfig. */
const bundle = await esbuild.build({
  entryPoints: [path.join(here, "src/main.ts")],
  bundle: true,
  format: "esm",
  platform: "browser",
  sourcemap: "inline",
  write: false,
  logLevel: "warning"
})
const script = bundle.outputFiles[0]!.contents
const page = await fs.readFile(path.join(here, "index.html"))

/** Access tokens for the page: the SDK's own OIDC auth on the server, or placeholders. */
const tokens = (() => {
  if (!platform) {
    return async () => ({ accessToken: "placeholder-token", expiresAt: Date.now() + 5 * 60_000 })
  }
  const environment = Environment.byName(env["STELLANOW_ENV"] === "prod" ? "prod" : "dev")
  const runtime = ManagedRuntime.make(AuthOidc.layerConfig({ apiBaseUrl: environment.apiBaseUrl }))
  return () =>
    runtime.runPromise(Effect.gen(function*() {
      const { expiresAt, username } = yield* (yield* Auth.Auth).credentials
      return { accessToken: Redacted.value(username!), expiresAt: expiresAt! }
    }))
})()

const config = {
  brokerUrl: platform
    ? Environment.byName(env["STELLANOW_ENV"] === "prod" ? "prod" : "dev").brokerUrl
    : env["STELLANOW_BROKER_URL"] ?? `ws://localhost:${port}/mqtt`,
  organizationId: env["ORGANIZATION_ID"] ?? "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  projectId: env["PROJECT_ID"] ?? "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
  // aedes speaks MQTT 3.1.1; the platform and mosquitto speak MQTT 5, the default.
  protocolVersion: platform || env["STELLANOW_BROKER_URL"] !== undefined ? 5 : 4
}

const send = (response: http.ServerResponse, type: string, body: string | Uint8Array, status = 200) => {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store" })
  response.end(body)
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost")
  if (url.pathname === "/") return send(response, "text/html; charset=utf-8", page)
  if (url.pathname === "/main.js") return send(response, "text/javascript", script)
  if (url.pathname === "/config") return send(response, "application/json", JSON.stringify(config))
  if (url.pathname === "/token") {
    return void tokens().then(
      (token) => send(response, "application/json", JSON.stringify(token)),
      (error: unknown) => {
        console.error(`cannot get an access token: ${error instanceof Error ? error.message : String(error)}`)
        send(response, "application/json", JSON.stringify({ error: "no token" }), 503)
      }
    )
  }
  send(response, "text/plain", "not found", 404)
})

if (!platform && env["STELLANOW_BROKER_URL"] === undefined) {
  const aedes = await Aedes.createBroker()
  aedes.on("publish", (packet, client) => {
    if (client === null || !packet.topic.startsWith("in/")) return
    const { key, value } = JSON.parse(packet.payload.toString())
    console.log(`broker received ${value.metadata.eventTypeDefinitionId} for ${key.entityId}: ${value.payload}`)
  })
  new WebSocketServer({ server, path: "/mqtt" }).on(
    "connection",
    (socket) => aedes.handle(createWebSocketStream(socket))
  )
}

server.listen(port, "localhost", () => {
  console.log(`the browser example: open http://localhost:${port} (broker ${config.brokerUrl})`)
})
