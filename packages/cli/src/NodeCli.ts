/**
 * The Node.js services the command line runs on: what `effect/cli` asks of its environment
 * (`Command.Environment`: file system, path, standard input and output, terminal, child processes),
 * each from `@effect/platform-node-shared`.
 *
 * It is `@effect/platform-node`'s `NodeServices.layer`, composed here from the same modules so that
 * the CLI does not depend on `@effect/platform-node`, whose required `redis` peer npm and pnpm would
 * install into every project that installs the CLI.
 *
 * @since 0.2.0
 */
import * as NodeChildProcessSpawner from "@effect/platform-node-shared/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node-shared/NodeFileSystem"
import * as NodePath from "@effect/platform-node-shared/NodePath"
import * as NodeStdio from "@effect/platform-node-shared/NodeStdio"
import * as NodeTerminal from "@effect/platform-node-shared/NodeTerminal"
import { Layer } from "effect"
import type { Command } from "effect/cli"

/**
 * The services `layer` provides: `effect/cli`'s `Command.Environment`, which `Cli.run` needs.
 *
 * @since 0.2.0
 * @category models
 */
export type NodeCli = Command.Environment

/**
 * Node.js's file system, path, standard input and output, terminal and child processes, for
 * `Cli.run`.
 *
 * @example
 * ```ts
 * import { Cli, NodeCli } from "@stellanow/cli"
 * import { Effect } from "effect"
 *
 * Cli.run(process.argv, { version: "0.2.0" }).pipe(Effect.provide(NodeCli.layer))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<NodeCli> = Layer.provideMerge(
  // The spawner checks and resolves a command's working directory with the file system and paths.
  NodeChildProcessSpawner.layer,
  Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeStdio.layer, NodeTerminal.layer)
)
