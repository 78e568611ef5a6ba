/**
 * A real mosquitto broker for integration tests: loopback only, free ports, a fresh temp dir per broker,
 * optional TLS (CA + server certificate generated at test time with the `openssl` CLI), websockets and
 * username/password authentication. Plus a small recording MQTT 5 subscriber.
 */
import { Effect, type Scope } from "effect"
import { connectAsync, type IClientOptions, type MqttClient } from "mqtt"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import * as Programs from "./Programs.js"

const execFileAsync = promisify(execFile)

/**
 * A program's path: its `*_BIN` variable when set, else found on PATH (mosquitto also in /usr/sbin).
 * Looked up before anything is spawned, so a missing program fails with what to install.
 */
const programPath = (variable: string, program: Programs.Program): string =>
  process.env[variable] ?? Programs.findProgram(program)

const HOST = "127.0.0.1"
const READY_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 5_000
const OUTPUT_LIMIT = 64 * 1024

export interface MosquittoOptions {
  /** Add a TLS listener (mqtts) and, with `websockets`, a secure websockets listener (wss). */
  readonly tls?: boolean
  /** Add a websockets listener (ws) and, with `tls`, a secure websockets listener (wss). */
  readonly websockets?: boolean
  /** username -> password. When set, anonymous access is refused. */
  readonly users?: Record<string, string>
  /** Appended verbatim to the generated mosquitto.conf (global section, before the listeners). */
  readonly extraConfig?: string
  /**
   * `max_packet_size`: the broker announces it in its CONNACK (Maximum Packet Size) and disconnects a
   * client that sends a larger packet.
   */
  readonly maxPacketSize?: number
}

export type UrlKind = "mqtt" | "mqtts" | "ws" | "wss"

export interface Mosquitto {
  readonly tcpPort: number
  readonly tlsPort?: number
  readonly wsPort?: number
  readonly wssPort?: number
  /** Path of the CA certificate (PEM) that signed the server certificate; set when `tls` is on. */
  readonly caPath?: string
  /** The CA certificate PEM text; set when `tls` is on. */
  readonly ca?: string
  /** The temp dir holding the config, password file and certificates. */
  readonly dir: string
  /** e.g. `mqtt://127.0.0.1:PORT`, `ws://127.0.0.1:PORT/mqtt`. Throws if that listener is not configured. */
  url(kind: UrlKind): string
  /** Everything the broker printed so far (all runs), capped to the last 64 KiB. */
  output(): string
  /** Whether the broker process is currently running. */
  running(): boolean
  /** SIGTERM and wait for exit (SIGKILL after 5 s). No-op when not running. */
  stop(): Promise<void>
  /** Start again on the same ports with the same config and wait until every listener accepts. */
  start(): Promise<void>
  /** SIGKILL and wait for exit. No-op when not running. */
  kill(): Promise<void>
  /** Stop the broker and remove its temp dir. */
  dispose(): Promise<void>
}

// ---------------------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Allocate `count` distinct free loopback ports (all bound at once, then released). */
export const freePorts = async (count: number): Promise<Array<number>> => {
  const servers: Array<net.Server> = []
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(0, HOST, () => resolve())
      })
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port)
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  }
}

