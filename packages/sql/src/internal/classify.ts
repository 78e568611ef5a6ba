import { QueueError, StoreError } from "@stellanow/sdk"
import { Effect } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"

/** What a driver error means for the queue, in words. */
export interface Classified {
  readonly reason: StoreError["reason"]
  readonly code: string | undefined
  readonly explanation: string
}

/**
 * SQLite's primary result codes by number, as `node:sqlite` reports them (`errcode`, the extended code:
 * its low byte is the primary one). Only those the queue tells apart.
 */
const sqliteCodes: Record<number, string> = {
  3: "SQLITE_PERM",
  5: "SQLITE_BUSY",
  6: "SQLITE_LOCKED",
  8: "SQLITE_READONLY",
  10: "SQLITE_IOERR",
  11: "SQLITE_CORRUPT",
  13: "SQLITE_FULL",
  14: "SQLITE_CANTOPEN",
  23: "SQLITE_AUTH",
  26: "SQLITE_NOTADB"
}

/**
 * The first error code found in an error, its `cause`s and the `errors` of an `AggregateError`: a
 * string `code`, or SQLite's numeric `errcode` by its name (`node:sqlite`'s own `code` is the generic
 * `ERR_SQLITE_ERROR`).
 */
const findCode = (error: unknown, depth = 0): string | undefined => {
  if (depth > 5 || typeof error !== "object" || error === null) return undefined
  const record = error as { code?: unknown; errcode?: unknown; cause?: unknown; errors?: unknown }
  if (typeof record.errcode === "number") {
    const name = sqliteCodes[record.errcode & 0xff]
    if (name !== undefined) return name
  }
  if (typeof record.code === "string" && record.code.length > 0 && record.code !== "ERR_SQLITE_ERROR") {
    return record.code
  }
  if (Array.isArray(record.errors)) {
    for (const inner of record.errors) {
      const code = findCode(inner, depth + 1)
      if (code !== undefined) return code
    }
  }
  return findCode(record.cause, depth + 1)
}

/** Every message in an error's chain, for the few driver errors that carry no code. */
const messages = (error: unknown, depth = 0): string => {
  if (depth > 5 || typeof error !== "object" || error === null) return ""
  const record = error as { message?: unknown; cause?: unknown }
  const own = typeof record.message === "string" ? record.message : ""
  return `${own} ${messages(record.cause, depth + 1)}`
}

const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ENOENT"
])

/** The file system's refusals, when the queue creates its SQLite file. */
const fileCodes: Record<string, Omit<Classified, "code">> = {
  EACCES: { reason: "ReadOnly", explanation: "it cannot be written (read-only file, directory or disk)" },
  EPERM: { reason: "ReadOnly", explanation: "it cannot be written (read-only file, directory or disk)" },
  EROFS: { reason: "ReadOnly", explanation: "it cannot be written (read-only file system)" },
  ENOSPC: { reason: "DiskFull", explanation: "the disk is full" },
  EDQUOT: { reason: "DiskFull", explanation: "the disk quota is exhausted" }
}

const sqlite = (code: string): Classified | undefined => {
  const base = code.replace(/^(SQLITE_[A-Z]+)(_.*)?$/, "$1")
  switch (base) {
    case "SQLITE_NOTADB":
      return { reason: "Corrupt", code, explanation: "it is not a SQLite database" }
    case "SQLITE_CORRUPT":
      return { reason: "Corrupt", code, explanation: "the database is corrupt" }
    case "SQLITE_BUSY":
    case "SQLITE_LOCKED":
      return {
        reason: "Locked",
        code,
        explanation: "another process has it open: a SQLite queue belongs to one process at a time " +
          "(to share a queue between processes, use PostgreSQL)"
      }
    case "SQLITE_READONLY":
    case "SQLITE_PERM":
    case "SQLITE_AUTH":
      return { reason: "ReadOnly", code, explanation: "it cannot be written (read-only file, directory or disk)" }
    case "SQLITE_CANTOPEN":
      return {
        reason: "ReadOnly",
        code,
        explanation: "it cannot be opened for writing (check that the file and its directory are writable)"
      }
    case "SQLITE_FULL":
      return { reason: "DiskFull", code, explanation: "the disk is full" }
    case "SQLITE_IOERR":
      return { reason: "Failed", code, explanation: "an I/O error occurred" }
    default:
      return undefined
  }
}

