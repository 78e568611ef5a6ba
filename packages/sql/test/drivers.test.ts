/**
 * The optional drivers: what a failed import becomes, and the versions the error tells the user to
 * install agree with the package's peer dependencies. (The real thing, a project without a driver, is
 * `package.test.ts`.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Drivers from "../src/internal/drivers.js"

const manifest = JSON.parse(
  fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "../package.json"), "utf8")
) as {
  readonly dependencies: Record<string, string>
  readonly peerDependencies: Record<string, string>
  readonly peerDependenciesMeta: Record<string, { readonly optional?: boolean }>
}

/** An error as Node's ESM loader makes it for a package that is not installed. */
const notFound = (name: string) =>
  Object.assign(new Error(`Cannot find package '${name}' imported from /app/node_modules/x/dist/index.js`), {
    code: "ERR_MODULE_NOT_FOUND"
  })

const failing = (error: unknown): Drivers.Driver<never> => ({ ...Drivers.pg, load: () => Promise.reject(error) })

describe("Drivers", () => {
  for (const driver of [Drivers.sqlite, Drivers.pg]) {
    it(`${driver.packageName} is an optional peer dependency, of the versions the error names`, () => {
      assert.strictEqual(manifest.peerDependencies[driver.packageName], `^${driver.versions}.0`)
      assert.isTrue(manifest.peerDependenciesMeta[driver.packageName]?.optional)
      assert.isUndefined(manifest.dependencies[driver.packageName])
    })
  }

  it.effect("a missing driver is a MissingDriver error naming the command that installs it", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(Drivers.load(failing(notFound("@effect/sql-pg")), "PostgreSQL db:5432/app"))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "MissingDriver")
        assert.strictEqual(result.left.code, "ERR_MODULE_NOT_FOUND")
        assert.strictEqual(
          result.left.message,
          "PostgreSQL db:5432/app: the PostgreSQL driver is not installed: npm install @effect/sql-pg@0.53"
        )
      }
    }))

  it("a driver missing one of its own dependencies is a MissingDriver error saying which", () => {
    const error = Drivers.loadError(Drivers.sqlite, "SQLite file /q.db", notFound("better-sqlite3"))
    assert.strictEqual(error.reason, "MissingDriver")
    assert.include(error.detail, "Cannot find package 'better-sqlite3'")
    assert.include(error.detail, "reinstall it with npm install @effect/sql-sqlite-node@0.53")
  })

  it("a driver that fails to load for another reason is a Failed error with the cause kept", () => {
    const cause = new Error("The module was compiled against a different Node.js version")
    const error = Drivers.loadError(Drivers.sqlite, "SQLite file /q.db", cause)
    assert.strictEqual(error.reason, "Failed")
    assert.include(error.detail, "cannot be loaded: The module was compiled against a different Node.js version")
    assert.strictEqual(error.cause, cause)
  })

  it.effect("an installed driver loads", () =>
    Effect.gen(function*() {
      const SqliteClient = yield* Drivers.load(Drivers.sqlite, "SQLite file /q.db")
      assert.isFunction(SqliteClient.make)
    }))
})
