/**
 * The StellaNow SDK for web pages (`@stellanow/sdk/browser`): typed event messages, the SDK over
 * secure WebSockets, a token provider for the app's own login, and the Promise front door. Nothing in it
 * needs Node.js: no TCP or TLS options, no passwords, no environment variables.
 *
 * ```ts
 * import { configureBrowserSdk } from "@stellanow/sdk/browser"
 * ```
 *
 * Message classes declared against `@stellanow/sdk` (generated ones are) work with it unchanged: both
 * entries share the same modules.
 *
 * @since 0.2.0
 * @module @stellanow/sdk/browser
 */

export * as Entity from "./Entity.js"

export * as Envelope from "./Envelope.js"

export * as Environment from "./Environment.js"

export * as Field from "./Field.js"

export * as Message from "./Message.js"

export * as Model from "./Model.js"

export * as OriginDate from "./OriginDate.js"

export * as StellaNowError from "./StellaNowError.js"

export * as Auth from "./Auth.js"

export * as MessageQueue from "./MessageQueue.js"

export * as IndexedDbQueue from "./IndexedDbQueue.js"

export * as StellaNow from "./StellaNow.js"

export * as StellaNowBrowser from "./StellaNowBrowser.js"

export * as Metrics from "./Metrics.js"

/**
 * The Promise front door for pages, exported by name for code that does not use Effect.
 *
 * @since 0.2.0
 */
export { configureBrowserSdk } from "./StellaNowBrowser.js"

/**
 * The Promise front door's class and options.
 *
 * @since 0.2.0
 */
export { type FacadeOptions, StellaNowSDK, type UserLogger } from "./internal/facade.js"

/**
 * The error classes, exported by name as well as through the `StellaNowError` namespace, so plain
 * async code can match with `instanceof`.
 *
 * @since 0.2.0
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
