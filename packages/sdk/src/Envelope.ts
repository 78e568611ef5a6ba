/**
 * The event envelope: a message wrapped for an organization and project, with its message id, origin
 * date and key, serialized once into the exact bytes the platform expects (WIRE.md §1).
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as MessageSize from "./internal/messageSize.js"
import * as Uuid from "./internal/uuid.js"
import * as Validation from "./internal/validation.js"
import * as Message from "./Message.js"
import * as OriginDate from "./OriginDate.js"
import { ValidationError } from "./StellaNowError.js"

/**
 * The organization and project events are sent for.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectInfo {
  readonly organizationId: string
  readonly projectId: string
}

/**
 * A wrapped message, ready to publish. `body` is the compact JSON of the envelope; it is what the
 * queue stores and what the broker receives, so the message id and origin date are fixed for good.
 *
 * @since 0.1.0
 * @category models
 */
export interface Envelope {
  /** UUID v4, made once at wrapping; the platform can de-duplicate on it. */
  readonly messageId: string
  /** `in/{organizationId}`. */
  readonly topic: string
  /** The event's name, kept for logs and spans. */
  readonly eventName: string
  /** The envelope as compact JSON (UTF-8 on the wire). */
  readonly body: string
  /** When `sendMessage` wrapped it (epoch milliseconds, from `Clock`), for the latency metric. */
  readonly wrappedAt?: number | undefined
  /**
   * The body's length in UTF-8 bytes, measured once when the message is wrapped: what the in-memory
   * queues' byte budget counts and the size check at `sendMessage` reads. Left out, it is measured
   * when needed.
   */
  readonly byteLength?: number | undefined
}

let lastTopic = { organizationId: "", topic: "" }

/**
 * The topic events of an organization are published on.
 *
 * @since 0.1.0
 * @category constructors
 */
export const topicFor = (organizationId: string): string => {
  // One string per organization rather than one per message: queued envelopes share it.
  if (organizationId !== lastTopic.organizationId) lastTopic = { organizationId, topic: `in/${organizationId}` }
  return lastTopic.topic
}

/**
 * A fresh random message id (UUID v4). It needs no secure context: a page served over plain http,
 * which has no `crypto.randomUUID`, gets its ids from `crypto.getRandomValues`.
 *
 * Made from `crypto.getRandomValues` drawn in batches, as one flat 36-byte string: five times faster
 * than `crypto.randomUUID`, whose result is a tree of 20 string pieces (see `internal/uuid.ts`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMessageId: () => string = Uuid.random

/**
 * Wraps a message with a known origin date (the wire string) and message id. Pure: no clock, no
 * randomness.
 *
 * @since 0.1.0
 * @category constructors
 */
export const wrapWith = (
  message: Message.Message,
  project: ProjectInfo,
  options: { readonly messageId: string; readonly originDate: string; readonly wrappedAt?: number | undefined }
): Result.Result<Envelope, ValidationError> => wrapDescriptor(message[Message.TypeId], project, options, false)

/**
 * Wraps a described message. `plainDate` says the origin date is the SDK's own formatting, which needs
 * no escaping in JSON.
 */
const wrapDescriptor = (
  descriptor: Message.Descriptor,
  project: ProjectInfo,
  options: { readonly messageId: string; readonly originDate: string; readonly wrappedAt?: number | undefined },
  plainDate: boolean
): Result.Result<Envelope, ValidationError> => {
  const primary = descriptor.entities[0]
  if (primary === undefined) {
    return Result.fail(
      new ValidationError({
        reason: "MissingEntity",
        event: descriptor.eventName,
        detail: "a message must be about at least one entity"
      })
    )
  }
  return Result.map(descriptor.payload(), (payload) => {
    const body = serialize(
      project,
      primary,
      descriptor,
      // Quoted by JSON.stringify even when it is a UUID: an id given by the caller may be a tree of
      // pieces, which this also flattens (the envelope keeps it, for every queued message).
      json(options.messageId),
      plainDate ? `"${options.originDate}"` : json(options.originDate),
      payload
    )
    return {
      messageId: options.messageId,
      topic: topicFor(project.organizationId),
      eventName: descriptor.eventName,
      body,
      wrappedAt: options.wrappedAt,
      byteLength: MessageSize.utf8Length(body)
    }
  })
}

const json = JSON.stringify

/** Event and entity type names as JSON strings: a handful of names, quoted on every message. */
const quotedNames = new Map<string, string>()

