/** The SDK's in-memory queues pass the same suite as the persistent ones. */
import { MessageQueue } from "@stellanow/sdk"
import { conformance } from "./support/conformance.js"

conformance(
  "memory",
  (options) =>
    options.order === "fifo"
      ? MessageQueue.layerFifo({ capacity: options.capacity, overflow: options.overflow })
      : MessageQueue.layerLifo({ capacity: options.capacity, overflow: options.overflow }),
  { persistent: false }
)
