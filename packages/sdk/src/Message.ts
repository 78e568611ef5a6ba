/**
 * Event messages: what an application sends. Declare one class per event with {@link Class} (or let the
 * `stellanow generate` CLI write them), or send an already-serialized payload with {@link raw}.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { type Entity, EntityId } from "./Entity.js"
import * as Construct from "./internal/construct.js"
import * as Payload from "./internal/payload.js"
import * as Validation from "./internal/validation.js"
import * as OriginDate from "./OriginDate.js"
import { ValidationError } from "./StellaNowError.js"

/**
 * The key under which a message carries its {@link Descriptor}.
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@stellanow/sdk/Message")

/**
 * The type of {@link TypeId}.
 *
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What the SDK reads from any message to wrap it for the wire.
 *
 * @since 0.1.0
 * @category models
 */
export interface Descriptor {
  /** The event's name as configured in the console, e.g. `user_details_update`. */
  readonly eventName: string
  /** The entities the event is about; the first is the primary one. */
  readonly entities: ReadonlyArray<{ readonly entityTypeDefinitionId: string; readonly entityId: string }>
  /** The origin date as given, not yet validated; `undefined` to stamp it at wrapping time. */
  readonly originDate: OriginDate.Input | undefined
  /** The event's own fields as compact JSON, in declared order. */
  readonly payload: () => Result.Result<string, ValidationError>
  /** Makes a copy with another origin date. */
  readonly withOriginDate: (date: OriginDate.Input | undefined) => Message
}

/**
 * A StellaNow event message: anything that carries a {@link Descriptor}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Message {
  readonly [TypeId]: Descriptor
}

/**
 * Whether a value is a StellaNow message.
 *
 * @since 0.1.0
 * @category guards
 */
export const isMessage = (u: unknown): u is Message => Predicate.hasProperty(u, TypeId)

const OriginDateField = Construct.optionalKey(OriginDate.InputSchema)

const EntityIdField = Construct.optionalKey(EntityId)

/**
 * The schema fields of a message class: one id per entity, the event's fields, and the origin date.
 * The primary (first) entity's id is required; the others may be left out, as in the Python SDK.
 *
 * @since 0.1.0
 * @category models
 */
export type Fields<Entities extends ReadonlyArray<string>, EventFields extends Schema.Struct.Fields> =
  & { readonly [K in Entities[0]]: typeof EntityId }
  & { readonly [K in Exclude<Entities[number], Entities[0]>]: Schema.optional<typeof EntityId> }
  & EventFields
  & { readonly messageOriginDateUTC: Schema.optional<typeof OriginDate.InputSchema> }

/**
 * How an event is declared.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition<Entities extends ReadonlyArray<string>, EventFields extends Schema.Struct.Fields> {
  /** The event's name as configured in the console. */
  readonly event: string
  /**
   * The entity type names the event is about, primary first. Each becomes a constructor key for its id;
   * the first one given is the message's primary entity.
   */
  readonly entities: Entities
  /** The event's fields keyed by wire name, in wire order. */
  readonly fields: EventFields
}

