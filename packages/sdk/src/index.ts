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
