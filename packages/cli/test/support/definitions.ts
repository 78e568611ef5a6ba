import type * as EventDefinition from "../../src/EventDefinition.js"

type Field = {
  name: string
  fieldType: { value: string; modelRef?: string }
  required?: boolean
}

/** A field of an event (`required` given) or of a model (no `required` key, as the console writes it). */
export const field = (name: string, value: string, options: { required?: boolean; modelRef?: string } = {}): Field => ({
  name,
  fieldType: options.modelRef === undefined ? { value } : { value, modelRef: options.modelRef },
  ...(options.required === undefined ? {} : { required: options.required })
})

export const event = (
  name: string,
  fields: ReadonlyArray<Field>,
  entities: ReadonlyArray<string> = ["patron"]
): EventDefinition.Event => ({
  id: `id-${name}`,
  name,
  fields,
  entities: entities.map((entity) => ({ name: entity }))
})

export const model = (name: string, fields: ReadonlyArray<Field>, id = `id-${name}`): EventDefinition.Model => ({
  id,
  name,
  fields
})

export const definitions = (
  events: ReadonlyArray<EventDefinition.Event>,
  models: ReadonlyArray<EventDefinition.Model> = []
): EventDefinition.Definitions => ({ events, models })
