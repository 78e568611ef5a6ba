/**
 * The StellaNow CLI as a library: the console's definitions, the code generator, the output directory,
 * the command line, and the Node.js services it runs on.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./Cli.js"

/** @since 0.1.0 */
export * as EventDefinition from "./EventDefinition.js"

/** @since 0.1.0 */
export * as Generator from "./Generator.js"

/** @since 0.1.0 */
export * as GeneratorError from "./GeneratorError.js"

/** @since 0.2.0 */
export * as NodeCli from "./NodeCli.js"

/** @since 0.1.0 */
export * as Output from "./Output.js"
