/**
 * Copied beside the README's snippets by `readme.test.ts`. A snippet that only configures the SDK (a
 * Promise SDK or an SDK layer) says `then="import { sendOne } from './drive.js'; await sendOne(sdk)"`
 * in its marker: this sends one `readme_check` message through it, waits for the broker's PUBACK,
 * prints `sent <message id>` and closes.
 */
import { type ConfigurationError, Field, Message, type StellaNow, StellaNowSDK, type StoreError } from "@stellanow/sdk"
import type { Layer } from "effect"

class ReadmeCheckMessage extends Message.Class<ReadmeCheckMessage>("ReadmeCheckMessage")({
  event: "readme_check",
  entities: ["patron"],
  fields: { check: Field.String }
}) {}

export const sendOne = async (
  configured: StellaNowSDK | Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError>
): Promise<void> => {
  const sdk = configured instanceof StellaNowSDK ? configured : StellaNowSDK.fromLayer(configured)
  try {
    await sdk.start()
    const id = await sdk.sendMessageAndWait(new ReadmeCheckMessage({ patron: "readme", check: "sent" }))
    console.log(`sent ${id}`)
  } finally {
    await sdk.close()
  }
}
