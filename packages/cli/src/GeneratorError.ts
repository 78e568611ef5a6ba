/**
 * The error of the code generator: the definitions could not be read, or describe something that
 * cannot be generated. It names the event or model and the field at fault.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Why the definitions could not be read or generated:
 *
 * - `InvalidInput`: the input is not JSON, or not shaped like the console's definitions (WIRE.md §8).
 * - `MissingEntity`: an event has no entity, so it could never be sent.
 * - `UnknownFieldType`: a field type the generator does not know.
 * - `UnknownModel`: a `Model` field whose `modelRef` is missing or names no model.
 * - `ModelCycle`: models that contain each other.
 * - `InvalidName`: a name that cannot become a class, a file or a key.
 * - `DuplicateName`: two fields or entities of one definition with the same name, or a field named
 *   like an entity or like the origin date.
 * - `NameCollision`: two definitions that would make the same class or file.
 * - `UnknownEvent`: an event selected by name that the definitions do not have.
 *
 * @since 0.1.0
 * @category models
 */
export const Reason = Schema.Literals([
  "InvalidInput",
  "MissingEntity",
  "UnknownFieldType",
  "UnknownModel",
  "ModelCycle",
  "InvalidName",
  "DuplicateName",
  "NameCollision",
  "UnknownEvent"
])

/**
 * @since 0.1.0
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * The definitions could not be read or generated. `message` reads like
 * `event "user_login", field "timestamp": unknown field type "Timestamp" ...`.
 *
 * @since 0.1.0
 * @category errors
 */
export class GeneratorError extends Schema.TaggedError<GeneratorError>("@stellanow/cli/GeneratorError")(
  "GeneratorError",
  {
    reason: Reason,
    /** The event's name, when the problem is in an event. */
    event: Schema.optional(Schema.String),
    /** The model's name, when the problem is in a model. */
    model: Schema.optional(Schema.String),
    /** The field's (or entity's) name, when the problem is in one. */
    field: Schema.optional(Schema.String),
    /** What is wrong, in words. */
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect())
  }
) {
  // Named by its tag, as in 0.1: Effect 4 would name it by its schema identifier.
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    const where = [
      this.event === undefined ? undefined : `event ${JSON.stringify(this.event)}`,
      this.model === undefined ? undefined : `model ${JSON.stringify(this.model)}`,
      this.field === undefined ? undefined : `field ${JSON.stringify(this.field)}`
    ].filter((part) => part !== undefined).join(", ")
    return where === "" ? this.detail : `${where}: ${this.detail}`
  }
}
