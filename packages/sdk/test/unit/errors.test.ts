/**
 * The error classes the README lists after the plain async example are what the package entry exports:
 * each, imported by name, is a constructor of an `Error` carrying the documented `_tag`.
 */
import * as Sdk from "@stellanow/sdk"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const readme = fs.readFileSync(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../README.md"),
  "utf8"
)

/** The class names of the README's sentence "Failures reject with the SDK's error classes. …". */
const listedInReadme = (): ReadonlyArray<string> => {
  const start = readme.indexOf("Failures reject with the SDK's error classes.")
  expect(start).toBeGreaterThan(-1)
  const paragraph = readme.slice(start, readme.indexOf("\n\n", start))
  return [...paragraph.matchAll(/`(\w+Error)`/g)].map((match) => match[1]!)
}

/** Fields that make a valid instance of each class. */
const examples: Record<string, object> = {
  ValidationError: { reason: "InvalidField", detail: "d" },
  ConfigurationError: { reason: "InvalidOption", detail: "d" },
  ConnectionError: { reason: "Refused", detail: "d" },
  AuthError: { reason: "Refused", detail: "d" },
  QueueFullError: { capacity: 1, messageId: "m" },
  LifecycleError: { reason: "Closed", detail: "d" }
}

describe("the error classes", () => {
  it("the README lists six, and has an example for each here", () => {
    expect([...listedInReadme()].sort()).toEqual(Object.keys(examples).sort())
  })

  it.each(listedInReadme())("%s is exported by name: a constructor of an Error with its _tag", (name) => {
    const ErrorClass = (Sdk as unknown as Record<string, new(fields: object) => Error & { _tag: string }>)[name]
    expect(typeof ErrorClass).toBe("function")
    const error = new ErrorClass!(examples[name]!)
    expect(error).toBeInstanceOf(Error)
    expect(error).toBeInstanceOf(ErrorClass!)
    expect(error._tag).toBe(name)
    // The same class as the namespace's, so `instanceof` agrees whichever way it was imported.
    expect(ErrorClass).toBe((Sdk.StellaNowError as Record<string, unknown>)[name])
  })
})
