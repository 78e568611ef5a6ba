/**
 * Names: console names (snake_case, kebab-case, anything) to class names, file names and keys.
 */

/** Letters and decimal digits, with the combining marks that follow them. */
const wordPattern = /[\p{L}\p{Nd}][\p{L}\p{Nd}\p{Mn}\p{Mc}]*/gu

/** `userLogin` → `user` `Login`; `HTTPServer` → `HTTP` `Server`. */
const camelBoundary = /(?<=[\p{Ll}\p{Nd}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/u

const identifierPattern = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u

/** The words of a name: `user_details-Update2` → `user` `details` `Update2`. */
export const words = (name: string): ReadonlyArray<string> =>
  (name.match(wordPattern) ?? []).flatMap((word) => word.split(camelBoundary))

/** Whether `s` can be written as a bare identifier (or object key) in TypeScript. */
export const isIdentifier = (s: string): boolean => identifierPattern.test(s)

/**
 * A class name: the words in PascalCase plus the suffix, prefixed with `_` when it would start with a
 * digit. `undefined` when the name has no letter or digit at all.
 */
export const className = (name: string, suffix: string): string | undefined => {
  const parts = words(name)
  if (parts.length === 0) return undefined
  const pascal = parts.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join("")
  const result = /^\p{Nd}/u.test(pascal) ? `_${pascal}${suffix}` : `${pascal}${suffix}`
  return isIdentifier(result) ? result : undefined
}

/** A file name: the words in lower case joined by dashes, plus the suffix. */
export const fileName = (name: string, suffix: string): string =>
  [...words(name), suffix].map((word) => word.toLowerCase()).join("-") + ".ts"

/**
 * A string literal: JSON's escaping, plus the two line separators JSON leaves alone (they end a line
 * in a comment).
 */
export const literal = (s: string): string =>
  JSON.stringify(s).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")

/** An object key: bare when it is an identifier, quoted otherwise. */
export const key = (name: string): string => isIdentifier(name) ? name : literal(name)
