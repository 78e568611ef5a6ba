/**
 * The code generator: console definitions in, TypeScript modules out. One module per event
 * (`user-details-update-message.ts`, a `Message.Class`) and per model (`phone-number-model.ts`, a
 * `Model.Class`), and an `index.ts`. Pure and deterministic: the same definitions give the same bytes.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type * as EventDefinition from "./EventDefinition.js"
import { GeneratorError } from "./GeneratorError.js"
import * as Render from "./internal/render.js"
import * as Resolve from "./internal/resolve.js"

/**
 * The first line of every generated file. Files that start with it belong to the generator: it may
 * overwrite them, and removes them when their definition is gone. Other files are never touched.
 *
 * @since 0.1.0
 * @category constants
 */
export const header = Render.header

/**
 * Whether a file's content was written by the generator (it starts with {@link header}).
 *
 * @since 0.1.0
 * @category guards
 */
export const isGenerated = (content: string): boolean => {
  const newline = content.indexOf("\n")
  return (newline === -1 ? content : content.slice(0, newline)).trimEnd() === header
}

/**
 * The module the generated code imports `Field`, `Message` and `Model` from.
 *
 * @since 0.1.0
 * @category constants
 */
export const sdkModule = Render.sdkModule

/**
 * The SDK's field kind for each console field type but `Model`, which becomes the model's class.
 *
 * @since 0.1.0
 * @category constants
 */
export const fieldKinds: Readonly<Record<string, string>> = Resolve.fieldKinds

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Generate only the events with these names (and the models they use). Empty or absent: every event
   * and every model.
   */
  readonly events?: ReadonlyArray<string> | undefined
}

/**
 * Generated files, keyed by their path relative to the output directory, sorted by path.
 *
 * @since 0.1.0
 * @category models
 */
export type Files = ReadonlyMap<string, string>

/**
 * Generates the modules for a set of definitions. Fails, generating nothing, when an event has no
 * entity, a field's type is unknown, a `modelRef` names no model, models contain each other, or names
 * clash; the error names the event or model and the field.
 *
 * @since 0.1.0
 * @category generating
 */
export const generate = (
  definitions: EventDefinition.Definitions,
  options: Options = {}
): Result.Result<Files, GeneratorError> =>
  Result.try({
    // The checks throw (a `GeneratorError`) rather than thread a `Result` through every step.
    try: () => Render.render(Resolve.resolve(definitions, options.events ?? [])),
    catch: (error) => {
      if (error instanceof GeneratorError) return error
      throw error
    }
  })