/**
 * The static side of a message class.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClassStatics<Entities extends ReadonlyArray<string>, EventFields extends Schema.Struct.Fields> {
  readonly eventName: string
  readonly entityTypes: Entities
  readonly eventFields: EventFields
}

const reservedKeys = new Set(["messageOriginDateUTC"])

/**
 * Declares an event message class, e.g. the seed's `user_details_update` event:
 *
 * ```ts
 * class UserDetailsUpdateMessage extends Message.Class<UserDetailsUpdateMessage>("UserDetailsUpdateMessage")({
 *   event: "user_details_update",
 *   entities: ["patron"],
 *   fields: {
 *     user_id: Field.String,
 *     phone_number: Field.optional(PhoneNumberModel)
 *   }
 * }) {}
 *
 * new UserDetailsUpdateMessage({ patron: "12345", user_id: "user_0", phone_number })
 * ```
 *
 * The constructor takes each entity's id under the entity's name, each field under its wire name, and
 * optionally `messageOriginDateUTC`. A bad value throws a `ValidationError` that names the event, the
 * field's dotted path and the rule: `event "user_details_update", field "user_id": Expected string, actual 42`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Class =
  <Self = never>(identifier: string) =>
  <const Entities extends ReadonlyArray<string>, const EventFields extends Schema.Struct.Fields>(
    definition: Definition<Entities, EventFields>
  ):
    & Schema.Class<Self, Schema.Struct<Fields<Entities, EventFields>>, Message>
    & ClassStatics<Entities, EventFields> =>
  {
    const { entities, event, fields } = definition
    if (entities.length === 0) {
      throw new ValidationError({
        reason: "MissingEntity",
        event,
        detail: "an event must be about at least one entity"
      })
    }
    for (const name of [...entities, ...reservedKeys]) {
      if (Object.hasOwn(fields, name)) {
        throw new ValidationError({
          reason: "InvalidField",
          event,
          field: name,
          detail: `the field name "${name}" is taken by ${reservedKeys.has(name) ? "the origin date" : "an entity"}`
        })
      }
    }
    const entityNames: ReadonlyArray<string> = entities
    const allFields = {
      ...Object.fromEntries(entityNames.map((name, i) => [name, i === 0 ? EntityId : EntityIdField])),
      ...fields,
      messageOriginDateUTC: OriginDateField
    }
    const encodePayload = Payload.make(fields)
    const modelFields = Payload.modelFieldsOf(fields)
    const context = { event, entityNames }
    /** What the SDK reads from an instance; its methods live on the prototype, made once per class. */
    class ClassDescriptor implements Descriptor {
      readonly eventName = event
      readonly entities: Descriptor["entities"]
      readonly originDate: OriginDate.Input | undefined
      constructor(readonly message: any) {
        const entities = []
        for (const name of entityNames) {
          const entityId = message[name]
          if (entityId !== undefined) entities.push({ entityTypeDefinitionId: name, entityId: entityId as string })
        }
        this.entities = entities
        this.originDate = message.messageOriginDateUTC
      }
      payload() {
        try {
          return Result.mapError(encodePayload(this.message), (issue) => Validation.fromIssue(issue, context))
        } catch (error) {
          // A value too deep for a schema of the user's own: refused, never a defect of sendMessage.
          if (Validation.isStackOverflow(error)) return Result.fail(Validation.tooDeep(context))
          throw error
        }
      }
      withOriginDate(date: OriginDate.Input | undefined): Message {
        // The prototype's constructor: the user's subclass, even if a field is named "constructor".
        return new (Object.getPrototypeOf(this.message).constructor)({ ...this.message, messageOriginDateUTC: date })
      }
    }
    const Base: any = Schema.Class<unknown>(identifier)(allFields)
    const construct = Construct.make(allFields)

    return class extends Base {
      static readonly eventName = event
      static readonly entityTypes = entities
      static readonly eventFields = fields

      constructor(props: unknown, options?: Schema.MakeOptions) {
        if (options === undefined) {
          // Props the schema takes as they are: copied onto the instance it would make (see internal/construct.ts).
          const instance = construct(props, new.target.prototype)
          if (instance !== undefined) return instance as any
        }
        const notModel = Validation.notModels(modelFields, props)
        if (notModel !== undefined) throw Validation.fromIssue(notModel, context)
        try {
          super(props, Validation.makeOptions(options))
        } catch (error) {
          throw Validation.rethrow(error, context)
        }
      }

      get [TypeId](): Descriptor {
        return new ClassDescriptor(this)
      }
    } as any
  }

/**
 * A message whose payload is already serialized: the raw path of the Python SDK.
 *
 * @since 0.1.0
 * @category models
 */
