/**
 * The errors of the SDK: one tagged class per domain, each with a `reason` to match on and a message
 * built only from non-secret facts. Validation, configuration, connection, auth, delivery
 * (`PublishError`), the queue, a persistent queue's store and the SDK's lifecycle.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import * as Schema from "effect/Schema"

// Each class keeps its `_tag` as its `name`, as in 0.1: Effect 4 would name it by its schema identifier
// ("@stellanow/sdk/ValidationError"), which is what stack traces and logs would then print.

/**
 * A message, a model, their fields, entities or origin date broke a rule of the wire contract. Raised
 * by the constructor the bad value was given to, or by `sendMessage` before anything is queued, so a bad
 * message never reaches the queue. The message reads `event "<event>", field "<dotted.path>": <rule>`,
 * or `model "<Model>", field "<dotted.path>": <rule>` when a model's constructor refused the value.
 * Reason `TooDeep`: a `Field.Any` value nested deeper than `Field.maxDepth` (256) levels. Reason
 * `TooLarge`: at `sendMessage`, the message's MQTT PUBLISH packet (its envelope in UTF-8, the topic and
 * about 10 bytes of header) is larger than the `maxMessageBytes` option or than the Maximum Packet Size
 * the broker announced in its last CONNACK; the message names both sizes, never the payload.
 *
 * @since 0.1.0
 * @category errors
 */
