/**
 * Plain async code: the Promise front door with `await using`, which stops the SDK and releases
 * its sockets when the block ends.
 */
import { configureSdk, Environment, ValidationError } from "@stellanow/sdk"
import { startEmbeddedBroker } from "./embedded-broker.js"
import { UserDetailsUpdateMessage } from "./messages/index.js"

const broker = await startEmbeddedBroker()
try {
  await using sdk = configureSdk({
    auth: "none",
    environment: Environment.custom({ brokerUrl: broker.url }),
    // aedes speaks MQTT 3.1.1; the platform and mosquitto speak MQTT 5, the default.
    protocolVersion: 4,
    organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
    projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
    logLevel: "warn"
  })
  await sdk.start()
  const id = await sdk.sendMessageAndWait(new UserDetailsUpdateMessage({ patron: "12345", user_id: "user_0" }))
  console.log(`acknowledged ${id}`)
  try {
    new UserDetailsUpdateMessage({ patron: "12345", user_id: "user_1", messageOriginDateUTC: "2025-04-25 12:00:00Z" })
  } catch (error) {
    if (error instanceof ValidationError) console.log(`refused before queueing: ${error.message}`)
  }
} finally {
  await broker.close()
}
