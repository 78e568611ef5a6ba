/**
 * What a broker connection (`mqttConnection.ts`) needs of an MQTT client, so that either can carry it:
 * mqtt.js (`mqttJsClient.ts`: TCP, TLS and WebSockets, in Node, Deno and Bun) or the small WebSocket
 * client for pages (`wsClient.ts`). A client is one connection: made connecting, told what happens
 * through {@link Events}, and ended once.
 */
import type { IConnackPacket } from "mqtt"
import type { Credentials } from "../Auth.js"
import type { Settings } from "./mqttConnection.js"

/** The CONNACK as mqtt.js reads it (the WebSocket client reads the same fields). */
export type Connack = IConnackPacket

/** A DISCONNECT from the broker: its reason code and reason string (MQTT 5). */
export interface Disconnect {
  readonly reasonCode?: number | undefined
  readonly properties?: { readonly reasonString?: string | undefined } | undefined
}

/** What happens to a client's connection, as it happens. */
export interface Events {
  /** The broker accepted the CONNECT. */
  readonly connack: (packet: Connack) => void
  /**
   * Something went wrong: before the CONNACK, why the attempt failed (a refused CONNECT is an error
   * whose `code` is the reason code); after it, why the connection is ending.
   */
  readonly error: (error: unknown) => void
  /** The broker sent a DISCONNECT. */
  readonly disconnect: (packet: Disconnect) => void
  /** The connection closed (after `error` or `disconnect`, if either). */
  readonly close: () => void
  /** A PINGREQ went out: the broker's next PINGRESP proves it read everything sent before it. */
  readonly pingSent: () => void
  /** A PINGRESP came. */
  readonly pingAnswered: () => void
}

/** A connected, or connecting, client. */
export interface Client {
  /**
   * Publishes QoS 1. `callback` is called once: with nothing when the broker acknowledged it, with an
   * error whose `code` is the reason code when the broker refused it, with another error when the
   * connection went down first.
   */
  readonly publish: (topic: string, payload: string, callback: (error?: Error | null) => void) => void
  /**
   * Ends the connection: at once when `force`, else with a DISCONNECT after what is in flight.
   * `callback` is called once it has ended.
   */
  readonly end: (force: boolean, callback?: () => void) => void
  /**
   * For a client that leaves its keepalive to the connection: called every keepalive interval (the
   * broker's Server Keep Alive, if it set one), it sends a PINGREQ, or ends the connection with an
   * error when the last one went unanswered. A client without it (mqtt.js) keeps its own.
   */
  readonly ping?: (() => void) | undefined
}

/** Makes a client connecting with the settings and credentials, telling `events` what happens. */
export type Connector = (settings: Settings, credentials: Credentials, events: Events) => Client