export class ValidationError extends Schema.TaggedError<ValidationError>("@stellanow/sdk/ValidationError")(
  "ValidationError",
  {
    reason: Schema.Literals([
      "MissingEntity",
      "InvalidEntity",
      "InvalidField",
      "InvalidOriginDate",
      "InvalidPayload",
      "TooDeep",
      "TooLarge"
    ]),
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
 * something that is not a token. `WrongTokenUrl`: the token endpoint URL answered 404/405 or an HTML
 * page, so it is not a token endpoint (the credentials were not judged); like `Refused`, not transient.
 * `ProviderFailed`: the app's token provider (`Auth.layerTokenProvider`) threw, rejected or did not
 * answer in time; transient, so it is asked again with backoff (`InvalidResponse` when what it returned
 * is not a token).
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthError extends Schema.TaggedError<AuthError>("@stellanow/sdk/AuthError")("AuthError", {
  reason: Schema.Literals(["Refused", "Unreachable", "InvalidResponse", "WrongTokenUrl", "ProviderFailed"]),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return this.detail
  }

  /** Refused credentials, or a URL that is not a token endpoint, do not get better by retrying. */
  get isTransient(): boolean {
    return this.reason !== "Refused" && this.reason !== "WrongTokenUrl"
  }
}

/**
 * The broker connection failed, or was lost. `Refused` (bad credentials, not authorized) and
 * `DuplicateClientId` are fatal once the retry budget for them is spent; `Tls` (the broker's certificate
 * did not verify: unknown CA, host name mismatch, expired; the message carries the certificate error) is
 * fatal at once; the others are transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Schema.TaggedError<ConnectionError>("@stellanow/sdk/ConnectionError")(
  "ConnectionError",
  {
    reason: Schema.Literals(["Unreachable", "Refused", "Tls", "Timeout", "Closed", "DuplicateClientId", "Stopped"]),
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
 * A publish was not acknowledged by the broker (the delivery domain). What a `Sink` fails a publish
 * with; the SDK puts the message back in the queue and sends it again, so callers of `sendMessage`
 * never see it. Its `reason`:
 * - `"NotConnected"`, `"ConnectionLost"`: no connection, or it ended before the PUBACK. Not the
 *   message's fault: it is sent again, however often.
 * - `"Rejected"`: refused by the broker, attributed to this message: an MQTT 5 PUBACK with a reason code
 *   of 0x80 or more, or a "packet too large" the broker said otherwise (see the README's delivery
 *   guarantees). `reasonCode` is the broker's code; the detail names it.
 * - `"Timeout"`: no PUBACK within the sink's `publishTimeout`, though the broker answered packets sent
 *   after it.
 *
 * `"Rejected"` and `"Timeout"` count against the message: after the SDK's `maxAttempts` of them it is
 * dead-lettered (see `DeadLetters`).
 *
 * @since 0.1.0
 * @category errors
 */
export class PublishError extends Schema.TaggedError<PublishError>("@stellanow/sdk/PublishError")("PublishError", {
  reason: Schema.Literals(["NotConnected", "ConnectionLost", "Rejected", "Timeout"]),
  messageId: Schema.String,
  /** The broker's reason code, for `"Rejected"`. */
  reasonCode: Schema.optional(Schema.Number),
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
 * A message was not queued, or was dropped from the queue:
 * - `"Full"`: the queue is full and its overflow policy is `"fail"`; the new message was not queued.
 * - `"Dropped"`: the overflow policy dropped the message to make room for a newer one (reported to a
 *   `sendMessageAndWait` waiting on it).
 * - `"StoreFailed"`: a persistent queue's store failed: it could not store the message (`sendMessage`
 *   fails with it), or could not be read, counted or updated (`queueSize` fails with it; the SDK's drain
 *   retries on its own). `cause` is the {@link StoreError}; `messageId` is missing when no single message
 *   is concerned (reading, counting). A `sendMessage` that fails this way is not known to be queued:
 *   usually it was not, but when the store failed mid-commit (the connection lost, or `"Timeout"`) the
 *   commit may have landed, and the message is then delivered like any other.
 * - `"Closed"`: the queue was closed before the message was stored.
 * - `"DeadLettered"`: the broker refused the message `maxAttempts` times; it was taken out of the queue
 *   and kept as a dead letter (reported to a `sendMessageAndWait` waiting on it).
 *
 * @since 0.2.0
 * @category errors
 */
export class QueueError extends Schema.TaggedError<QueueError>("@stellanow/sdk/QueueError")("QueueError", {
  reason: Schema.Literals(["Full", "Dropped", "StoreFailed", "Closed", "DeadLettered"]),
  /** The message concerned; missing when none is (a store that cannot be read or counted). */
  messageId: Schema.optional(Schema.String),
  /** The queue's capacity, when it matters (`"Full"`, `"Dropped"`). */
  capacity: Schema.optional(Schema.Number),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return this.detail
  }
}

/**
 * The store of a persistent queue cannot be opened or used: what went wrong, in words that name the
 * file or the server (never a password), with the driver's error kept as `cause`. A queue layer whose
 * store cannot be opened fails with it; a message that cannot be stored later is a {@link QueueError}
 * (`"StoreFailed"`) whose `cause` is one. Defined here, with the SDK's other errors, so the SDK's layers
 * and front door can name it; `@stellanow/sdk-sql` and `IndexedDbQueue` raise it.
 *
 * Its `reason`:
 * - `"Corrupt"`: the file is not a SQLite database, or its pages are damaged.
 * - `"Foreign"`: the file, table or IndexedDB database holds something other than a StellaNow queue.
 * - `"Incompatible"`: the queue was created by a newer version of the package.
 * - `"Locked"`: another process holds the SQLite file, or another tab the IndexedDB queue.
 * - `"ReadOnly"`: the file, its directory or the database cannot be written.
 * - `"DiskFull"`: no room left to store.
 * - `"Unreachable"`: the database server cannot be reached, or a directory is missing.
 * - `"Timeout"`: the store did not answer within the queue's `storeTimeout`; what was being done may
 *   still complete (a message may still be stored, and then delivered).
 * - `"Refused"`: the server refused the connection (credentials, database, privileges).
 * - `"Unsupported"`: the SQL client is neither SQLite nor PostgreSQL, or there is no IndexedDB (Node.js) or
 *   the browser refuses it.
 * - `"MissingDriver"`: the store's driver cannot be loaded; the detail says what to install.
 * - `"Failed"`: anything else.
 *
 * @since 0.2.0
 * @category errors
 */
export class StoreError extends Schema.TaggedError<StoreError>("@stellanow/sdk/StoreError")("StoreError", {
  reason: Schema.Literals([
    "Corrupt",
    "Foreign",
    "Incompatible",
    "Locked",
    "ReadOnly",
    "DiskFull",
    "Unreachable",
    "Timeout",
    "Refused",
    "Unsupported",
    "MissingDriver",
    "Failed"
  ]),
  /** The store, for people: `SQLite file /var/lib/app/queue.db`, `PostgreSQL app@db:5432/app, table q`. */
  store: Schema.String,
  /** What happened, in words. */
  detail: Schema.String,
  /** The driver's error code, when there is one (`SQLITE_FULL`, `ECONNREFUSED`, `53100`). */
  code: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect())
}) {
  override get name(): string {
    return this._tag
  }

  override get message(): string {
    return `${this.store}: ${this.detail}`
  }

  /** Whether trying again later may succeed: the server was unreachable or slow, or the file busy. */
  get isTransient(): boolean {
    return this.reason === "Unreachable" || this.reason === "Timeout" || this.reason === "Locked"
  }
}

/**
 * The SDK was asked to do something its lifecycle does not allow, or a deadline passed: `"StartTimeout"`
 * (`start` did not connect in time; its `cause` is the last connection or auth error, its message says
 * it too), `"Closed"` (stopped or closed first: `start` abandoned, a
 * `sendMessageAndWait` still waiting when the SDK closed); `"Fatal"` is not raised by this version.
 *
 * @since 0.1.0
 * @category errors
 */
export class LifecycleError extends Schema.TaggedError<LifecycleError>("@stellanow/sdk/LifecycleError")(
  "LifecycleError",
  {
    reason: Schema.Literals(["StartTimeout", "Closed", "Fatal"]),
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
