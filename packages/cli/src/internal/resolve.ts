/**
 * Checks console definitions and resolves them into what the generator writes: the events asked for,
 * the models they reach, each field's SDK kind or model, and a class and file name for each. Every
 * check of the generator is here, made in a fixed order so that the same definitions always fail the
 * same way; a failed check throws a `GeneratorError`, which `Generator.generate` returns.
 */
import type * as EventDefinition from "../EventDefinition.js"
import { GeneratorError } from "../GeneratorError.js"
import * as Naming from "./naming.js"

/** The SDK's field kind for each console field type but `Model`, which becomes the model's class. */
export const fieldKinds: Readonly<Record<string, string>> = {
  String: "Field.String",
  Integer: "Field.Integer",
  Decimal: "Field.Decimal",
  Boolean: "Field.Boolean",
  Date: "Field.Date",
  DateTime: "Field.DateTime",
  Any: "Field.Any"
}

/** A field, checked: its kind is an SDK field kind, or the model it holds. */
export interface ResolvedField {
  readonly name: string
  readonly required: boolean
  /** `Field.String`, ...; or the referenced model. */
  readonly kind: string | EventDefinition.Model
}

/** An event to generate, with its fields checked. */
export interface ResolvedEvent {
  readonly event: EventDefinition.Event
  readonly fields: ReadonlyArray<ResolvedField>
}

/** A model to generate, with its fields checked. */
export interface ResolvedModel {
  readonly model: EventDefinition.Model
  readonly fields: ReadonlyArray<ResolvedField>
}

/** The class a definition becomes and the file it is written to. */
export interface Names {
  readonly className: string
  readonly fileName: string
}

/** Everything there is to generate, checked. */
export interface Plan {
  /** In the definitions' order. */
  readonly events: ReadonlyArray<ResolvedEvent>
  /** In the definitions' order: every model, or those the selected events reach. */
  readonly models: ReadonlyArray<ResolvedModel>
  /** Unique class names, and file names unique even on a case-insensitive file system. */
  readonly names: ReadonlyMap<EventDefinition.Event | EventDefinition.Model, Names>
}

/**
 * Checks the definitions and resolves the events named in `wanted` (every event when it is empty) and
 * the models they use (every model when it is empty).
 */
export const resolve = (definitions: EventDefinition.Definitions, wanted: ReadonlyArray<string>): Plan => {
  const index = indexModels(definitions.models)
  const events = selectEvents(definitions.events, wanted).map((event) => resolveEvent(index, event))
  const models = resolveModels(index, wanted.length === 0 ? "every" : events)
  checkNoCycles(models)
  return { events, models, names: assignNames(events, models) }
}

// -----------------------------------------------------------------------------------------------------
// failing
// -----------------------------------------------------------------------------------------------------

type Where = { readonly event: string } | { readonly model: string }

const fail = (
  reason: GeneratorError["reason"],
  where: Where | {},
  detail: string,
  field?: string
): never => {
  throw new GeneratorError({ reason, ...where, ...(field === undefined ? {} : { field }), detail })
}

const quoteList = (names: Iterable<string>): string => {
  const list = [...names].map(Naming.literal)
  return list.length === 0 ? "none" : list.join(", ")
}

// -----------------------------------------------------------------------------------------------------
// models and events
// -----------------------------------------------------------------------------------------------------

/** The models a `modelRef` can name. */
interface ModelIndex {
  /** The model with this id or, when the name is unique, this name. */
  readonly find: (ref: string) => EventDefinition.Model | undefined
  /** Every model, in the definitions' order. */
  readonly all: ReadonlyArray<EventDefinition.Model>
}

/** Models by id (which must be unique); a modelRef may also give a model's name when that name is unique. */
const indexModels = (models: ReadonlyArray<EventDefinition.Model>): ModelIndex => {
  const byId = new Map<string, EventDefinition.Model>()
  for (const model of models) {
    const other = byId.get(model.id)
    if (other !== undefined) {
      fail(
        "NameCollision",
        { model: model.name },
        `models ${Naming.literal(other.name)} and ${Naming.literal(model.name)} have the same id ${
          Naming.literal(model.id)
        }`
      )
    }
    byId.set(model.id, model)
  }
  const find = (ref: string): EventDefinition.Model | undefined => {
    const found = byId.get(ref)
    if (found !== undefined) return found
    const named = models.filter((model) => model.name === ref)
    return named.length === 1 ? named[0] : undefined
  }
  return { find, all: models }
}

