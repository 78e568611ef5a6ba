/**
 * A Keycloak-like OIDC token server on a free loopback port, for integration tests:
 *
 * - `POST /auth/realms/{realm}/protocol/openid-connect/token`: form-encoded `password` and
 *   `refresh_token` grants of a public client, answered as Keycloak does (`access_token`, `expires_in`,
 *   `refresh_token`, `refresh_expires_in`, …; 401 `invalid_grant` for bad credentials, 400
 *   `invalid_grant` for a refresh token that is not active, 401 `invalid_client` for a wrong client);
 * - `GET /auth/realms/{realm}/.well-known/openid-configuration` and the JWKS at `…/certs`;
 * - RS256 JWTs signed with `jose` by a key pair made at start; `iat` in whole seconds, `exp = iat +
 *   lifetime` (Keycloak's rounding);
 * - switches: refuse refreshes, refuse logins, answer 503, go down (refuse connections) and come back
 *   on the same port, announce a lifetime other than the tokens' own; counters of everything, and
 *   every token issued (for secret scans);
 * - faults of the token endpoint (`fault`): 429 with `Retry-After`, a huge body, an HTML 404 page.
 */
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose"
import { randomUUID } from "node:crypto"
import * as http from "node:http"
import type * as net from "node:net"
import { makeSignal } from "./Signal.js"

const HOST = "127.0.0.1"

export interface TokenServerOptions {
  /** The realm (the organization id). */
  readonly realm: string
  /** username -> password. */
  readonly users: Readonly<Record<string, string>>
  /** The public client accepted. Default `event-ingestor`. */
  readonly clientId?: string
  /** Access token lifetime, seconds. Default 300. */
  readonly accessTokenLifetime?: number
  /** Refresh token lifetime (SSO session idle), seconds. Default 1800. */
  readonly refreshTokenLifetime?: number
}

export interface TokenRequest {
  readonly at: number
  readonly grant: string
  readonly status: number
  /** The request's headers (lower-case names), to see what the client sent beyond the form. */
  readonly headers: http.IncomingHttpHeaders
}

export interface TokenServerStats {
  /** Requests to the token endpoint, of any outcome. */
  tokenRequests: number
  logins: number
  refreshes: number
  refusedLogins: number
  refusedRefreshes: number
  /** Answers 503. */
  unavailable: number
  discoveryRequests: number
  jwksRequests: number
}

export interface TokenServer {
  readonly port: number
  /** `http://127.0.0.1:PORT`: the API base URL. */
  readonly baseUrl: string
  readonly issuer: string
  readonly tokenUrl: string
  readonly discoveryUrl: string
  readonly jwksUrl: string
  /** The public keys, as the JWKS endpoint serves them. */
  readonly jwks: JSONWebKeySet
  readonly stats: TokenServerStats
  /** Every token endpoint request, in order. */
  readonly requests: ReadonlyArray<TokenRequest>
  /** Every access and refresh token issued. */
  readonly issued: { readonly accessTokens: ReadonlyArray<string>; readonly refreshTokens: ReadonlyArray<string> }
  accessTokenLifetime: number
  refreshTokenLifetime: number
  /**
   * The `expires_in` announced, when it should differ from the tokens' real lifetime (a provider whose
   * clock is behind): tokens then expire earlier than the SDK is told.
   */
  announcedLifetime: number | undefined
  /** Refresh grants get 400 `invalid_grant` ("Token is not active"). */
  refuseRefresh: boolean
  /** Password grants get 401 `invalid_grant` ("Invalid user credentials"). */
  refuseLogin: boolean
  /** Every token request gets 503. */
  unavailable: boolean
  /**
   * A fault of every token request: `tooManyRequests` answers 429 with `Retry-After: retryAfter`;
   * `hugeBody` answers 200 with a chunked JSON body of `hugeBodyBytes` (no content-length);
   * `html404` answers a web server's HTML 404 page.
   */
  fault: "tooManyRequests" | "hugeBody" | "html404" | undefined
  /** The `Retry-After` value of `tooManyRequests` (seconds or an HTTP date). Default "30". */
  retryAfter: string
  hugeBodyBytes: number
  /** Stop listening and cut every connection: clients get ECONNREFUSED. */
  down(): Promise<void>
  /** Listen again on the same port. */
  up(): Promise<void>
  /** Resolves once `condition` holds (re-checked after every request); rejects after `timeoutMs`. */
  until(condition: (server: TokenServer) => boolean, timeoutMs: number, what: string): Promise<void>
  close(): Promise<void>
}