export interface RawMessage extends Message {
  readonly eventName: string
  readonly entities: ReadonlyArray<Entity | { readonly entityTypeDefinitionId: string; readonly entityId: string }>
  readonly payload: string
  readonly messageOriginDateUTC?: OriginDate.Input | undefined
}

/**
 * Makes a raw message: an event name, its entities (primary first), and the event's fields already
 * serialized as a JSON object. The payload is checked to be a JSON object; it is sent as it is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const raw = (options: {
  readonly eventName: string
  readonly entities: RawMessage["entities"]
  readonly payload: string
  readonly messageOriginDateUTC?: OriginDate.Input | undefined
}): RawMessage => {
  // Checked for callers without TypeScript too: whatever they pass, the answer is a ValidationError.
  if (!Predicate.isObject(options)) {
    throw new ValidationError({
      reason: "InvalidPayload",
      detail: "Message.raw takes an object: { eventName, entities, payload, messageOriginDateUTC? }"
    })
  }
  const event = typeof options.eventName === "string" && options.eventName.length > 0 ? options.eventName : undefined
  const fail = (reason: ValidationError["reason"], detail: string, field?: string) =>
    new ValidationError({
      reason,
      detail,
      ...(event === undefined ? {} : { event }),
      ...(field === undefined ? {} : { field })
    })
  if (event === undefined) {
    throw fail("InvalidField", "the event name must be a non-empty string", "eventName")
  }
  if (!Array.isArray(options.entities)) {
    throw fail("InvalidEntity", "entities must be an array of { entityTypeDefinitionId, entityId }", "entities")
  }
  if (options.entities.length === 0) {
    throw fail("MissingEntity", "a message must be about at least one entity")
  }
  options.entities.forEach((entity, i) => {
    if (
      !Predicate.isObject(entity) || !Schema.is(EntityId)(entity.entityId) ||
      !Schema.is(EntityId)(entity.entityTypeDefinitionId)
    ) {
      throw fail("InvalidEntity", "an entity needs a non-empty entityTypeDefinitionId and entityId", `entities.${i}`)
    }
  })
  if (typeof options.payload !== "string") {
    throw fail("InvalidPayload", "the payload must be a string of JSON", "payload")
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(options.payload)
  } catch {
    throw fail("InvalidPayload", "the payload is not valid JSON", "payload")
  }
  if (!Predicate.isObject(parsed)) {
    throw fail("InvalidPayload", "the payload must be a JSON object", "payload")
  }
  if (options.messageOriginDateUTC !== undefined) {
    const checked = OriginDate.fromInput(options.messageOriginDateUTC)
    if (Result.isFailure(checked)) throw Validation.withEvent(checked.failure, options.eventName)
  }
  const entities = options.entities.map(({ entityId, entityTypeDefinitionId }) => ({
    entityTypeDefinitionId,
    entityId
  }))
  const message: RawMessage = {
    eventName: options.eventName,
    entities,
    payload: options.payload,
    messageOriginDateUTC: options.messageOriginDateUTC,
    [TypeId]: {
      eventName: options.eventName,
      entities,
      originDate: options.messageOriginDateUTC,
      payload: () => Result.succeed(options.payload),
      withOriginDate: (date) => raw({ ...options, messageOriginDateUTC: date })
    }
  }
  return message
}

/**
 * A copy of the message with another origin date (validated as WIRE.md §2 says; throws a
 * `ValidationError` if it is not acceptable). `undefined` clears it, so the SDK stamps the time of
 * wrapping.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withOriginDate = <M extends Message>(message: M, date: OriginDate.Input | undefined): M => {
  if (date !== undefined) {
    const checked = OriginDate.fromInput(date)
    if (Result.isFailure(checked)) {
      throw Validation.withEvent(checked.failure, message[TypeId].eventName)
    }
  }
  return message[TypeId].withOriginDate(date) as M
}
