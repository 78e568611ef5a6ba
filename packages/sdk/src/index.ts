/**
 * The StellaNow SDK: typed event messages, the MQTT sink, message queues, auth, presets, and the
 * Promise front door. Each module is a namespace: `import { Message, StellaNow } from "@stellanow/sdk"`.
 *
 * @since 0.1.0
 * @module @stellanow/sdk
 */

export * as BrokerUrl from "./BrokerUrl.js"

export * as Entity from "./Entity.js"

export * as Envelope from "./Envelope.js"

export * as Environment from "./Environment.js"

export * as Field from "./Field.js"

export * as Message from "./Message.js"

export * as Model from "./Model.js"

export * as OriginDate from "./OriginDate.js"

export * as StellaNowConfig from "./StellaNowConfig.js"

export * as StellaNowError from "./StellaNowError.js"

export * as Auth from "./Auth.js"

export * as AuthOidc from "./AuthOidc.js"

export * as MessageQueue from "./MessageQueue.js"

export * as IndexedDbQueue from "./IndexedDbQueue.js"

export * as DeadLetters from "./DeadLetters.js"

export * as Sink from "./Sink.js"

export * as StellaNow from "./StellaNow.js"

export * as StellaNowLive from "./StellaNowLive.js"

/**
 * The Promise front door and the `configure…Sdk` presets, exported by name for code that does not
 * use Effect.
 *
 * @since 0.1.0
 */
export * from "./StellaNowSDK.js"

/**
 * The error classes, exported by name as well as through the `StellaNowError` namespace, so plain
 * async code can `import { ValidationError } from "@stellanow/sdk"` and match with `instanceof`.
 *
 * @since 0.1.0
 */
export {
  AuthError,
  ConfigurationError,
  ConnectionError,
  LifecycleError,
  PublishError,
  QueueError,
  StoreError,
  ValidationError
} from "./StellaNowError.js"

export * as Metrics from "./Metrics.js"
