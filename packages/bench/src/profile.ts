/**
 * One path of the user-path benchmark, alone, for a CPU profile:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx src/profile.ts sdk|effect|raw [messages] [runs]
 *
 * (in packages/bench, after `pnpm --filter @stellanow/sdk run build`). Starts its own mosquitto and
 * subscriber; prints each run's rate on standard error.
 */
import { startMosquitto } from "../../sdk/test/support/Mosquitto.js"
import { startSubscriber } from "./subscriber.js"
import { progress, round } from "./support.js"
import { type Path, runEffectApi, runPromiseFrontDoor, runRawPerMessage } from "./userPath.js"

const [path = "sdk", messages = "50000", runs = "3"] = process.argv.slice(2)
const runner = { sdk: runPromiseFrontDoor, effect: runEffectApi, raw: runRawPerMessage }[path as Path]
if (runner === undefined) throw new Error(`unknown path ${path}: sdk, effect or raw`)
const broker = await startMosquitto({ extraConfig: "max_queued_messages 0\n" })
const subscriber = await startSubscriber(broker.url("mqtt"))
try {
  for (let i = 0; i < Number(runs); i++) {
    const run = await runner(broker.url("mqtt"), subscriber, Number(messages), 1000)
    progress(`${path}: ${round(run.msgsPerSecond)} msg/s, ${round(run.cpuMicrosPerMessage, 1)} CPU µs/msg`)
  }
} finally {
  subscriber.close()
  await broker.dispose()
}
