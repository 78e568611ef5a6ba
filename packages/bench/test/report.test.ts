/**
 * The bench's report renders: a recorded quick run's JSON (`fixtures/quick-run.json`, written by
 * `pnpm bench --quick --out`) printed as the tables `pnpm bench` prints. A report that cannot render
 * throws only at the end of a run of minutes, after every figure was measured; this catches it at once.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { type Report, table } from "../src/report.js"

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "quick-run.json")
const recorded = JSON.parse(fs.readFileSync(fixture, "utf8")) as Report

describe("the bench's report", () => {
  const text = table(recorded)

  it("prints every section, in the order RESULTS.md quotes them", () => {
    const sections = [
      "StellaNow SDK benchmarks (quick)",
      "The user's path:",
      "Costs apart",
      "Diagnostic, the delivery half alone",
      "Latency:",
      "Memory:",
      "Persistent queue:",
      "Bundle:",
      "| target | measured |  |"
    ]
    const at = sections.map((section) => text.indexOf(section))
    expect(at.every((index) => index >= 0), `missing: ${sections.filter((_, i) => at[i]! < 0).join(", ")}`).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
  })

  it("prints the recorded figures and marks each target met or missed as the JSON says", () => {
    expect(text).toContain(`| **median** | ${recorded.user_path.sdk_msgs_per_s} |`)
    expect(text).toContain(
      `| browser (esbuild) | ${recorded.bundle.browser.min_bytes} | ${recorded.bundle.browser.min_gzip_bytes} |`
    )
    const mark = (met: boolean) => (met ? "met" : "MISSED")
    const browserTarget = text.split("\n").find((line) => line.startsWith("| browser app minified + gzipped"))
    expect(browserTarget).toMatch(new RegExp(`\\| ${mark(recorded.targets.browser_bundle_at_most_150_kb)} \\|$`))
    const userTarget = text.split("\n").find((line) => line.startsWith("| user path, await sdk.sendMessage / raw"))
    expect(userTarget).toMatch(new RegExp(`\\| ${mark(recorded.targets.user_path_ratio_at_least_0_9)} \\|$`))
  })
})
