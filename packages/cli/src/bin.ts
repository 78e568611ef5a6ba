#!/usr/bin/env node
/**
 * The `stellanow` executable.
 *
 * @since 0.1.0
 */
// One module each, not the package's index: the index also loads NodeRedis, whose `redis` peer the CLI
// does not install.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as Cli from "./Cli.js"

const { version } = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  readonly version: string
}

// Errors are printed by `Cli.run`; the runtime only sets the exit code.
Cli.run(process.argv, { version }).pipe(
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
