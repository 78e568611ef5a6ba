/**
 * Until the SDK imports mqtt in a way browser bundles understand: mqtt's browser build has only a
 * default export, so the page bundles alias `mqtt` to this module.
 */
// @ts-expect-error: mqtt's browser build has no type declarations of its own.
import mqtt from "../../../node_modules/mqtt/dist/mqtt.esm.js"

export const { connect, connectAsync } = mqtt
export default mqtt
