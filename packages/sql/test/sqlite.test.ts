/** The SQLite queue: the shared suite on temporary files. */
import { afterAll } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqliteQueue } from "../src/index.js"
import { conformance } from "./support/conformance.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stellanow-sqlite-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

conformance(
  "sqlite",
  (options, store) =>
    SqliteQueue.layer({ ...options, filename: path.join(dir, `${store}.db`), lockTimeout: "1 second" }),
  { persistent: true }
)
