/**
 * Secrets stay secret: every log line (at the lowest level), every span (name, attributes, events and
 * failures) and every error of a full OIDC run — login, refreshes, reconnects, a refused refresh,
 * then a refused login through both the Effect API and the Promise facade — is searched for the
 * password and for every token the provider issued.
 */
import { assert, describe, it } from "@effect/vitest"
import { configureSdk, StellaNow } from "@stellanow/sdk"
import { Cause, Effect, Exit, Layer, Logger, References, Result } from "effect"
import * as util from "node:util"
import { type CapturedSpan, makeSpanCapture } from "../support/SpanCapture.js"
import { password, sdkLayer, sendAll, servers, settings, until } from "./support/Fixture.js"

const inspect = (value: unknown) => util.inspect(value, { depth: 12, getters: true, showHidden: true })

/** A logger that keeps everything it is given, rendered every way a logger might render it. */
const makeLogCapture = () => {
  const lines: Array<string> = []
  const logger = Logger.make((options) => {
    lines.push(
      Logger.formatLogFmt.log(options),
      Logger.formatJson.log(options),
      inspect(options.message),
      Cause.pretty(options.cause),
      inspect(options.fiber.getRef(References.CurrentLogAnnotations))
    )
  })
  const layer = Layer.merge(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, "All"))
  return { lines, layer }
}

/** Every span rendered as an exporter would take it: its events, and once ended, its attributes and failure. */
const spanRecords = (spans: ReadonlyArray<CapturedSpan>): Array<string> =>
  spans.flatMap(({ attributes, events, exit, name }) => [
    ...events.map((event) => `${name} event ${event.name} ${inspect(event.attributes)}`),
    // What exporters take from an exit: the failure (status, exception events), not the value.
    ...(exit === undefined ? [] : [
      `${name} ${inspect(Object.fromEntries(attributes))} ${
        Exit.isSuccess(exit) ? "ok" : `${Cause.pretty(exit.cause)} ${inspect(exit.cause)}`
      }`
    ])
  ])

describe("OIDC secrets", () => {
  it.live("no password or token in any log line, span or error of a full run", () =>
    Effect.gen(function*() {
      const env = yield* servers({ accessTokenLifetime: 3, refreshTokenLifetime: 10 })
      const { broker, idp } = env
      const logs = makeLogCapture()
      const spans = makeSpanCapture()
      const errors: Array<string> = []

      // A run with a login, refreshes, reconnects onto fresh tokens, and a refused refresh.
      yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        yield* sdk.start
        let sent = 0
        const sendUntil = (condition: () => boolean) =>
          Effect.gen(function*() {
            while (!condition()) {
              sent += (yield* sendAll(sdk, sent, 10)).length
              yield* Effect.sleep("50 millis")
            }
          })
        yield* sendUntil(() => idp.stats.refreshes >= 1 && broker.connections.length >= 2)
        idp.refuseRefresh = true
        yield* sendUntil(() => idp.stats.logins >= 2 && broker.connections.length >= 3)
        yield* until(() => broker.until(() => broker.recorded.counts.size >= sent, 10_000, "all arrived"))
        yield* sdk.stop()
      }).pipe(
        Effect.provide(sdkLayer(env)),
        Effect.provide(logs.layer),
        Effect.withTracer(spans.tracer)
      )

      // A refused login, through the Effect API…
      idp.refuseLogin = true
      const refused = yield* Effect.gen(function*() {
        const sdk = yield* StellaNow.StellaNow
        yield* sendAll(sdk, 0, 3)
        return yield* Effect.result(sdk.start)
      }).pipe(
        Effect.provide(sdkLayer(env)),
        Effect.provide(logs.layer),
        Effect.withTracer(spans.tracer)
      )
      assert.isTrue(Result.isFailure(refused))
      const error = (refused as Result.Failure<void, StellaNow.StartError>).failure
      assert.strictEqual(error._tag, "AuthError")
      errors.push(error.message, inspect(error), JSON.stringify(error), String(error), error.stack ?? "")

      // …and through the Promise facade, with a user logger.
      const userLines: Array<string> = []
      const userLogger = {
        debug: (...args: Array<unknown>) => void userLines.push(inspect(args)),
        info: (...args: Array<unknown>) => void userLines.push(inspect(args)),
        warn: (...args: Array<unknown>) => void userLines.push(inspect(args)),
        error: (...args: Array<unknown>) => void userLines.push(inspect(args))
      }
      const facadeError = yield* Effect.promise(async () => {
        const sdk = configureSdk({ ...settings(env), logger: userLogger, logLevel: "debug" })
        try {
          await sdk.start()
          return undefined
        } catch (thrown) {
          return thrown
        } finally {
          await sdk.close()
        }
      })
      assert.instanceOf(facadeError, Error)
      assert.strictEqual((facadeError as { _tag?: unknown })._tag, "AuthError")
      errors.push(inspect(facadeError), JSON.stringify(facadeError), String(facadeError))

      // What was searched is what was meant to be searched.
      const all = [...logs.lines, ...spanRecords(spans.spans), ...errors, ...userLines].join("\n")
      assert.isAbove(logs.lines.length, 50)
      assert.include(all, "logged in as")
      assert.include(all, "refused the refresh token")
      assert.include(all, "renewing the connection before its credentials expire")
      assert.include(all, "refused the login of")
      // The connection's debug lines (the access token is the MQTT username) were searched too.
      assert.include(all, "a username (not shown), expiring in")
      assert.include(all, "CONNACK from")
      assert.isAbove(userLines.length, 0)
      const names = spans.spans.map((span) => span.name)
      assert.includeMembers(names, ["AuthOidc.login", "AuthOidc.refresh", "AuthOidc.credentials"])
      // Effect 4 names an HTTP client span after the method alone ("POST"): it is known by its attributes.
      assert.isTrue(
        spans.spans.some((span) => span.name === "POST" && span.attributes.has("http.request.method")),
        "HTTP client spans captured"
      )
      assert.isAtLeast(idp.issued.accessTokens.length, 3)

      // The secrets: the password, and every token issued (whole, and the signature part alone).
      const tokens = [...idp.issued.accessTokens, ...idp.issued.refreshTokens]
      const secrets = [password, ...tokens, ...tokens.map((t) => t.split(".")[2]!)]
      for (const secret of secrets) {
        assert.isAtLeast(secret.length, 20)
        assert.isFalse(all.includes(secret), `a secret leaked: …${secret.slice(-8)}`)
      }
      // Context is not silently dropped either: the user, the realm and the broker are named.
      assert.include(all, "ingestor@acme.test")
    }), { timeout: 60_000 })
})
