/**
 * Entry point of the benchmarks' child processes: `child.ts memory <count>` or
 * `child.ts cold-start <brokerUrl>`. Prints one line of JSON. Imports nothing of the SDK up front, so
 * the cold start measures its import.
 */
const [section, argument] = process.argv.slice(2)

const result = section === "memory"
  ? await (await import("./memory.js")).measure(Number(argument))
  : section === "cold-start"
  ? await (await import("./coldStart.js")).measure(argument!)
  : undefined
if (result === undefined) throw new Error(`unknown benchmark child ${String(section)}`)
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