/** One TCP connect attempt; resolves true when the port accepted the connection. */
const tryConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    const done = (ok: boolean) => {
      socket.removeAllListeners()
      socket.on("error", () => {})
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

const run = async (file: string, args: ReadonlyArray<string>, cwd: string): Promise<void> => {
  try {
    await execFileAsync(file, [...args], { cwd })
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message?: string }
    throw new Error(
      `${file} ${args.join(" ")} failed: ${e.message ?? String(error)}\n${e.stdout ?? ""}${e.stderr ?? ""}`
    )
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------------------------------

interface Certificates {
  readonly caPath: string
  readonly certPath: string
  readonly keyPath: string
}

const OPENSSL_CONFIG = `[ req ]
distinguished_name = dn
prompt = no

[ dn ]
CN = unused

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost signed by it (EC P-256: fast). */
const generateCertificates = async (dir: string): Promise<Certificates> => {
  const openssl = programPath("OPENSSL_BIN", Programs.openssl)
  const cnf = path.join(dir, "openssl.cnf")
  await fs.writeFile(cnf, OPENSSL_CONFIG)
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  await run(openssl, [
    "req",
    "-x509",
    ...ec,
    "-config",
    cnf,
    "-extensions",
    "v3_ca",
    "-subj",
    "/CN=Mosquitto Test CA",
    "-days",
    "30",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt"
  ], dir)
  await run(openssl, [
    "req",
    "-new",
    ...ec,
    "-config",
    cnf,
    "-subj",
    "/CN=localhost",
    "-keyout",
    "server.key",
    "-out",
    "server.csr"
  ], dir)
  const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`
  await run(openssl, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-set_serial",
    serial,
    "-days",
    "30",
    "-extfile",
    cnf,
    "-extensions",
    "v3_server",
    "-out",
    "server.crt"
  ], dir)
  return {
    caPath: path.join(dir, "ca.crt"),
    certPath: path.join(dir, "server.crt"),
    keyPath: path.join(dir, "server.key")
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Broker
// ---------------------------------------------------------------------------------------------------------------------

/** Brokers still running when the process exits are killed, so a failed test never leaks a mosquitto. */
const liveChildren = new Set<ChildProcess>()
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL")
  })
}

interface Child {
  readonly proc: ChildProcess
  /** Resolves once the process exited and its stdio closed. */
  readonly closed: Promise<void>
}

const isAlive = (proc: ChildProcess) => proc.exitCode === null && proc.signalCode === null

/** Signal the process and wait until it exited and its pipes closed; SIGTERM escalates to SIGKILL after 5 s. */
const killChild = async (child: Child, signal: NodeJS.Signals): Promise<void> => {
  if (isAlive(child.proc)) {
    child.proc.kill(signal)
    if (signal !== "SIGKILL") {
      let timer: NodeJS.Timeout | undefined
      const timedOut = await Promise.race([
        child.closed.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS)
        })
      ])
      clearTimeout(timer)
      if (timedOut) child.proc.kill("SIGKILL")
    }
  }
  await child.closed
}

export const startMosquitto = async (options: MosquittoOptions = {}): Promise<Mosquitto> => {
  installExitHook()
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mosquitto-test-"))
  try {
    return await create(dir, options)
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true })
    throw error
  }
}

