/** The queue conformance suite, run in the page against `IndexedDbQueue` (see support/pageVitest.ts). */
import { IndexedDbQueue } from "@stellanow/sdk/browser"
import { conformance } from "../../../../sql/test/support/conformance.js"

conformance("indexeddb", (options, store) => IndexedDbQueue.layer({ ...options, database: store }), {
  persistent: true
})