interface Session {
  readonly id: string
  readonly username: string
}

const json = (response: http.ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store"
  })
  response.end(text)
}

const readBody = (request: http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.once("error", reject)
  })

const answerFault = (server: TokenServer, response: http.ServerResponse) => {
  const fault = server.fault
  if (fault === "tooManyRequests") {
    response.writeHead(429, { "content-type": "application/json", "retry-after": server.retryAfter })
    response.end(JSON.stringify({ error: "too_many_requests" }))
  } else if (fault === "html404") {
    response.writeHead(404, { "content-type": "text/html; charset=utf-8" })
    response.end("<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>")
  } else {
    // Chunked, without content-length: the client can only find out by reading.
    response.writeHead(200, { "content-type": "application/json" })
    const chunk = Buffer.alloc(16 * 1024, 0x20)
    response.write("{\"access_token\": \"x\", \"pad\": \"")
    let left = server.hugeBodyBytes
    const more = () => {
      while (left > 0) {
        left -= chunk.length
        if (!response.write(chunk)) return void response.once("drain", more)
      }
      response.end("\"}")
    }
    response.on("error", () => undefined)
    more()
  }
}

export const startTokenServer = async (options: TokenServerOptions): Promise<TokenServer> => {
  const { privateKey, publicKey } = await generateKeyPair("RS256")
  const kid = randomUUID()
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }
  const jwks: JSONWebKeySet = { keys: [publicJwk] }
  const clientId = options.clientId ?? "event-ingestor"
  const realmPath = `/auth/realms/${encodeURIComponent(options.realm)}`
  const signal = makeSignal()
  const sessions = new Map<string, Session>()
  const requests: Array<TokenRequest> = []
  const accessTokens: Array<string> = []
  const refreshTokens: Array<string> = []
  const stats: TokenServerStats = {
    tokenRequests: 0,
    logins: 0,
    refreshes: 0,
    refusedLogins: 0,
    refusedRefreshes: 0,
    unavailable: 0,
    discoveryRequests: 0,
    jwksRequests: 0
  }
  const sockets = new Set<net.Socket>()
  let port = 0
  let issuer = ""

  const issue = async (session: Session) => {
    const iat = Math.floor(Date.now() / 1000)
    const common = { sid: session.id, azp: clientId, preferred_username: session.username, scope: "openid" }
    const access = await new SignJWT({ ...common, typ: "Bearer" })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setSubject(session.username)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + server.accessTokenLifetime)
      .sign(privateKey)
    const refresh = await new SignJWT({ ...common, typ: "Refresh" })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setSubject(session.username)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + server.refreshTokenLifetime)
      .sign(privateKey)
    accessTokens.push(access)
    refreshTokens.push(refresh)
    return {
      access_token: access,
      expires_in: server.announcedLifetime ?? server.accessTokenLifetime,
      refresh_expires_in: server.refreshTokenLifetime,
      refresh_token: refresh,
      token_type: "Bearer",
      "not-before-policy": 0,
      session_state: session.id,
      scope: "openid profile email"
    }
  }

  const token = async (form: URLSearchParams): Promise<{ status: number; body: unknown }> => {
    if (server.unavailable) {
      stats.unavailable++
      return { status: 503, body: { error: "temporarily_unavailable" } }
    }
    if (form.get("client_id") !== clientId) {
      return {
        status: 401,
        body: { error: "invalid_client", error_description: "Invalid client or Invalid client credentials" }
      }
    }
    const grant = form.get("grant_type")
    if (grant === "password") {
      const username = form.get("username") ?? ""
      const known = Object.hasOwn(options.users, username) && options.users[username] === form.get("password")
      if (server.refuseLogin || !known) {
        stats.refusedLogins++
        return { status: 401, body: { error: "invalid_grant", error_description: "Invalid user credentials" } }
      }
      stats.logins++
      const session = { id: randomUUID(), username }
      sessions.set(session.id, session)
      return { status: 200, body: await issue(session) }
    }
    if (grant === "refresh_token") {
      const refused = { status: 400, body: { error: "invalid_grant", error_description: "Token is not active" } }
      if (server.refuseRefresh) {
        stats.refusedRefreshes++
        return refused
      }
      const verified = await jwtVerify(form.get("refresh_token") ?? "", publicKey, { issuer, algorithms: ["RS256"] })
        .then((result) => result.payload, () => undefined)
      const session = typeof verified?.sid === "string" ? sessions.get(verified.sid) : undefined
      if (verified?.typ !== "Refresh" || verified.azp !== clientId || session === undefined) {
        stats.refusedRefreshes++
        return refused
      }
      stats.refreshes++
      return { status: 200, body: await issue(session) }
    }
    return { status: 400, body: { error: "unsupported_grant_type", error_description: `grant ${String(grant)}` } }
  }

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname
    if (request.method === "POST" && path === `${realmPath}/protocol/openid-connect/token`) {
      stats.tokenRequests++
      if (server.fault !== undefined) {
        await readBody(request)
        const status = server.fault === "hugeBody" ? 200 : server.fault === "html404" ? 404 : 429
        requests.push({ at: Date.now(), grant: "", status, headers: request.headers })
        answerFault(server, response)
        signal.notify()
        return
      }
      const type = request.headers["content-type"] ?? ""
      const body = await readBody(request)
      const outcome = type.startsWith("application/x-www-form-urlencoded")
        ? await token(new URLSearchParams(body))
        : { status: 400, body: { error: "invalid_request", error_description: "expected a form" } }
      requests.push({
        at: Date.now(),
        grant: new URLSearchParams(body).get("grant_type") ?? "",
        status: outcome.status,
        headers: request.headers
      })
      json(response, outcome.status, outcome.body)
      signal.notify()
      return
    }
    if (request.method === "GET" && path === `${realmPath}/.well-known/openid-configuration`) {
      stats.discoveryRequests++
      json(response, 200, {
        issuer,
        token_endpoint: `${issuer}/protocol/openid-connect/token`,
        jwks_uri: `${issuer}/protocol/openid-connect/certs`,
        grant_types_supported: ["password", "refresh_token"],
        id_token_signing_alg_values_supported: ["RS256"],
        token_endpoint_auth_methods_supported: ["none"]
      })
      return
    }
    if (request.method === "GET" && path === `${realmPath}/protocol/openid-connect/certs`) {
      stats.jwksRequests++
      json(response, 200, jwks)
      return
    }
    if (path.startsWith("/auth/realms/") && !path.startsWith(`${realmPath}/`)) {
      json(response, 404, { error: "Realm does not exist" })
      return
    }
    json(response, 404, { error: "not found" })
  }

  const httpServer = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: "server_error", error_description: String(error) })
    })
  })
  httpServer.on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject)
      httpServer.listen(port, HOST, () => {
        httpServer.off("error", reject)
        resolve()
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!httpServer.listening) return resolve()
      httpServer.close(() => resolve())
      httpServer.closeAllConnections()
      for (const socket of sockets) socket.destroy()
    })

  await listen()
  port = (httpServer.address() as net.AddressInfo).port
  const baseUrl = `http://${HOST}:${port}`
  issuer = `${baseUrl}${realmPath}`

  const server: TokenServer = {
    port,
    baseUrl,
    issuer,
    tokenUrl: `${issuer}/protocol/openid-connect/token`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    jwksUrl: `${issuer}/protocol/openid-connect/certs`,
    jwks,
    stats,
    requests,
    issued: { accessTokens, refreshTokens },
    accessTokenLifetime: options.accessTokenLifetime ?? 300,
    refreshTokenLifetime: options.refreshTokenLifetime ?? 1800,
    announcedLifetime: undefined,
    refuseRefresh: false,
    refuseLogin: false,
    unavailable: false,
    fault: undefined,
    retryAfter: "30",
    hugeBodyBytes: 10 * 1024 * 1024,
    down: stop,
    up: async () => {
      if (httpServer.listening) return
      // The port was ours a moment ago; retry briefly in case the kernel still holds it.
      for (let attempt = 1;; attempt++) {
        try {
          return await listen()
        } catch (error) {
          if (attempt >= 20) throw error
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    },
    until: (condition, timeoutMs, what) => signal.until(() => condition(server), timeoutMs, what),
    close: stop
  }
  return server
}
