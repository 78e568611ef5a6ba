/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as BrokerUrl from "./BrokerUrl.js"

/** @since 0.1.0 */
export * as Entity from "./Entity.js"

/** @since 0.1.0 */
export * as Envelope from "./Envelope.js"

/** @since 0.1.0 */
export * as Environment from "./Environment.js"

/** @since 0.1.0 */
export * as Field from "./Field.js"

/** @since 0.1.0 */
export * as Message from "./Message.js"

/** @since 0.1.0 */
export * as Model from "./Model.js"

/** @since 0.1.0 */
export * as OriginDate from "./OriginDate.js"

/** @since 0.1.0 */
export * as StellaNowConfig from "./StellaNowConfig.js"

/** @since 0.1.0 */
export * as StellaNowError from "./StellaNowError.js"

/** @since 0.1.0 */
export * as Auth from "./Auth.js"

/** @since 0.1.0 */
export * as AuthOidc from "./AuthOidc.js"

/** @since 0.1.0 */
export * as MessageQueue from "./MessageQueue.js"

/** @since 0.1.0 */
export * as Sink from "./Sink.js"

/** @since 0.1.0 */
export * as StellaNow from "./StellaNow.js"

/** @since 0.1.0 */
export * as StellaNowLive from "./StellaNowLive.js"

/**
 * The Promise front door and the `configure…Sdk` presets, exported by name for code that does not
 * use Effect.
 *
 * @since 0.1.0
 */
export * from "./StellaNowSDK.js"

/** @since 0.1.0 */
export {
  ConfigurationError,
  ConnectionError,
  LifecycleError,
  QueueFullError,
  ValidationError
} from "./StellaNowError.js"

/** @since 0.1.0 */
export * as Metrics from "./Metrics.js"
