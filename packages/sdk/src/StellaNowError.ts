/**
 * The errors of the SDK: one tagged class per domain, each with a `reason` to match on and a message
 * built only from non-secret facts.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import { Schema } from "effect"

// Each class keeps its `_tag` as its `name`, as in 0.1: Effect 4 would name it by its schema identifier
// ("@stellanow/sdk/ValidationError"), which is what stack traces and logs would then print.

/**
 * A message, a model, their fields, entities or origin date broke a rule of the wire contract. Raised
 * by the constructor the bad value was given to, or by `sendMessage` before anything is queued, so a bad
 * message never reaches the queue. The message reads `event "<event>", field "<dotted.path>": <rule>`,
 * or `model "<Model>", field "<dotted.path>": <rule>` when a model's constructor refused the value.
 *
 * @since 0.1.0
 * @category errors
 */
export class ValidationError extends Schema.TaggedError<ValidationError>("@stellanow/sdk/ValidationError")(
  "ValidationError",
  {
    reason: Schema.Literals(["MissingEntity", "InvalidEntity", "InvalidField", "InvalidOriginDate", "InvalidPayload"]),
    /** The event's name, when known. */
    event: Schema.optional(Schema.String),
    /** The model's name, when a model's constructor refused the value. */
    model: Schema.optional(Schema.String),
    /** The dotted path of the offending field, when there is one. */
    field: Schema.optional(Schema.String),
    /** What rule was broken, in words. */
    detail: Schema.String
  }
) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    const where = [
      this.event === undefined ? undefined : `event "${this.event}"`,
      this.model === undefined ? undefined : `model "${this.model}"`,
      this.field === undefined ? undefined : `field "${this.field}"`
    ].filter((part) => part !== undefined).join(", ")
    return where === "" ? this.detail : `${where}: ${this.detail}`
  }
}

/**
 * The SDK's configuration is missing, malformed or inconsistent: a variable, a broker URL, an option.
 * The message names every problem and never a secret's value.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigurationError extends Schema.TaggedError<ConfigurationError>("@stellanow/sdk/ConfigurationError")(
  "ConfigurationError",
  {
    reason: Schema.Literals(["MissingVariable", "InvalidVariable", "InvalidBrokerUrl", "InvalidOption"]),
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect())
  }
) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return this.detail
  }
}

/**
 * Credentials could not be obtained: the identity provider refused them, was unreachable, or answered
 * something that is not a token.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthError extends Schema.TaggedError<AuthError>("@stellanow/sdk/AuthError")("AuthError", {
  reason: Schema.Literals(["Refused", "Unreachable", "InvalidResponse"]),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return this.detail
  }

  /** Refused credentials do not get better by retrying. */
  get isTransient(): boolean {
    return this.reason !== "Refused"
  }
}

/**
 * The broker connection failed, or was lost. `Refused` (bad credentials, not authorized) and
 * `DuplicateClientId` are fatal once the retry budget for them is spent; the others are transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Schema.TaggedError<ConnectionError>("@stellanow/sdk/ConnectionError")(
  "ConnectionError",
  {
    reason: Schema.Literals(["Unreachable", "Refused", "Timeout", "Closed", "DuplicateClientId", "Stopped"]),
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect())
  }
) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return this.detail
  }
}

/**
 * A publish was not acknowledged by the broker. The message goes back to the queue and is retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class PublishError extends Schema.TaggedError<PublishError>("@stellanow/sdk/PublishError")("PublishError", {
  reason: Schema.Literals(["NotConnected", "ConnectionLost", "Rejected"]),
  messageId: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return `message ${this.messageId}: ${this.detail}`
  }
}

/**
 * The message queue is full and its overflow policy is `"fail"`: the new message was not queued.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueueFullError extends Schema.TaggedError<QueueFullError>("@stellanow/sdk/QueueFullError")(
  "QueueFullError",
  {
    capacity: Schema.Number,
    messageId: Schema.String
  }
) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return `the message queue is full (capacity ${this.capacity}); message ${this.messageId} was not queued`
  }
}

/**
 * The SDK was asked to do something its lifecycle does not allow, or a deadline passed.
 *
 * @since 0.1.0
 * @category errors
 */
export class LifecycleError extends Schema.TaggedError<LifecycleError>("@stellanow/sdk/LifecycleError")(
  "LifecycleError",
  {
    reason: Schema.Literals(["StartTimeout", "Closed", "Dropped", "Fatal"]),
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect())
  }
) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return this.detail
  }
}
