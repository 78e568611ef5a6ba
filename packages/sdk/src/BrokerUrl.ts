/**
 * Broker URLs: the scheme picks the transport and TLS (WIRE.md §3).
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Result from "effect/Result"
import { ConfigurationError } from "./StellaNowError.js"

/**
 * Where and how to reach a broker.
 *
 * @since 0.1.0
 * @category models
 */
export interface BrokerAddress {
  readonly transport: "tcp" | "websocket"
  readonly tls: boolean
  readonly host: string
  readonly port: number
  /** The WebSocket path; only for `websocket`. */
  readonly path?: string | undefined
  /** The URL as given, with any user information removed. */
  readonly url: string
}

const schemes: Record<string, { readonly transport: "tcp" | "websocket"; readonly tls: boolean; port: number }> = {
  "mqtt:": { transport: "tcp", tls: false, port: 1883 },
  "mqtt-tcp:": { transport: "tcp", tls: false, port: 1883 },
  "mqtts:": { transport: "tcp", tls: true, port: 8883 },
  "ws:": { transport: "websocket", tls: false, port: 80 },
  "wss:": { transport: "websocket", tls: true, port: 443 }
}

/** The URL without user information, so an error can quote it without leaking a password. */
const redact = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1***@")

const invalid = (url: string, detail: string) =>
  Result.fail(
    new ConfigurationError({
      reason: "InvalidBrokerUrl",
      detail: `broker URL ${JSON.stringify(redact(url))} is invalid: ${detail}`
    })
  )

/**
 * Parses a broker URL: `mqtt`/`mqtt-tcp` (TCP, 1883), `mqtts` (TLS, 8883), `ws` (WebSocket, 80), `wss`
 * (WebSocket over TLS, 443). A port in the URL wins; the WebSocket path is the URL's, or `/mqtt`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (url: string): Result.Result<BrokerAddress, ConfigurationError> => {
  if (typeof url !== "string" || url.trim() === "") return invalid(String(url), "it is empty")
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase()
  const known = scheme === undefined ? undefined : schemes[`${scheme}:`]
  if (known === undefined) {
    return invalid(url, "the scheme must be one of mqtt://, mqtt-tcp://, mqtts://, ws://, wss://")
  }
  // Host and port are split by hand: WHATWG URL drops a default port silently and treats a
  // non-special scheme's authority loosely.
  const rest = url.slice(scheme!.length + 3)
  const authority = rest.split(/[/?#]/, 1)[0]!
  const hostPort = authority.replace(/^[^@]*@/, "")
  const [, hostText, portText] = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort) ?? []
  if (hostText === undefined || hostText === "") return invalid(url, "it has no host")
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) {
    return invalid(url, `the port ${JSON.stringify(portText)} is not a number`)
  }
  const port = portText === undefined ? known.port : Number(portText)
  if (port < 1 || port > 65535) return invalid(url, `the port ${port} is outside 1 to 65535`)
  let parsed: URL
  try {
    // The host and path are parsed as an http URL's, so IPv6 literals and paths follow the standard.
    parsed = new URL(`http://${hostText}${rest.slice(authority.length)}`)
  } catch {
    return invalid(url, "it is not a URL")
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1")
  if (host === "") return invalid(url, "it has no host")
  return Result.succeed({
    transport: known.transport,
    tls: known.tls,
    host,
    port,
    ...(known.transport === "websocket" ? { path: parsed.pathname === "/" ? "/mqtt" : parsed.pathname } : {}),
    url: redact(url)
  })
}
