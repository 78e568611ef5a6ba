/**
 * Models: the nested objects an event's fields may hold (a `Model` field in the console).
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Schema from "effect/Schema"
import * as Construct from "./internal/construct.js"
import * as Payload from "./internal/payload.js"
import * as Validation from "./internal/validation.js"

/**
 * Declares a model class. Its fields are keyed by their wire names and declared in wire order; an
 * optional field left out goes on the wire as `null`.
 *
 * ```ts
 * class PhoneNumberModel extends Model.Class<PhoneNumberModel>("PhoneNumberModel")({
 *   country_code: Field.optional(Field.Integer),
 *   number: Field.optional(Field.Integer)
 * }) {}
 * ```
 *
 * Making one with a bad value throws a `ValidationError` naming the model, the field's dotted path and
 * the rule: `model "PhoneNumberModel", field "country_code": Expected an integer, actual 1.5`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Class = <Self = never>(identifier: string) =>
<const Fields extends Schema.Struct.Fields>(
  fields: Fields
): Schema.Class<Self, Schema.Struct<Fields>, {}> => {
  const Base: any = Schema.Class<unknown>(identifier)(fields)
  const modelFields = Payload.modelFieldsOf(fields)
  const context = { model: identifier }
  const construct = Construct.make(fields)
  const Model = class extends Base {
    constructor(props: unknown, options?: Schema.MakeOptions) {
      if (options === undefined) {
        // Props the schema takes as they are: copied onto the instance it would make (see internal/construct.ts).
        const instance = construct(props, new.target.prototype)
        if (instance !== undefined) return instance
      }
      const notModel = Validation.notModels(modelFields, props)
      if (notModel !== undefined) throw Validation.fromIssue(notModel, context)
      try {
        super(props, Validation.makeOptions(options))
      } catch (error) {
        throw Validation.rethrow(error, context)
      }
    }
  }
  Payload.registerModel(Model as any)
  return Model as any
}
