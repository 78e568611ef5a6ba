/**
 * Headless Chromium driven over the DevTools protocol: one browser per test file, pages opened on
 * URLs, scripts evaluated in them (their promises awaited, their results returned as JSON), reloads.
 * Node's global WebSocket speaks the protocol; nothing is downloaded. The machine's Chromium is used
 * (Debian's `chromium` package, or `CHROMIUM_BIN`).
 */
import { describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Programs from "../../support/Programs.js"

/** Debian's Chromium (`/usr/bin/chromium`, a script that starts the real binary). */
export const chromium: Programs.Program = { name: "chromium", debianPackage: "chromium" }

/** Chromium's path, or why the browser tests cannot run. */
export const findChromium = (): { readonly path: string } | { readonly missing: Error } => {
  const fromEnv = process.env.CHROMIUM_BIN
  if (fromEnv !== undefined && fromEnv !== "") return { path: fromEnv }
  try {
    return { path: Programs.findProgram(chromium) }
  } catch (error) {
    return { missing: error as Error }
  }
}

/**
 * Whether the browser tests run: with Chromium installed, always; without it they are skipped with
 * the reason in their name, except under CI (`CI=true`), where a missing Chromium is a failure.
 */
export const availability = (): { readonly run: true } | { readonly run: false; readonly reason: string } => {
  const found = findChromium()
  if ("path" in found || process.env.CI === "true") return { run: true }
  const reason = `SKIPPED, the browser tests: ${found.missing.message}`
  // Said where it is seen: vitest's summary counts skipped tests without their names.
  console.warn(reason)
  return { run: false, reason }
}

/** `describe`, or, when the browser tests cannot run, a skipped suite whose name says why. */
export const describeInChromium = (name: string, body: () => void): void => {
  const available = availability()
  if (available.run) describe(name, body)
  else describe.skip(`${name} (${available.reason})`, () => it("needs Chromium", () => {}))
}

const LAUNCH_TIMEOUT_MS = 20_000
const LOG_LIMIT = 200

interface Pending {
  readonly resolve: (result: any) => void
  readonly reject: (error: Error) => void
  readonly method: string
}

type Listener = (params: any, sessionId: string | undefined) => void

/** One DevTools connection: commands answered by id, events to listeners. */
class Connection {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly listeners = new Set<{ method: string; listener: Listener }>()

  constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => this.receive(JSON.parse(String(event.data))))
    socket.addEventListener("close", () => {
      for (const pending of this.pending.values()) pending.reject(new Error(`${pending.method}: Chromium went away`))
      this.pending.clear()
    })
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method })
      this.socket.send(JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) }))
    })
  }

  on(method: string, listener: Listener): () => void {
    const entry = { method, listener }
    this.listeners.add(entry)
    return () => this.listeners.delete(entry)
  }

  close(): void {
    this.socket.close()
  }

  private receive(message: any): void {
    if (typeof message.id === "number") {
      const pending = this.pending.get(message.id)
      this.pending.delete(message.id)
      if (message.error !== undefined) {
        pending?.reject(new Error(`${pending.method}: ${message.error.message}`))
      } else {
        pending?.resolve(message.result)
      }
      return
    }
    for (const { listener, method } of [...this.listeners]) {
      if (method === message.method) listener(message.params, message.sessionId)
    }
  }
}

/** A page (a tab) of the browser. */
export interface Page {
  /** Evaluates `expression` in the page, awaiting a promise; its result as JSON. Throws the page's error. */
  evaluate<A = unknown>(expression: string): Promise<A>
  /** Reloads the page and waits for its `load` event. */
  reload(): Promise<void>
  /** The page's console messages and uncaught errors so far (the last 200), for failure messages. */
  log(): ReadonlyArray<string>
  close(): Promise<void>
}

export interface Browser {
  /** Opens a new tab on `url` and waits for its `load` event. */
  open(url: string): Promise<Page>
  close(): Promise<void>
}

const describeRemote = (value: any): string =>
  value?.value !== undefined ? String(value.value) : value?.description ?? value?.type ?? "?"

/**
 * A host name Chromium resolves to 127.0.0.1: a page served there is not a secure context (no
 * `crypto.randomUUID`, no Web Locks), as a page of a plain-http site is. 127.0.0.1 itself is secure.
 */
export const insecureHost = "insecure.test"

/** Browsers still running when the test process exits are killed, so a failed test never leaks one. */
const running = new Set<ChildProcess>()
let exitHookInstalled = false
const killOnExit = (proc: ChildProcess) => {
  running.add(proc)
  proc.once("close", () => running.delete(proc))
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once("exit", () => running.forEach((child) => child.kill("SIGKILL")))
}