const create = async (dir: string, options: MosquittoOptions): Promise<Mosquitto> => {
  const tls = options.tls === true
  const websockets = options.websockets === true
  const mosquittoBin = programPath("MOSQUITTO_BIN", Programs.mosquitto)
  const ports = await freePorts(1 + (tls ? 1 : 0) + (websockets ? 1 : 0) + (tls && websockets ? 1 : 0))
  const tcpPort = ports.shift()!
  const tlsPort = tls ? ports.shift()! : undefined
  const wsPort = websockets ? ports.shift()! : undefined
  const wssPort = tls && websockets ? ports.shift()! : undefined

  const certs = tls ? await generateCertificates(dir) : undefined
  const ca = certs ? await fs.readFile(certs.caPath, "utf8") : undefined

  const lines: Array<string> = [
    "per_listener_settings false",
    "persistence false",
    "max_inflight_messages 0",
    "max_queued_messages 0",
    "log_dest stdout",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    "connection_messages true",
    "log_timestamp true"
  ]
  // As root, mosquitto would switch to the `mosquitto` user, which cannot read our 0700 temp dir.
  if (typeof process.getuid === "function" && process.getuid() === 0) {
    lines.push(`user ${os.userInfo().username}`)
  }
  const users = options.users
  if (users !== undefined) {
    const passwd = programPath("MOSQUITTO_PASSWD_BIN", Programs.mosquittoPasswd)
    const passwordFile = path.join(dir, "passwd")
    await fs.writeFile(passwordFile, "", { mode: 0o600 })
    for (const [username, password] of Object.entries(users)) {
      await run(passwd, ["-b", passwordFile, username, password], dir)
    }
    lines.push("allow_anonymous false", `password_file ${passwordFile}`)
  } else {
    lines.push("allow_anonymous true")
  }
  if (options.maxPacketSize !== undefined) lines.push(`max_packet_size ${options.maxPacketSize}`)
  if (options.extraConfig !== undefined) lines.push(options.extraConfig)

  const tlsLines = certs
    ? [`cafile ${certs.caPath}`, `certfile ${certs.certPath}`, `keyfile ${certs.keyPath}`]
    : []
  lines.push("", `listener ${tcpPort} ${HOST}`)
  if (tlsPort !== undefined) lines.push("", `listener ${tlsPort} ${HOST}`, ...tlsLines)
  // mosquitto 2.0.11 ignores a websockets listener's address and listens on every interface; the
  // interface keeps it on loopback.
  const websocketLines = ["protocol websockets", "bind_interface lo"]
  if (wsPort !== undefined) lines.push("", `listener ${wsPort} ${HOST}`, ...websocketLines)
  if (wssPort !== undefined) lines.push("", `listener ${wssPort} ${HOST}`, ...websocketLines, ...tlsLines)

  const confPath = path.join(dir, "mosquitto.conf")
  await fs.writeFile(confPath, lines.join("\n") + "\n")

  const allPorts = [tcpPort, tlsPort, wsPort, wssPort].filter((p): p is number => p !== undefined)
  let child: Child | undefined
  let output = ""
  const append = (chunk: Buffer) => {
    output += chunk.toString("utf8")
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT)
  }

  /** One attempt: spawn and wait until every listener accepts, or the process dies, or the timeout passes. */
  const spawnOnce = async (deadline: number): Promise<{ ok: true } | { ok: false; reason: string; log: string }> => {
    const proc = spawn(mosquittoBin, ["-c", confPath], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    const current: Child = {
      proc,
      closed: new Promise((resolve) => proc.once("close", () => resolve()))
    }
    child = current
    liveChildren.add(proc)
    void current.closed.then(() => liveChildren.delete(proc))
    let spawnError: Error | undefined
    proc.on("error", (error) => {
      spawnError = error
    })
    let log = ""
    const onData = (chunk: Buffer) => {
      log += chunk.toString("utf8")
      append(chunk)
    }
    proc.stdout!.on("data", onData)
    proc.stderr!.on("data", onData)
    const pending = new Set(allPorts)
    while (pending.size > 0) {
      if (!isAlive(proc) || spawnError !== undefined) {
        await current.closed
        const reason = spawnError
          ? `failed to spawn ${mosquittoBin}: ${spawnError.message}`
          : `exited with ${proc.exitCode ?? proc.signalCode}`
        return { ok: false, reason, log }
      }
      if (Date.now() > deadline) {
        await killChild(current, "SIGKILL")
        const reason = `listeners ${[...pending].join(", ")} not accepting after ${READY_TIMEOUT_MS} ms`
        return { ok: false, reason, log }
      }
      for (const port of [...pending]) {
        if (await tryConnect(port)) pending.delete(port)
      }
      if (pending.size > 0) await sleep(25)
    }
    return { ok: true }
  }

  const start = async (): Promise<void> => {
    if (child !== undefined && isAlive(child.proc)) return
    const deadline = Date.now() + READY_TIMEOUT_MS
    for (let attempt = 1;; attempt++) {
      const result = await spawnOnce(deadline)
      if (result.ok) return
      // A port still held (e.g. briefly after a restart) makes mosquitto exit; retry a few times.
      const retry = attempt < 5 && Date.now() < deadline && /address already in use/i.test(result.log)
      if (!retry) {
        throw new Error(
          `mosquitto failed to start (${result.reason}); config ${confPath}:\n${lines.join("\n")}\n` +
            `--- broker output ---\n${output}`
        )
      }
      await sleep(200 * attempt)
    }
  }

  const stop = async () => {
    if (child !== undefined) await killChild(child, "SIGTERM")
  }
  const kill = async () => {
    if (child !== undefined) await killChild(child, "SIGKILL")
  }

  await start()

  const url = (kind: UrlKind): string => {
    const port = kind === "mqtt" ? tcpPort : kind === "mqtts" ? tlsPort : kind === "ws" ? wsPort : wssPort
    if (port === undefined) throw new Error(`this mosquitto has no ${kind} listener`)
    return kind === "ws" || kind === "wss" ? `${kind}://${HOST}:${port}/mqtt` : `${kind}://${HOST}:${port}`
  }

  return {
    tcpPort,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    ...(wsPort !== undefined ? { wsPort } : {}),
    ...(wssPort !== undefined ? { wssPort } : {}),
    ...(certs !== undefined && ca !== undefined ? { caPath: certs.caPath, ca } : {}),
    dir,
    url,
    output: () => output,
    running: () => child !== undefined && isAlive(child.proc),
    stop,
    start,
    kill,
    dispose: async () => {
      await stop()
      await fs.rm(dir, { recursive: true, force: true })
    }
  }
}

