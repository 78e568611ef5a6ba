import { StellaNowSDK } from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { describe, expect, it } from "vitest"
import { UserDetailsUpdateMessage } from "../fixtures/messages.js"

describe("the Promise front door in a tight loop", () => {
  // Each send into the memory queue completes at once. Were every `await sdk.sendMessage` settled on
  // microtasks alone, the drain would get no turn until the loop ended: nothing would be delivered
  // while the caller sends, and the whole loop's messages would wait in the queue.
  it("delivers while a caller awaits sendMessage after sendMessage", async () => {
    await using sdk = new StellaNowSDK(Testing.layer({ queueOptions: { capacity: 10_000 } }), { logLevel: "none" })
    await sdk.start()
    let acknowledged = 0
    const unsubscribe = await sdk.onEvent((event) => {
      if (event._tag === "Acknowledged") acknowledged++
    })
    let largestQueue = 0
    for (let i = 0; i < 5_000; i++) {
      await sdk.sendMessage(new UserDetailsUpdateMessage({ patron: "p", user_id: `u${i}` }))
      if (i % 500 === 499) largestQueue = Math.max(largestQueue, await sdk.queueSize())
    }
    const acknowledgedWhileLooping = acknowledged
    unsubscribe()
    expect(acknowledgedWhileLooping).toBeGreaterThan(0)
    // The queue never held the loop's messages: the drain kept up, a window of in-flight messages behind.
    expect(largestQueue).toBeLessThan(2_500)
  })
})
