/**
 * The error model: one class per domain, each with its `reason`s. The table below is the whole of it;
 * the classes the README lists after the plain async example, the classes of the `StellaNowError`
 * module and the names the package entry exports must all be the table's, and each class's `reason`
 * literals must be the table's too (a reason added or removed is a public API change, see CHANGELOG.md).
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

/** The class names of the README's paragraph "Failures reject with the SDK's error classes, …". */
const listedInReadme = (): ReadonlyArray<string> => {
  const start = readme.indexOf("Failures reject with the SDK's error classes")
  expect(start).toBeGreaterThan(-1)
  const paragraph = readme.slice(start, readme.indexOf("\n\n", start))
  return [...paragraph.matchAll(/`(\w+Error)`/g)].map((match) => match[1]!)
}

/** Every error class, by domain: its reasons, and fields that make a valid instance. */
const errorModel: Record<string, { readonly reasons: ReadonlyArray<string>; readonly example: object }> = {
  ValidationError: {
    reasons: [
      "MissingEntity",
      "InvalidEntity",
      "InvalidField",
      "InvalidOriginDate",
      "InvalidPayload",
      "TooDeep",
      "TooLarge"
    ],
    example: { reason: "InvalidField", detail: "d" }
  },
  ConfigurationError: {
    reasons: ["MissingVariable", "InvalidVariable", "InvalidBrokerUrl", "InvalidOption"],
    example: { reason: "InvalidOption", detail: "d" }
  },
  ConnectionError: {
    reasons: ["Unreachable", "Refused", "Tls", "Timeout", "Closed", "DuplicateClientId", "Stopped"],
    example: { reason: "Refused", detail: "d" }
  },
  AuthError: {
    reasons: ["Refused", "Unreachable", "InvalidResponse", "WrongTokenUrl", "ProviderFailed"],
    example: { reason: "Refused", detail: "d" }
  },
  PublishError: {
    reasons: ["NotConnected", "ConnectionLost", "Rejected", "Timeout"],
    example: { reason: "Rejected", messageId: "m", detail: "d" }
  },
  QueueError: {
    reasons: ["Full", "Dropped", "StoreFailed", "Closed", "DeadLettered"],
    example: { reason: "Full", messageId: "m", capacity: 1, detail: "d" }
  },
  StoreError: {
    reasons: [
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
    ],
    example: { reason: "Corrupt", store: "s", detail: "d" }
  },
  LifecycleError: {
    reasons: ["StartTimeout", "Closed", "Fatal"],
    example: { reason: "Closed", detail: "d" }
  }
}

type ErrorClass = (new(fields: object) => Error & { readonly _tag: string; readonly reason: string }) & {
  readonly fields: { readonly reason: { readonly literals: ReadonlyArray<string> } }
}

const byName = Sdk as unknown as Record<string, ErrorClass | undefined>
const inModule = Sdk.StellaNowError as unknown as Record<string, ErrorClass | undefined>

describe("the error classes", () => {
  it("the README lists every class of the error model", () => {
    expect([...listedInReadme()].sort()).toEqual(Object.keys(errorModel).sort())
  })

  it("the README's table of the queue's errors has a row for every reason of QueueError and StoreError", () => {
    const start = readme.indexOf("### The queue's errors")
    expect(start).toBeGreaterThan(-1)
    const table = readme.slice(start, readme.indexOf("\n\n", readme.indexOf("| --- |", start)))
    for (const name of ["QueueError", "StoreError"]) {
      const listed = table.split("\n")
        .filter((row) => row.startsWith(`| \`${name}\``))
        .flatMap((row) => [...row.split("|")[1]!.matchAll(/`"(\w+)"`/g)].map((match) => match[1]!))
      expect([...listed].sort()).toEqual([...errorModel[name]!.reasons].sort())
    }
  })

  it("the StellaNowError module holds exactly the error model's classes", () => {
    const classes = Object.entries(inModule)
      .filter(([, value]) => typeof value === "function" && value.prototype instanceof Error)
      .map(([name]) => name)
    expect(classes.sort()).toEqual(Object.keys(errorModel).sort())
  })

  it.each(Object.keys(errorModel))("%s is exported by name: an Error with its _tag and its reasons", (name) => {
    const ErrorClass = byName[name]
    expect(typeof ErrorClass).toBe("function")
    const error = new ErrorClass!(errorModel[name]!.example)
    expect(error).toBeInstanceOf(Error)
    expect(error).toBeInstanceOf(ErrorClass!)
    expect(error._tag).toBe(name)
    expect(error.name).toBe(name)
    expect(ErrorClass!.fields.reason.literals).toEqual(errorModel[name]!.reasons)
    // The same class as the namespace's, so `instanceof` agrees whichever way it was imported.
    expect(ErrorClass).toBe(inModule[name])
  })
})
