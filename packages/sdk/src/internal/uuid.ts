/**
 * Random UUIDs (v4, RFC 9562 §5.4) wherever the SDK runs. `crypto.randomUUID` is the fast path, but
 * browsers give it only to secure pages (https, localhost); `crypto.getRandomValues` is everywhere, so
 * a page served over plain http gets the same ids from it.
 */

/** `00` to `ff`, by byte value. */
const hex = Array.from({ length: 256 }, (_, byte) => (byte + 0x100).toString(16).slice(1))

/** Random bytes for 256 ids, drawn at once: one `getRandomValues` call per 256 ids, not per id. */
const pool = new Uint8Array(16 * 256)
let offset = pool.length

/** A UUID v4 from `crypto.getRandomValues`. */
export const fromRandomValues = (): string => {
  if (offset + 16 > pool.length) {
    globalThis.crypto.getRandomValues(pool)
    offset = 0
  }
  const b = pool
  const o = offset
  offset += 16
  // The version (4) in the high nibble of byte 6, the variant (10xx) in the high bits of byte 8.
  const version = hex[(b[o + 6]! & 0x0f) | 0x40]!
  const variant = hex[(b[o + 8]! & 0x3f) | 0x80]!
  return hex[b[o]!]! + hex[b[o + 1]!]! + hex[b[o + 2]!]! + hex[b[o + 3]!]! + "-" +
    hex[b[o + 4]!]! + hex[b[o + 5]!]! + "-" + version + hex[b[o + 7]!]! + "-" +
    variant + hex[b[o + 9]!]! + "-" + hex[b[o + 10]!]! + hex[b[o + 11]!]! + hex[b[o + 12]!]! +
    hex[b[o + 13]!]! + hex[b[o + 14]!]! + hex[b[o + 15]!]!
}

/** Whether `crypto.randomUUID` is there: Node, Deno, Bun, and secure pages. */
const hasRandomUUID = typeof globalThis.crypto?.randomUUID === "function"

/** A random UUID v4: `crypto.randomUUID` where there is one, else {@link fromRandomValues}. */
export const random: () => string = hasRandomUUID ? () => globalThis.crypto.randomUUID() : fromRandomValues
