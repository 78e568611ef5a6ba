/**
 * A user's program, compiled and run by `install.test.ts` in a fresh project where the SDK was installed
 * from its tarball: it imports every public entry point, declares a message, sends it through the testing
 * layer, then to the broker at `BROKER_URL`, and prints what happened as one line of JSON.
 */
import {
  AuthError,
  ConfigurationError,
  configureSdk,
  ConnectionError,
  Environment,
  Field,
  LifecycleError,
  Message,
  PublishError,
  QueueError,
  StellaNow,
  StoreError,
  ValidationError
} from "@stellanow/sdk"
import * as Testing from "@stellanow/sdk/testing"
import { Effect } from "effect"

class OrderPlacedMessage extends Message.Class<OrderPlacedMessage>("OrderPlacedMessage")({
  event: "order_placed",
  entities: ["patron"],
  fields: {
    order_id: Field.String,
    quantity: Field.optional(Field.Integer)
  }
}) {}

/** Never called: proves the declaration types the fields (the compiler refuses a number for a string). */
export const typed = () =>
  // @ts-expect-error `order_id` is a string
  new OrderPlacedMessage({ patron: "patron-1", order_id: 1 })

const brokerUrl = process.env.BROKER_URL
if (brokerUrl === undefined) throw new Error("BROKER_URL is not set")

// The testing entry point: the whole SDK on an in-memory sink.
const inMemory = await Effect.gen(function*() {
  const sdk = yield* StellaNow.StellaNow
  yield* sdk.start
  yield* sdk.sendMessageAndWait(new OrderPlacedMessage({ patron: "patron-1", order_id: "order-0" }))
  const sink = yield* Testing.MemorySink
  return (yield* sink.published).length
}).pipe(Effect.provide(Testing.layer()), Effect.runPromise)

// Validation errors are the SDK's own classes, and `instanceof` works across the package boundary.
let validationError = false
try {
  new OrderPlacedMessage({ patron: "patron-1", order_id: "order-x", quantity: 1.5 })
} catch (error) {
  validationError = error instanceof ValidationError
}

// Every error class the README lists, imported by name from the published declarations and module.
const errorTags = [
  new ValidationError({ reason: "InvalidField", detail: "d" }),
  new ConfigurationError({ reason: "InvalidOption", detail: "d" }),
  new ConnectionError({ reason: "Refused", detail: "d" }),
  new AuthError({ reason: "Refused", detail: "d" }),
  new PublishError({ reason: "Rejected", messageId: "m", detail: "d" }),
  new QueueError({ reason: "Full", messageId: "m", detail: "d" }),
  new StoreError({ reason: "Corrupt", store: "s", detail: "d" }),
  new LifecycleError({ reason: "Closed", detail: "d" })
].map((error) => error instanceof Error ? error._tag : "not an Error")

// The exports map hides the SDK's internals (a variable, so the compiler does not resolve it).
const internal: string = "@stellanow/sdk/internal/stellaNow.js"
const internalImport = await import(internal).then(
  () => "resolved",
  (error: { readonly code?: string }) => error.code ?? "failed"
)

// The Promise front door, to a real broker.
const sdk = configureSdk({
  auth: "none",
  environment: Environment.custom({ brokerUrl }),
  organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
  projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
  logLevel: "warn"
})
let messageId: string
try {
  await sdk.start()
  messageId = await sdk.sendMessageAndWait(
    new OrderPlacedMessage({ patron: "patron-1", order_id: "order-1", quantity: 2 })
  )
} finally {
  await sdk.close()
}

console.log(JSON.stringify({ inMemory, validationError, errorTags, internalImport, messageId }))
