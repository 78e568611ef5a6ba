/**
 * What the queue conformance suite (`packages/sql/test/support/conformance.ts`) uses of
 * `@effect/vitest` — `describe`, `it.live` and `assert` — for running it inside a browser page: the
 * page's bundle aliases `@effect/vitest` to this module. Tests are registered by their full names and
 * run one at a time from Node (`globalThis.__tests`, `globalThis.__runTest(name)`), so each is its own
 * vitest test there.
 */
import { Effect, Equal } from "effect"

const tests = new Map<string, () => Effect.Effect<unknown, unknown>>()
const path: Array<string> = []

export const describe = (name: string, body: () => void): void => {
  path.push(name)
  try {
    body()
  } finally {
    path.pop()
  }
}

const register = (name: string, test: () => Effect.Effect<unknown, unknown>) => {
  tests.set([...path, name].join(" > "), test)
}

export const it = { live: register, effect: register }

class AssertionError extends Error {
  override readonly name = "AssertionError"
}

const show = (value: unknown): string => {
  try {
    const text = JSON.stringify(value, (_, v) => (typeof v === "string" && v.length > 200 ? `${v.slice(0, 200)}…` : v))
    return text === undefined ? String(value) : text
  } catch {
    return String(value)
  }
}

/** Structural equality, as chai's deepStrictEqual: same prototypes, same own keys, equal values. */
const deepEqual = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (Equal.isEqual(a) && Equal.equals(a, b)) return true
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  return keysA.length === keysB.length &&
    keysA.every((key) =>
      Object.hasOwn(b, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
    )
}

const check = (ok: boolean, message: string) => {
  if (!ok) throw new AssertionError(message)
}

export const assert = {
  strictEqual: (actual: unknown, expected: unknown) =>
    check(Object.is(actual, expected), `expected ${show(actual)} to equal ${show(expected)}`),
  deepStrictEqual: (actual: unknown, expected: unknown) =>
    check(deepEqual(actual, expected), `expected ${show(actual)} to deeply equal ${show(expected)}`),
  isTrue: (value: unknown) => check(value === true, `expected ${show(value)} to be true`),
  isUndefined: (value: unknown) => check(value === undefined, `expected ${show(value)} to be undefined`),
  include: (haystack: string, needle: string) =>
    check(haystack.includes(needle), `expected ${show(haystack)} to include ${show(needle)}`)
}

/** The outcome of one test, as JSON for Node. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: string }

const runTest = (name: string): Promise<Outcome> => {
  const test = tests.get(name)
  if (test === undefined) return Promise.resolve({ ok: false, error: `no test named ${JSON.stringify(name)}` })
  return Effect.runPromise(test()).then(
    () => ({ ok: true }),
    (error: unknown) => ({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : show(error) })
  )
}

Object.assign(globalThis, { __tests: () => [...tests.keys()], __runTest: runTest })
