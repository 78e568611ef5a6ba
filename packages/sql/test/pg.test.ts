/** The PostgreSQL queue: the shared suite on a real server, one table per test. */
import { afterAll, beforeAll } from "@effect/vitest"
import { PgQueue } from "../src/index.js"
import { conformance } from "./support/conformance.js"
import { type Postgres, startPostgres } from "./support/Postgres.js"

let server: Postgres
let url: string
beforeAll(async () => {
  server = await startPostgres()
  url = await server.createDatabase("conformance")
})
afterAll(() => server?.dispose())

conformance(
  "postgresql",
  (options, store) => PgQueue.layer({ ...options, url, table: store, pollInterval: "50 millis" }),
  { persistent: true }
)