const quoteName = (name: string): string => {
  let quoted = quotedNames.get(name)
  if (quoted === undefined) {
    // Bounded, for raw messages with names made up on the fly.
    if (quotedNames.size >= 1024) quotedNames.clear()
    quoted = json(name)
    quotedNames.set(name, quoted)
  }
  return quoted
}

let lastKey = { organizationId: "", projectId: "", prefix: "" }

/** The envelope's opening up to the primary entity's id: the same for every message of a project. */
const keyPrefix = ({ organizationId, projectId }: ProjectInfo): string => {
  if (organizationId !== lastKey.organizationId || projectId !== lastKey.projectId) {
    const prefix = `{"key":{"organizationId":${json(organizationId)},"projectId":${json(projectId)},"entityId":`
    lastKey = { organizationId, projectId, prefix }
  }
  return lastKey.prefix
}

/**
 * The envelope's compact JSON, joined from its pieces; the vector tests hold it to the bytes of
 * `JSON.stringify` on the envelope object. It is cheaper to make than stringifying that object, and
 * smaller to keep: 545 bytes for the seed's 509-byte envelope, against 736 for `JSON.stringify`'s
 * result, which keeps spare room. Joined rather than concatenated: V8 keeps a concatenated string as
 * a tree of its pieces (half as much memory again, in a queue), while `join` makes one flat string.
 */
const serialize = (
  project: ProjectInfo,
  primary: Message.Descriptor["entities"][number],
  descriptor: Message.Descriptor,
  quotedMessageId: string,
  quotedOriginDate: string,
  payload: string
): string => {
  const primaryId = json(primary.entityId)
  try {
    pieces.push(
      keyPrefix(project),
      primaryId,
      ",\"entityTypeDefinitionId\":",
      quoteName(primary.entityTypeDefinitionId),
      "},\"value\":{\"metadata\":{\"messageId\":",
      quotedMessageId,
      ",\"messageOriginDateUTC\":",
      quotedOriginDate,
      ",\"eventTypeDefinitionId\":",
      quoteName(descriptor.eventName),
      ",\"entityTypeIds\":["
    )
    const { entities } = descriptor
    for (let i = 0; i < entities.length; i++) {
      const entity = entities[i]!
      pieces.push(
        i === 0 ? "{\"entityTypeDefinitionId\":" : ",{\"entityTypeDefinitionId\":",
        quoteName(entity.entityTypeDefinitionId),
        ",\"entityId\":",
        entity === primary ? primaryId : json(entity.entityId),
        "}"
      )
    }
    pieces.push("]},\"payload\":", json(payload), "}}")
    return pieces.join("")
  } finally {
    pieces.length = 0
  }
}

/**
 * The pieces `serialize` joins, in one array for every message (it runs synchronously, never inside
 * itself): a new array per message, grown as the entities were pushed, was about 300 B of garbage.
 */
const pieces: Array<string> = []

/**
 * Wraps a message for sending: validates it, fixes its message id (a new UUID v4 unless one is given)
 * and its origin date (the message's own, or the current time from Effect's `Clock`, so `TestClock`
 * controls it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const wrap = (
  message: Message.Message,
  project: ProjectInfo,
  options?: { readonly messageId?: string | undefined }
): Effect.Effect<Envelope, ValidationError> =>
  Effect.clockWith((clock) => Effect.fromResult(wrapAt(message, project, clock, options)))

/**
 * What {@link wrap} does, at once, with the time from `clock`: for code that already holds the fiber's
 * clock, such as `sendMessage`, which wraps every message sent and saves the effects around it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const wrapAt = (
  message: Message.Message,
  project: ProjectInfo,
  clock: Clock.Clock,
  options?: { readonly messageId?: string | undefined }
): Result.Result<Envelope, ValidationError> => {
  if (!Message.isMessage(message)) {
    return Result.fail(
      new ValidationError({
        reason: "InvalidPayload",
        detail: "not a StellaNow message: declare it with Message.Class or make it with Message.raw"
      })
    )
  }
  const descriptor = message[Message.TypeId]
  const given = descriptor.originDate
  const originDate = given === undefined
    ? OriginDate.fromEpochMicros(Number(clock.currentTimeNanosUnsafe() / 1000n))
    : OriginDate.fromInput(given)
  if (Result.isFailure(originDate)) {
    return Result.fail(Validation.withEvent(originDate.failure, descriptor.eventName))
  }
  return wrapDescriptor(descriptor, project, {
    messageId: options?.messageId ?? makeMessageId(),
    originDate: originDate.success,
    wrappedAt: clock.currentTimeMillisUnsafe()
  }, true)
}