/** Starts Chromium with the DevTools protocol on a free loopback port and connects to it. */
export const launch = async (): Promise<Browser> => {
  const found = findChromium()
  if ("missing" in found) throw found.missing
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "stellanow-chromium-"))
  const proc = spawn(found.path, [
    "--headless",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    // Timers run on time in every tab: a test's page is not a background tab to be throttled.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    `--host-resolver-rules=MAP ${insecureHost} 127.0.0.1`,
    // Chromium's sandbox cannot start as root (containers, CI).
    ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
    "about:blank"
  ], { stdio: ["ignore", "ignore", "pipe"] })
  killOnExit(proc)
  const closed = new Promise<void>((resolve) => proc.once("close", () => resolve()))
  const cleanUp = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL")
    await closed
    fs.rmSync(profile, { recursive: true, force: true })
  }
  try {
    const endpoint = await devToolsEndpoint(proc, found.path)
    const socket = new WebSocket(endpoint)
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true })
      socket.addEventListener("error", () => reject(new Error(`cannot connect to Chromium at ${endpoint}`)), {
        once: true
      })
    })
    const connection = new Connection(socket)
    return {
      open: (url) => openPage(connection, url),
      close: async () => {
        await connection.send("Browser.close").catch(() => undefined)
        connection.close()
        await cleanUp()
      }
    }
  } catch (error) {
    await cleanUp()
    throw error
  }
}

/** The browser's DevTools WebSocket URL, which Chromium prints on stderr once it listens. */
const devToolsEndpoint = (proc: ChildProcess, program: string): Promise<string> =>
  new Promise((resolve, reject) => {
    let stderr = ""
    const timer = setTimeout(
      () => fail(`Chromium (${program}) did not open its DevTools port within ${LAUNCH_TIMEOUT_MS} ms`),
      LAUNCH_TIMEOUT_MS
    )
    const fail = (why: string) => {
      clearTimeout(timer)
      reject(new Error(`${why}; its output:\n${stderr.slice(-4_000)}`))
    }
    proc.once("error", (error) => fail(`cannot start Chromium (${program}): ${error.message}`))
    proc.once("exit", (code, signal) => fail(`Chromium (${program}) exited with ${code ?? signal}`))
    proc.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(stderr)
      if (match !== null) {
        clearTimeout(timer)
        proc.removeAllListeners("exit")
        resolve(match[1]!)
      }
    })
  })

const openPage = async (connection: Connection, url: string): Promise<Page> => {
  const { targetId } = await connection.send("Target.createTarget", { url: "about:blank" })
  const { sessionId } = await connection.send("Target.attachToTarget", { targetId, flatten: true })
  const send = (method: string, params: object = {}) => connection.send(method, params, sessionId)
  const log: Array<string> = []
  const record = (line: string) => {
    log.push(line)
    if (log.length > LOG_LIMIT) log.shift()
  }
  const own = (listener: Listener): Listener => (params, from) => from === sessionId && listener(params, from)
  connection.on(
    "Runtime.consoleAPICalled",
    own((params) => record(`console.${params.type}: ${params.args.map(describeRemote).join(" ")}`))
  )
  connection.on(
    "Runtime.exceptionThrown",
    own((params) => record(`uncaught: ${describeRemote(params.exceptionDetails.exception)}`))
  )
  const loaded = () =>
    new Promise<void>((resolve) => {
      const off = connection.on("Page.loadEventFired", own(() => (off(), resolve())))
    })
  await send("Page.enable")
  await send("Runtime.enable")
  const navigate = async (to: string) => {
    const load = loaded()
    const { errorText } = await send("Page.navigate", { url: to })
    if (errorText !== undefined) throw new Error(`cannot open ${to}: ${errorText}`)
    await load
  }
  await navigate(url)
  return {
    evaluate: async (expression) => {
      const { exceptionDetails, result } = await send("Runtime.evaluate", {
        expression,
        awaitPromise: true,
        returnByValue: true
      })
      if (exceptionDetails !== undefined) {
        throw new Error(
          `in the page: ${describeRemote(exceptionDetails.exception) ?? exceptionDetails.text}\n` +
            `--- page log ---\n${log.join("\n")}`
        )
      }
      return result.value
    },
    reload: async () => {
      const load = loaded()
      await send("Page.reload")
      await load
    },
    log: () => [...log],
    close: () => connection.send("Target.closeTarget", { targetId }).then(() => undefined)
  }
}
