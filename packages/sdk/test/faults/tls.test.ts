/**
 * Faults of the broker's TLS and of a start that cannot connect, against a real mosquitto: a
 * certificate that does not verify (unknown CA, host name mismatch) fails `start` at once with a
 * `ConnectionError{Tls}` carrying the certificate error, rather than being retried until the start
 * timeout; a start that times out says the last connection error.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConnectionError, Environment, LifecycleError, StellaNow, StellaNowLive } from "@stellanow/sdk"
import { Effect, Schedule } from "effect"
import { freePorts, mosquittoResource } from "../support/Mosquitto.js"

const project = {
  organizationId: "4b6f7c1e-2d3a-4e5f-8a9b-0c1d2e3f4a5b",
  projectId: "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"
} as const

/** Starts the SDK against `brokerUrl`; the failure of `start`. */
const startFailure = (brokerUrl: string, options: Partial<StellaNowLive.Options> = {}) =>
  StellaNow.start.pipe(
    Effect.flip,
    Effect.provide(StellaNowLive.layer({
      ...project,
      auth: "none",
      environment: Environment.custom({ brokerUrl }),
      reconnectSchedule: Schedule.spaced("100 millis"),
      connectTimeout: "5 seconds",
      startTimeout: "20 seconds",
      ...options
    }))
  )

describe("TLS and start faults against mosquitto", () => {
  it.live(
    "a broker certificate from an unknown CA fails start at once with ConnectionError{Tls}",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource({ tls: true })
        const error = yield* startFailure(broker.url("mqtts"))
        assert.instanceOf(error, ConnectionError)
        assert.strictEqual((error as ConnectionError).reason, "Tls")
        assert.match(error.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|certificate/)
        assert.include(error.message, broker.url("mqtts"))
      }),
    15_000
  )

  it.live(
    "a broker certificate for another host name fails start at once with ConnectionError{Tls}",
    () =>
      Effect.gen(function*() {
        const broker = yield* mosquittoResource({ tls: true })
        const error = yield* startFailure(broker.url("mqtts"), {
          tls: { ca: broker.ca!, servername: "not-the-broker.example" }
        })
        assert.instanceOf(error, ConnectionError)
        assert.strictEqual((error as ConnectionError).reason, "Tls")
        assert.match(error.message, /ERR_TLS_CERT_ALTNAME_INVALID/)
        assert.include(error.message, "not-the-broker.example")
      }),
    15_000
  )

  it.live("a start that times out carries the last connection error", () =>
    Effect.gen(function*() {
      const [port] = yield* Effect.promise(() => freePorts(1))
      const error = yield* startFailure(`mqtt://127.0.0.1:${port}`, { startTimeout: "1 second" })
      assert.instanceOf(error, LifecycleError)
      assert.strictEqual((error as LifecycleError).reason, "StartTimeout")
      assert.match(error.message, /ECONNREFUSED/)
      const cause = (error as LifecycleError).cause
      assert.instanceOf(cause, ConnectionError)
      assert.strictEqual((cause as ConnectionError).reason, "Unreachable")
    }), 15_000)
})
