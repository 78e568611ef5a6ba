#!/usr/bin/env node
/**
 * The `stellanow` executable.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node-shared/NodeRuntime"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as Cli from "./Cli.js"
import * as NodeCli from "./NodeCli.js"

const { version } = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  readonly version: string
}

// Errors are printed by `Cli.run`; the runtime only sets the exit code.
Cli.run(process.argv, { version }).pipe(
  Effect.provide(NodeCli.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
