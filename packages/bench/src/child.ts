/**
 * Entry point of the benchmarks' child processes: `child.ts memory <count>`,
 * `child.ts cold-start <brokerUrl>`, `child.ts latency <brokerUrl> <rate> <seconds> <maxInFlight>` or
 * `child.ts costs`. Prints one line of JSON. Imports nothing of the SDK up front, so the cold start
 * measures its import. `child.ts subscribe <brokerUrl>` is the user path's subscriber (`subscriber.ts`),
 * which runs until its standard input closes.
 */
const [section, argument, ...rest] = process.argv.slice(2)

if (section === "subscribe") {
  await (await import("./subscriber.js")).serve(argument!)
} else {
  await measure()
}

async function measure() {
  const result = section === "memory"
    ? await (await import("./memory.js")).measure(Number(argument))
    : section === "cold-start"
    ? await (await import("./coldStart.js")).measure(argument!)
    : section === "latency"
    ? await (await import("./latency.js")).latency(argument!, {
      rate: Number(rest[0]),
      seconds: Number(rest[1]),
      maxInFlight: Number(rest[2])
    })
    : section === "costs"
    ? await (await import("./costs.js")).costs()
    : undefined
  if (result === undefined) throw new Error(`unknown benchmark child ${String(section)}`)
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}
