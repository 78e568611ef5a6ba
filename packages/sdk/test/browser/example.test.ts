/**
 * The README's browser example as a user meets it: `npm run demo:browser`, run verbatim from the
 * repository's root, serves `examples/browser` with its embedded broker; the page, opened in real
 * Chromium, sends the seed's ten events through `@stellanow/sdk/browser` (its own MQTT client, MQTT
 * 3.1.1 to aedes over ws://), and the broker prints each one it received.
 */
import { afterEach, assert, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { freePorts } from "../support/Mosquitto.js"
import * as Chromium from "./support/Chromium.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..")

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

/** Ends the command and everything it started (npm, pnpm, tsx, the server). */
const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    process.kill(-child.pid!, "SIGTERM")
  })

/** Runs `npm run demo:browser` on `port`; resolves with its output so far once it serves the page. */
const serve = async (port: number) => {
  const child = spawn("npm", ["run", "demo:browser"], {
    cwd: root,
    env: { ...process.env, PORT: String(port) },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  cleanups.push(() => stop(child))
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start within 120 s:\n${output}`)), 120_000)
    const check = () => {
      if (!output.includes("the browser example: open")) return
      clearTimeout(timer)
      resolve()
    }
    child.stdout!.on("data", check)
    child.once("exit", (code) => reject(new Error(`npm run demo:browser exited (${code}):\n${output}`)))
  })
  return { output: () => output }
}

Chromium.describeInChromium("the browser example (npm run demo:browser, Chromium)", () => {
  it("the page sends the seed's ten events, each acknowledged, and the broker receives all ten", async () => {
    const [port] = await freePorts(1)
    const server = await serve(port!)
    const browser = await Chromium.launch()
    cleanups.push(() => browser.close())
    const page = await browser.open(`http://localhost:${port}/`)
    let state = "starting"
    for (let i = 0; i < 120 && state !== "done" && state !== "failed"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      state = await page.evaluate<string>(`document.getElementById("status").dataset.state`)
    }
    const status = await page.evaluate<string>(`document.getElementById("status").textContent`)
    const log = await page.evaluate<string>(`document.getElementById("log").textContent`)
    assert.strictEqual(status, "all 10 acknowledged; 0 left in the queue", `${log}\n${page.log().join("\n")}`)
    assert.strictEqual(log.split("\n").filter((line) => line.startsWith("acknowledged ")).length, 10)
    const received = () => server.output().split("\n").filter((line) => line.startsWith("broker received"))
    for (let i = 0; i < 40 && received().length < 10; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.strictEqual(received().length, 10, server.output())
  }, 180_000)
})
