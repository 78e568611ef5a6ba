/**
 * Random UUIDs (v4, RFC 9562 §5.4) wherever the SDK runs, from `crypto.getRandomValues`: the same
 * CSPRNG as `crypto.randomUUID`, and there everywhere — browsers give `randomUUID` only to secure
 * pages (https, localhost), so a page served over plain http gets its ids this way too.
 *
 * Hand-written rather than `crypto.randomUUID()`, because measurements justify it: bytes drawn 256 ids
 * at a time, and each id made by one `String.fromCharCode` of its 36 characters, a flat 36-byte string.
 * `randomUUID`'s result is a tree of 20 string pieces (about 600 bytes to make per message, against
 * about 60), which the envelope would keep for every queued message, and took five times as long
 * (packages/bench, `send_us`). `test/unit/Envelope.test.ts` ties the format to RFC 9562.
 */

/** Random bytes for 256 ids, drawn at once: one `getRandomValues` call per 256 ids, not per id. */
const pool = new Uint8Array(16 * 256)
let offset = pool.length

/** The character codes of the hex digits. */
const hexDigits = Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0))
const hi = (byte: number): number => hexDigits[byte >> 4]!
const lo = (byte: number): number => hexDigits[byte & 15]!
const dash = 45

/** A random UUID v4. */
export const random = (): string => {
  if (offset === pool.length) {
    globalThis.crypto.getRandomValues(pool)
    offset = 0
  }
  const b = pool
  const i = offset
  offset += 16
  const version = (b[i + 6]! & 0x0f) | 0x40 // 4: random
  const variant = (b[i + 8]! & 0x3f) | 0x80 // 10xx: RFC 9562
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
