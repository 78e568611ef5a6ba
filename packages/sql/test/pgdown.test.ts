/**
 * PostgreSQL goes away under a running SDK and comes back, against a real mosquitto: every
 * `sendMessage` that succeeded is delivered (at least once), every one that failed failed with a typed
 * `QueueError{StoreFailed}` (never a defect), `queueSize` fails typed meanwhile, and `stop` and `close`
 * complete while the database is down. Once with the server stopped mid-stream, once with the event
 * loop blocked mid-commit while the server stops, so that the commit's outcome reaches the SDK late.
 */
import { assert, describe, it } from "@effect/vitest"
import { Environment, Message, QueueError, StellaNow, StellaNowLive, StoreError } from "@stellanow/sdk"
import { Cause, type Duration, Effect, Exit, Fiber, Logger, Option, Schedule, Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import { type Mosquitto, startMosquitto, subscribe } from "../../sdk/test/support/Mosquitto.js"
import { PgQueue } from "../src/index.js"
import { tally, waitForAll } from "./support/Counting.js"
import { type Postgres, startPostgres } from "./support/Postgres.js"

const project = {
  organizationId: "5c4f4b8a-3a6e-4d7e-9f51-0d2c2f1b6a11",
  projectId: "9a1d7e52-8c3b-4f0a-b6de-2f7c1e9d4b33"
}
const message = (i: number) =>
  Message.raw({
    eventName: "pg_down",
    entities: [{ entityTypeDefinitionId: "patron", entityId: `p${i}` }],
    payload: JSON.stringify({ i })
  })

let broker: Mosquitto
let server: Postgres
let url: string
beforeAll(async () => {
  ;[broker, server] = await Promise.all([startMosquitto(), startPostgres()])
  url = await server.createDatabase("pgdown")
})
afterAll(async () => {
  await Promise.all([broker?.dispose(), server?.dispose()])
})

/** What became of each `sendMessage`: its id, a typed failure, or anything else (a defect). */
interface Outcomes {
  readonly ok: Array<string>
  readonly failed: Array<QueueError>
  readonly other: Array<string>
}

const record = (outcomes: Outcomes, exit: Exit.Exit<string, unknown>) => {
  if (Exit.isSuccess(exit)) return void outcomes.ok.push(exit.value)
  const error = Cause.findErrorOption(exit.cause)
  if (!Cause.hasDies(exit.cause) && Option.isSome(error) && error.value instanceof QueueError) {
    outcomes.failed.push(error.value)
  } else {
    outcomes.other.push(Cause.pretty(exit.cause))
  }
}

/**
 * Sends a message every few milliseconds, each in a fiber of its own (as an application's concurrent
 * requests would), until `stop`; `stop` waits for every send to finish.
 */
const sender = (sdk: StellaNow.Service, outcomes: Outcomes, first: number) =>
  Effect.gen(function*() {
    const sends: Array<Fiber.Fiber<void>> = []
    let running = true
    // The sends outlive the loop that starts them: they belong to a scope of their own.
    const scope = yield* Scope.make()
    const loop = yield* Effect.forkChild(Effect.gen(function*() {
      for (let i = first; running; i++) {
        const send = Effect.map(Effect.exit(sdk.sendMessage(message(i))), (exit) => record(outcomes, exit))
        sends.push(yield* Effect.forkIn(send, scope))
        yield* Effect.sleep("5 millis")
      }
    }))
    return {
      stop: Effect.gen(function*() {
        running = false
        yield* Fiber.join(loop)
        yield* Fiber.joinAll(sends)
        yield* Scope.close(scope, Exit.void)
      })
    }
  })

/** Waits until `condition` holds, looking every 20 ms. */
const until = (condition: () => boolean, what: string) =>
  Effect.gen(function*() {
    while (!condition()) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.die(new Error(`never: ${what}`)) }))

/** The SDK on a PostgreSQL queue and the test's mosquitto, with a subscriber counting what arrives. */
const withSdk = <A, E>(
  table: string,
  storeTimeout: Duration.Input,
  body: (
    sdk: StellaNow.Service,
    subscriber: Awaited<ReturnType<typeof subscribe>>,
    warnings: ReadonlyArray<string>
  ) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    const subscriber = yield* Effect.acquireRelease(
      Effect.promise(() => subscribe(broker.url("mqtt"), "in/#")),
      (s) => Effect.promise(() => s.close())
    )
    return yield* Effect.flatMap(StellaNow.StellaNow, (sdk) => body(sdk, subscriber, warnings)).pipe(
      Effect.provide(StellaNowLive.layer({
        ...project,
        auth: "none",
        environment: Environment.custom({ brokerUrl: broker.url("mqtt") }),
        queue: PgQueue.layer({ url, table, storeTimeout, leaseDuration: "3 seconds", pollInterval: "50 millis" })
      })),
      Effect.provide(Logger.layer([capture], { mergeWithExisting: true }))
    )
  }).pipe(Effect.scoped)

/** Every failure is a StoreFailed whose cause is a StoreError; nothing else went wrong. */
const assertTyped = (outcomes: Outcomes) => {
  assert.deepStrictEqual(outcomes.other, [], "no defect, no untyped failure")
  for (const error of outcomes.failed) {
    assert.strictEqual(error.reason, "StoreFailed")
    assert.instanceOf(error.cause, StoreError)
  }
}

/** `queueSize` while the database is down: a typed failure, caught by its tag. */
const assertSizeFailsTyped = (sdk: StellaNow.Service) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(sdk.queueSize)
    assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), "queueSize fails typed, not as a defect")
    const caught = yield* Effect.catchTag(sdk.queueSize, "QueueError", (error) => Effect.succeed(error.reason))
    assert.strictEqual(caught, "StoreFailed")
  })

