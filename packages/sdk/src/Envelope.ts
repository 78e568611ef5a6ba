/**
 * The event envelope: a message wrapped for an organization and project, with its message id, origin
 * date and key, serialized once into the exact bytes the platform expects (WIRE.md §1).
 *
 * @since 0.1.0
 * @packageDocumentation
 */
import { type Clock, Effect, Result } from "effect"
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

/** Random bytes for message ids, drawn 16 at a time and refilled when used up (each byte used once). */
const randomPool = new Uint8Array(16 * 256)
let randomOffset = randomPool.length

/** The character codes of the hex digits. */
const hexDigits = Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0))
const hi = (byte: number): number => hexDigits[byte >> 4]!
const lo = (byte: number): number => hexDigits[byte & 15]!

/**
 * A fresh random message id (UUID v4).
 *
 * Made from `crypto.getRandomValues` (the same CSPRNG as `crypto.randomUUID`, in Node and browsers),
 * drawn in batches, as one `String.fromCharCode` of its 36 characters: a flat 36-byte string, where
 * `randomUUID` joins 20 pieces into a tree of strings (about 600 bytes to make per message, against
 * about 60, and five times the time).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMessageId = (): string => {
  if (randomOffset === randomPool.length) {
    globalThis.crypto.getRandomValues(randomPool)
    randomOffset = 0
  }
  const b = randomPool
  const i = randomOffset
  randomOffset += 16
  const version = (b[i + 6]! & 0x0f) | 0x40 // 4: random
  const variant = (b[i + 8]! & 0x3f) | 0x80 // 10xx: RFC 9562
  const dash = 45
  // dprint-ignore
  return String.fromCharCode(
    hi(b[i]!), lo(b[i]!), hi(b[i + 1]!), lo(b[i + 1]!), hi(b[i + 2]!), lo(b[i + 2]!), hi(b[i + 3]!), lo(b[i + 3]!), dash,
    hi(b[i + 4]!), lo(b[i + 4]!), hi(b[i + 5]!), lo(b[i + 5]!), dash,
    hi(version), lo(version), hi(b[i + 7]!), lo(b[i + 7]!), dash,
    hi(variant), lo(variant), hi(b[i + 9]!), lo(b[i + 9]!), dash,
    hi(b[i + 10]!), lo(b[i + 10]!), hi(b[i + 11]!), lo(b[i + 11]!), hi(b[i + 12]!), lo(b[i + 12]!),
    hi(b[i + 13]!), lo(b[i + 13]!), hi(b[i + 14]!), lo(b[i + 14]!), hi(b[i + 15]!), lo(b[i + 15]!)
  )
}

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
  return Result.map(descriptor.payload(), (payload) => ({
    messageId: options.messageId,
    topic: topicFor(project.organizationId),
    eventName: descriptor.eventName,
    body: serialize(
      project,
      primary,
      descriptor,
      // Quoted by JSON.stringify even when it is a UUID: an id given by the caller may be a tree of
      // pieces, which this also flattens (the envelope keeps it, for every queued message).
      json(options.messageId),
      plainDate ? `"${options.originDate}"` : json(options.originDate),
      payload
    ),
    wrappedAt: options.wrappedAt
  }))
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
  const pieces = [
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
  ]
  descriptor.entities.forEach((entity, i) => {
    pieces.push(
      i === 0 ? "{\"entityTypeDefinitionId\":" : ",{\"entityTypeDefinitionId\":",
      quoteName(entity.entityTypeDefinitionId),
      ",\"entityId\":",
      entity === primary ? primaryId : json(entity.entityId),
      "}"
    )
  })
  pieces.push("]},\"payload\":", json(payload), "}}")
  return pieces.join("")
}

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