/** A scoped broker: started on acquire, stopped and its temp dir removed on release. */
export const mosquittoResource = (options: MosquittoOptions = {}): Effect.Effect<Mosquitto, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startMosquitto(options)),
    (broker) => Effect.promise(() => broker.dispose())
  )

/** Alias of {@link mosquittoResource}. */
export const withMosquitto = mosquittoResource

// ---------------------------------------------------------------------------------------------------------------------
// Recording subscriber
// ---------------------------------------------------------------------------------------------------------------------

export interface ClientAuthOptions {
  /** CA PEM for mqtts/wss (verification is always on). */
  readonly ca?: string
  readonly username?: string
  readonly password?: string
}

/** mqtt.js client options for a test client: MQTT 5, no automatic reconnect, TLS verified against `ca`. */
export const clientOptions = (options: ClientAuthOptions = {}, extra: IClientOptions = {}): IClientOptions => ({
  protocolVersion: 5,
  reconnectPeriod: 0,
  connectTimeout: 5_000,
  rejectUnauthorized: true,
  ...(options.ca !== undefined ? { ca: options.ca } : {}),
  ...(options.username !== undefined ? { username: options.username } : {}),
  ...(options.password !== undefined ? { password: options.password } : {}),
  ...extra
})

export interface ReceivedMessage {
  readonly topic: string
  readonly payload: Buffer
  readonly qos: number
  readonly retain: boolean
}

export interface Subscriber {
  /** Every message received so far, in arrival order. */
  readonly messages: ReadonlyArray<ReceivedMessage>
  readonly client: MqttClient
  /** Resolves once at least `count` messages arrived; rejects after `timeoutMs` (default 5 s). */
  waitFor(count: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export const subscribe = async (
  url: string,
  topic: string,
  options: ClientAuthOptions = {}
): Promise<Subscriber> => {
  // allowRetries=false: reject (rather than hang) when the connection closes before a CONNACK.
  const client = await connectAsync(url, clientOptions(options, { clean: true }), false)
  const messages: Array<ReceivedMessage> = []
  const waiters = new Set<() => void>()
  client.on("message", (messageTopic, payload, packet) => {
    messages.push({ topic: messageTopic, payload, qos: packet.qos, retain: packet.retain })
    for (const waiter of [...waiters]) waiter()
  })
  try {
    const granted = await client.subscribeAsync(topic, { qos: 1 })
    const failed = granted.find((g) => g.qos > 2)
    if (failed !== undefined) throw new Error(`subscription to ${topic} refused (reason code ${failed.qos})`)
  } catch (error) {
    await client.endAsync(true)
    throw error
  }

  const waitFor = (count: number, timeoutMs = 5_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (messages.length >= count) return resolve()
      const check = () => {
        if (messages.length >= count) {
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${count} message(s) on ${topic} via ${url}: ` +
              `${messages.length} arrived (${messages.map((m) => m.topic).join(", ")})`
          )
        )
      }, timeoutMs)
      waiters.add(check)
    })

  return {
    messages,
    client,
    waitFor,
    close: () => client.endAsync()
  }
}