/** The events asked for, each of which must exist; all of them when none is asked for. */
const selectEvents = (
  events: ReadonlyArray<EventDefinition.Event>,
  wanted: ReadonlyArray<string>
): ReadonlyArray<EventDefinition.Event> => {
  for (const name of wanted) {
    if (!events.some((event) => event.name === name)) {
      fail(
        "UnknownEvent",
        { event: name },
        `no event has this name; the definitions have ${quoteList(events.map((e) => e.name))}`
      )
    }
  }
  return wanted.length === 0 ? events : events.filter((event) => wanted.includes(event.name))
}

const originDateKey = "messageOriginDateUTC"

/** An event with at least one entity, its entities' names and its fields checked. */
const resolveEvent = (index: ModelIndex, event: EventDefinition.Event): ResolvedEvent => {
  const where = { event: event.name }
  if (event.entities.length === 0) {
    fail("MissingEntity", where, "the event has no entity, and a message must be about at least one")
  }
  // The keys of a message's constructor the fields cannot take, and who has them.
  const taken = new Map<string, string>([[originDateKey, "the origin date"]])
  for (const [i, entity] of event.entities.entries()) {
    if (entity.name === "") fail("InvalidName", where, `entity #${i + 1} has an empty name`, entity.name)
    if (entity.name === "__proto__") fail("InvalidName", where, "\"__proto__\" cannot be an entity name", entity.name)
    const takenBy = taken.get(entity.name)
    if (takenBy !== undefined) fail("DuplicateName", where, `the entity's name is taken by ${takenBy}`, entity.name)
    taken.set(entity.name, `the entity ${Naming.literal(entity.name)}, whose id is the constructor key`)
  }
  return { event, fields: resolveFields(index, where, event.fields, taken) }
}

/**
 * The models to generate, each with its fields checked: `"every"` model, or those the given events
 * reach, through other models too.
 */
const resolveModels = (
  index: ModelIndex,
  from: "every" | ReadonlyArray<ResolvedEvent>
): ReadonlyArray<ResolvedModel> => {
  const resolved = new Map<EventDefinition.Model, ReadonlyArray<ResolvedField>>()
  const resolveModel = (model: EventDefinition.Model): ReadonlyArray<ResolvedField> => {
    const known = resolved.get(model)
    if (known !== undefined) return known
    const fields = resolveFields(index, { model: model.name }, model.fields, new Map())
    resolved.set(model, fields)
    return fields
  }
  const reach = (fields: ReadonlyArray<ResolvedField>): void => {
    for (const field of fields) {
      if (typeof field.kind !== "string" && !resolved.has(field.kind)) reach(resolveModel(field.kind))
    }
  }
  if (from === "every") {
    for (const model of index.all) resolveModel(model)
  } else {
    for (const { fields } of from) reach(fields)
  }
  return index.all.flatMap((model) => {
    const fields = resolved.get(model)
    return fields === undefined ? [] : [{ model, fields }]
  })
}

// -----------------------------------------------------------------------------------------------------
// fields
// -----------------------------------------------------------------------------------------------------

/** The fields of one event or model, their names unique and not `taken`, their types known. */
const resolveFields = (
  index: ModelIndex,
  where: Where,
  fields: ReadonlyArray<EventDefinition.Field>,
  taken: ReadonlyMap<string, string>
): ReadonlyArray<ResolvedField> => {
  const seen = new Set<string>()
  return fields.map((field, i): ResolvedField => {
    if (field.name === "") fail("InvalidName", where, `field #${i + 1} has an empty name`, field.name)
    if (field.name === "__proto__") fail("InvalidName", where, "\"__proto__\" cannot be a field name", field.name)
    if (seen.has(field.name)) fail("DuplicateName", where, `two fields have this name`, field.name)
    seen.add(field.name)
    const takenBy = taken.get(field.name)
    if (takenBy !== undefined) fail("DuplicateName", where, `the name is taken by ${takenBy}`, field.name)
    return { name: field.name, required: field.required ?? false, kind: kindOf(index, where, field) }
  })
}

