/**
 * The seed's sample application, in TypeScript: ten `UserDetailsUpdateMessage`s through the Promise
 * front door.
 *
 * With StellaNow credentials in the environment (ORGANIZATION_ID, PROJECT_ID and OIDC_USERNAME /
 * OIDC_PASSWORD, or MQTT_USERNAME / MQTT_PASSWORD; STELLANOW_ENV=prod for production, dev by
 * default) it talks to the platform. Without them it starts an embedded broker and prints what the
 * broker receives.
 */
import {
  configureDevBasicMqttLifoSdk,
  configureDevOidcMqttFifoSdk,
  configureProdBasicMqttFifoSdk,
  configureProdOidcMqttFifoSdk,
  configureSdk,
  Environment,
  type StellaNowSDK
} from "@stellanow/sdk"
import { startEmbeddedBroker } from "./embedded-broker.js"
import { PhoneNumberModel, UserDetailsUpdateMessage } from "./messages/index.js"

const hasPlatformConfig = process.env.ORGANIZATION_ID !== undefined &&
  (process.env.OIDC_USERNAME !== undefined || process.env.MQTT_USERNAME !== undefined)

const connect = async (): Promise<{ sdk: StellaNowSDK; close: () => Promise<void> }> => {
  if (hasPlatformConfig) {
    const prod = process.env.STELLANOW_ENV === "prod"
    const oidc = process.env.OIDC_USERNAME !== undefined
    console.log(`Using the StellaNow ${prod ? "production" : "development"} platform (${oidc ? "OIDC" : "basic"} auth)`)
    const sdk = oidc
      ? (prod ? configureProdOidcMqttFifoSdk() : configureDevOidcMqttFifoSdk())
      : (prod ? configureProdBasicMqttFifoSdk() : configureDevBasicMqttLifoSdk())
    return {
      sdk,
      close: async () => {
        await sdk.close()
      }
    }
  }
  const broker = await startEmbeddedBroker()
  console.log(`No StellaNow credentials set: using an embedded broker at ${broker.url}`)
  const sdk = configureSdk({
    auth: "none",
    environment: Environment.custom({ brokerUrl: broker.url }),
    // aedes speaks MQTT 3.1.1; the platform and mosquitto speak MQTT 5, the default.
    protocolVersion: 4,
    organizationId: process.env.ORGANIZATION_ID ?? "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
    projectId: process.env.PROJECT_ID ?? "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22"
  })
  return {
    sdk,
    close: async () => {
      await sdk.close()
      await broker.close()
    }
  }
}

const main = async () => {
  const { close, sdk } = await connect()
  process.once("SIGINT", () => {
    console.warn("Received Ctrl+C, shutting down gracefully...")
    void sdk.stop().then(close).then(() => process.exit(130))
  })
  try {
    await sdk.start()
    for (let i = 0; i < 10; i++) {
      const message = new UserDetailsUpdateMessage({
        patron: "12345",
        user_id: `user_${i}`,
        phone_number: new PhoneNumberModel({ country_code: 44, number: 753594 + i })
      })
      console.log(`Sending message ${i + 1}...`)
      await sdk.sendMessageAndWait(message)
    }
    console.log(`All messages acknowledged; ${await sdk.queueSize()} left in the queue.`)
    await sdk.stop()
  } finally {
    await close()
  }
}

main().catch((error) => {
  console.error(`Unexpected error occurred: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