/** Blocks the event loop for `ms`, as a long synchronous computation would. */
const busy = (ms: number) => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // spinning
  }
}

describe("PostgreSQL goes away under a running SDK", () => {
  it.live(
    "stopped and restarted mid-stream: every message sent is delivered, every failure typed",
    () =>
      withSdk("pgdown_stream", "2 seconds", (sdk, subscriber, warnings) =>
        Effect.gen(function*() {
          yield* sdk.start
          const outcomes: Outcomes = { ok: [], failed: [], other: [] }
          const sending = yield* sender(sdk, outcomes, 0)
          yield* until(() => outcomes.ok.length >= 100, "100 messages queued")
          yield* Effect.promise(() => server.stop())
          yield* until(() => outcomes.failed.length >= 5, "sends failing while the server is down")
          yield* assertSizeFailsTyped(sdk)
          // Long enough for several attempts to take and to renew the leases (every second).
          yield* Effect.sleep("2500 millis")
          yield* Effect.promise(() => server.start())
          const count = (pattern: RegExp) => warnings.filter((line) => pattern.test(line)).length
          assert.strictEqual(count(/cannot take from the queue/), 1, "the drain warns once per outage")
          assert.strictEqual(count(/could not extend this instance's leases/), 1, "so does the lease renewal")
          const atRestart = outcomes.ok.length
          yield* until(() => outcomes.ok.length >= atRestart + 100, "100 more queued after the restart")
          yield* sending.stop
          yield* Effect.promise(() => waitForAll(subscriber, outcomes.ok, 60_000))
          assertTyped(outcomes)
          const result = tally(subscriber, outcomes.ok)
          console.log(
            `stopped mid-stream: ${outcomes.ok.length} sent, ${outcomes.failed.length} failed (typed); ` +
              `received ${result.received}, lost ${result.lost}, duplicates ${result.duplicates}`
          )
          assert.strictEqual(result.lost, 0)

          // Stopping and closing while the server is down complete, and say what they could not count.
          yield* Effect.promise(() => server.stop())
          const stopped = yield* sdk.stop({ drainTimeout: "1 second" })
          assert.strictEqual(stopped.storeError?.reason, "StoreFailed")
          const closed = yield* sdk.close({ timeout: "1 second" })
          assert.instanceOf(closed.storeError?.cause, StoreError)
          yield* Effect.promise(() => server.start())
          assert.strictEqual(yield* sdk.queueSize, 0)
        })).pipe(Effect.timeout("120 seconds")),
    150_000
  )

  it.live(
    "the event loop busy mid-commit while the server stops: what resolved is delivered, what failed is typed",
    () =>
      withSdk("pgdown_busy", "1 second", (sdk, subscriber) =>
        Effect.gen(function*() {
          yield* sdk.start
          const outcomes: Outcomes = { ok: [], failed: [], other: [] }
          // Each insert into the queue's table now takes half a second on the server: a commit stays in
          // flight long enough to be caught in the middle.
          yield* Effect.promise(() =>
            server.psql(
              `CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$;
             CREATE TRIGGER slow_insert AFTER INSERT ON pgdown_busy
               FOR EACH STATEMENT EXECUTE FUNCTION slow_insert()`,
              "pgdown"
            )
          )
          const burst = yield* Effect.forkChild(Effect.forEach(
            Array.from({ length: 30 }, (_, i) => i),
            (i) => Effect.map(Effect.exit(sdk.sendMessage(message(100_000 + i))), (exit) => record(outcomes, exit)),
            { concurrency: "unbounded", discard: true }
          ))
          yield* Effect.promise(() =>
            server.psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'", "pgdown")
          ).pipe(Effect.repeat({ until: (sleeping) => sleeping !== "0", schedule: Schedule.spaced("10 millis") }))
          // The commit is on the server. The event loop is blocked while it completes, while the server
          // stops, and past the store's timeout: the commit's answer and the deadline arrive together.
          busy(800)
          server.stopBlocking()
          busy(1_500)
          yield* Fiber.join(burst)
          const sending = yield* sender(sdk, outcomes, 0)
          yield* until(() => outcomes.failed.length >= 35, "sends failing while the server is down")
          yield* assertSizeFailsTyped(sdk)
          yield* Effect.promise(() => server.start())
          yield* Effect.promise(() => server.psql("DROP TRIGGER slow_insert ON pgdown_busy", "pgdown"))
          const atRestart = outcomes.ok.length
          yield* until(() => outcomes.ok.length >= atRestart + 100, "100 more queued after the restart")
          yield* sending.stop
          yield* Effect.promise(() => waitForAll(subscriber, outcomes.ok, 60_000))
          assertTyped(outcomes)
          const result = tally(subscriber, outcomes.ok)
          const unknown = outcomes.failed.filter((error) => (error.cause as StoreError).reason === "Timeout")
          const delivered = new Set(
            subscriber.messages.map((m) => JSON.parse(m.payload.toString()).value.metadata.messageId)
          )
          console.log(
            `busy mid-commit: ${outcomes.ok.length} sent, ${outcomes.failed.length} failed (typed; ` +
              `${unknown.length} with an unknown outcome, of which ` +
              `${unknown.filter((error) => delivered.has(error.messageId)).length} were committed and delivered); ` +
              `received ${result.received}, lost ${result.lost}, duplicates ${result.duplicates}`
          )
          assert.strictEqual(result.lost, 0)
          const { remaining } = yield* sdk.stop({ drainTimeout: "10 seconds" })
          assert.strictEqual(remaining, 0)
        })).pipe(Effect.timeout("120 seconds")),
    150_000
  )
})