/** A field's SDK field kind, or the model its `modelRef` names. */
const kindOf = (index: ModelIndex, where: Where, field: EventDefinition.Field): string | EventDefinition.Model => {
  const type = field.fieldType.value
  if (type === "Model") return modelOf(index, where, field)
  const kind = Object.hasOwn(fieldKinds, type) ? fieldKinds[type] : undefined
  if (kind === undefined) {
    return fail(
      "UnknownFieldType",
      where,
      `unknown field type ${Naming.literal(type)}; expected one of ${quoteList([...Object.keys(fieldKinds), "Model"])}`,
      field.name
    )
  }
  return kind
}

/** The model a `Model` field's `modelRef` names. */
const modelOf = (index: ModelIndex, where: Where, field: EventDefinition.Field): EventDefinition.Model => {
  const ref = field.fieldType.modelRef
  if (ref === undefined || ref === null || ref === "") {
    return fail("UnknownModel", where, "a Model field needs a modelRef naming its model", field.name)
  }
  const model = index.find(ref)
  if (model === undefined) {
    return fail(
      "UnknownModel",
      where,
      `modelRef ${Naming.literal(ref)} names no model; the definitions have ${
        quoteList(index.all.map((m) => `${m.name} (${m.id})`))
      }`,
      field.name
    )
  }
  return model
}

// -----------------------------------------------------------------------------------------------------
// cycles and names
// -----------------------------------------------------------------------------------------------------

/** Models cannot contain each other: a class must exist before a class that uses it. */
const checkNoCycles = (models: ReadonlyArray<ResolvedModel>): void => {
  const fieldsOf = new Map(models.map(({ fields, model }) => [model, fields]))
  const state = new Map<EventDefinition.Model, "visiting" | "done">()
  const visit = (model: EventDefinition.Model, path: ReadonlyArray<readonly [EventDefinition.Model, string]>): void => {
    if (state.get(model) === "done") return
    if (state.get(model) === "visiting") return failCycle(path.slice(path.findIndex(([m]) => m === model)), model)
    state.set(model, "visiting")
    for (const field of fieldsOf.get(model)!) {
      if (typeof field.kind !== "string") visit(field.kind, [...path, [model, field.name]])
    }
    state.set(model, "done")
  }
  for (const { model } of models) visit(model, [])
}

/** Fails on a cycle: each model of it with the field that leads on, back to `model`, where it started. */
const failCycle = (
  cycle: ReadonlyArray<readonly [EventDefinition.Model, string]>,
  model: EventDefinition.Model
): never => {
  const [first, field] = cycle[0]!
  return fail(
    "ModelCycle",
    { model: first.name },
    `models contain each other (${
      cycle.map(([m, f]) => `${m.name}.${f}`).join(" → ")
    } → ${model.name}); a model cannot hold itself, even through other models`,
    field
  )
}

/** A class and file name for each event and model, none taken twice (file names in any case). */
const assignNames = (
  events: ReadonlyArray<ResolvedEvent>,
  models: ReadonlyArray<ResolvedModel>
): ReadonlyMap<EventDefinition.Event | EventDefinition.Model, Names> => {
  const names = new Map<EventDefinition.Event | EventDefinition.Model, Names>()
  // Who has each class name and (lower-cased) file name.
  const owners = new Map<string, string>([["index.ts", "the index"]])
  const name = (kind: "event" | "model", definition: EventDefinition.Event | EventDefinition.Model): void => {
    const suffix = kind === "event" ? "Message" : "Model"
    const className = Naming.className(definition.name, suffix)
    const where = kind === "event" ? { event: definition.name } : { model: definition.name }
    if (className === undefined) {
      return fail("InvalidName", where, "the name has no letter or digit to make a class name of")
    }
    const fileName = Naming.fileName(definition.name, suffix)
    const owner = `${kind} ${Naming.literal(definition.name)}`
    for (const taken of [className, fileName.toLowerCase()]) {
      const other = owners.get(taken)
      if (other !== undefined) fail("NameCollision", where, `${other} and ${owner} would both generate ${taken}`)
      owners.set(taken, owner)
    }
    names.set(definition, { className, fileName })
  }
  for (const { event } of events) name("event", event)
  for (const { model } of models) name("model", model)
  return names
}
