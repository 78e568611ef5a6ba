/**
 * Runs `fixtures/sdk-process.ts` as a real child process (`node --import tsx`, the workspace's
 * tsconfig paths resolving `@stellanow/sdk` and `@stellanow/sdk-sql` to their sources), and reads its
 * line protocol.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const workspace = path.resolve(here, "../../../..")
const script = path.resolve(here, "../fixtures/sdk-process.ts")

export interface SdkProcessConfig {
  readonly store:
    | { readonly kind: "sqlite"; readonly filename: string }
    | { readonly kind: "pg"; readonly url: string; readonly table: string; readonly leaseDuration: string }
  readonly brokerUrl: string
  readonly mode: "queue" | "deliver"
  readonly count?: number
}

export interface SdkProcess {
  readonly pid: number
  /** Message ids whose `sendMessage` returned, as reported. */
  readonly queued: ReadonlyArray<string>
  /** Resolves with the first line (past or future) matching, rejects if the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  send(line: string): void
  /** Sends the signal and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>
  /** Resolves with the exit code once the process exited. */
  readonly exited: Promise<number | null>
  stderr(): string
}

const live = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL")
})

export const spawnSdkProcess = (config: SdkProcessConfig): SdkProcess => {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: workspace,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: path.join(workspace, "tsconfig.json"),
      STELLANOW_CHILD: JSON.stringify({ count: 0, ...config })
    },
    stdio: ["pipe", "pipe", "pipe"]
  })
  live.add(child)
  const lines: Array<string> = []
  const queued: Array<string> = []
  const waiters = new Set<() => void>()
  let stderr = ""
  let buffered = ""
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      live.delete(child)
      exitCode = code
      resolve(code)
      for (const waiter of [...waiters]) waiter()
    })
  )
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk
    const parts = buffered.split("\n")
    buffered = parts.pop()!
    for (const line of parts) {
      if (line.startsWith("queued ")) queued.push(line.slice(7))
      else lines.push(line)
    }
    for (const waiter of [...waiters]) waiter()
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-64 * 1024)
  })
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines.find((line) => pattern.test(line))
        if (found !== undefined) {
          done()
          resolve(found)
        } else if (exitCode !== undefined) {
          done()
          reject(new Error(`the SDK process exited (${exitCode}) before printing ${pattern}\n${stderr}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no ${pattern} from the SDK process within ${timeoutMs} ms\n${stderr}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  return {
    pid: child.pid!,
    queued,
    waitFor,
    send: (line) => void child.stdin!.write(`${line}\n`),
    kill: async (signal) => {
      if (exitCode === undefined) child.kill(signal)
      await exited
    },
    exited,
    stderr: () => stderr
  }
}
