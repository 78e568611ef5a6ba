/**
 * An entity an event is about: the entity's type name as configured in the console (e.g. `patron`)
 * and the entity's id. The first entity of a message is its primary one: it keys the envelope.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Schema from "effect/Schema"
import * as Construct from "./internal/construct.js"

/**
 * An entity id: a non-empty string.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EntityId = Schema.String.check(
  Schema.isMinLength(1, { message: "an entity id must be a non-empty string" })
)

// The schema's check, written out for the fast constructor (held to the schema by its property test).
Construct.register(EntityId, (value) => typeof value === "string" && value.length >= 1)

/**
 * An entity reference as it goes on the wire.
 *
 * @since 0.1.0
 * @category models
 */
export class Entity extends Schema.Class<Entity>("@stellanow/sdk/Entity")({
  entityTypeDefinitionId: Schema.String.check(
    Schema.isMinLength(1, { message: "an entity type name must be a non-empty string" })
  ),
  entityId: EntityId
}) {}

/**
 * Makes an entity reference: `Entity.make("patron", "12345")`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (entityTypeDefinitionId: string, entityId: string): Entity =>
  new Entity({ entityTypeDefinitionId, entityId })