const postgres = (code: string): Classified | undefined => {
  if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") {
    return { reason: "Unreachable", code, explanation: "the connection to the server failed" }
  }
  if (code.startsWith("28")) {
    return { reason: "Refused", code, explanation: "the server refused the credentials" }
  }
  if (code === "3D000") return { reason: "Refused", code, explanation: "the database does not exist" }
  if (code === "42501") return { reason: "Refused", code, explanation: "permission denied" }
  if (code === "53100") return { reason: "DiskFull", code, explanation: "the server's disk is full" }
  if (code === "25006") return { reason: "ReadOnly", code, explanation: "the database is read-only" }
  if (code === "XX001" || code === "XX002") {
    return { reason: "Corrupt", code, explanation: "the server reports corrupt data" }
  }
  return undefined
}

/** Classifies a driver error (a `SqlError`, or what a driver threw). */
export const classify = (error: unknown): Classified => {
  const code = findCode(error)
  if (code !== undefined) {
    if (code.startsWith("SQLITE_")) {
      const known = sqlite(code)
      if (known !== undefined) return known
    } else if (fileCodes[code] !== undefined) {
      return { ...fileCodes[code], code }
    } else if (networkCodes.has(code)) {
      return { reason: "Unreachable", code, explanation: "the server cannot be reached" }
    } else if (/^[0-9A-Z]{5}$/.test(code)) {
      const known = postgres(code)
      if (known !== undefined) return known
    }
  }
  const text = messages(error)
  if (/directory does not exist/i.test(text)) {
    return { reason: "Unreachable", code, explanation: "its directory does not exist" }
  }
  if (/connection (timed out|terminated)|timeout expired|failed to (connect|acquire connection)/i.test(text)) {
    return { reason: "Unreachable", code, explanation: "the server cannot be reached" }
  }
  const first = text.trim().split("\n")[0] ?? ""
  return { reason: "Failed", code, explanation: first === "" ? "an unexpected error occurred" : first }
}

/** A `StoreError` for a driver error, with `action` saying what was being done. */
export const toQueueError = (store: string, action: string, error: unknown): StoreError => {
  if (error instanceof StoreError) return error
  const classified = classify(error)
  const code = classified.code === undefined ? "" : ` (${classified.code})`
  return new StoreError({
    reason: classified.reason,
    store,
    detail: `${action}: ${classified.explanation}${code}`,
    ...(classified.code === undefined ? {} : { code: classified.code }),
    cause: error
  })
}

/**
 * The queue's error for a store that failed at something other than storing one message (reading,
 * counting): reason `StoreFailed`, no message id, the `StoreError` as its cause.
 */
export const storeFailed = (error: StoreError): QueueError =>
  new QueueError({ reason: "StoreFailed", detail: error.message, cause: error })

/** The queue's error for a store that failed at something done to one message (giving it back). */
export const storeFailedFor = (messageId: string, what: string) => (error: StoreError): QueueError =>
  new QueueError({
    reason: "StoreFailed",
    messageId,
    detail: `message ${messageId}: ${what}: ${error.message}`,
    cause: error
  })

/**
 * Runs `body` in a transaction of `sql`, failing with a `StoreError` for whatever goes wrong — also
 * when the driver dies committing or rolling back (`effect/sql` turns those into defects), keeping the
 * first error of the body when there was one. With `rollbackAfterFailure` (SQLite), a failed
 * transaction that SQLite left open is rolled back, so the connection stays usable.
 */
export const transaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  body: Effect.Effect<A, E, R>,
  options: { readonly store: string; readonly action: string; readonly rollbackAfterFailure: boolean }
): Effect.Effect<A, StoreError, R> =>
  Effect.suspend(() => {
    let first: unknown = undefined
    return body.pipe(
      Effect.tapError((error) => Effect.sync(() => first ??= error)),
      sql.withTransaction,
      Effect.catchDefect((defect) => Effect.fail(first ?? defect)),
      Effect.tapError(() =>
        options.rollbackAfterFailure ? Effect.ignore(Effect.exit(sql.unsafe("ROLLBACK"))) : Effect.void
      ),
      Effect.mapError((error) => toQueueError(options.store, options.action, error))
    )
  })
