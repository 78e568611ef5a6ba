/**
 * The Promise front door's class, apart from the presets that make it: both package entries use it,
 * and the browser entry must not import the Node presets (OIDC's password grant, TLS options).
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Message from "../Message.js"
import type { ConnectionState } from "../Sink.js"
import * as StellaNow from "../StellaNow.js"
import type { ConfigurationError, StoreError } from "../StellaNowError.js"
import * as PresetOptions from "./presetOptions.js"

/**
 * A logger to send the SDK's logs to: `console` works, so do pino and winston loggers.
 *
 * @since 0.1.0
 * @category models
 */
export interface UserLogger {
  /** Reconnect attempts and other noise. */
  debug(message: string, ...rest: Array<unknown>): void
  /** State changes: connected, started, stopped. */
  info(message: string, ...rest: Array<unknown>): void
  /** Drops, refusals, retries, messages left unsent at close. */
  warn(message: string, ...rest: Array<unknown>): void
  /** The SDK gave up (refused credentials, duplicate client id). */
  error(message: string, ...rest: Array<unknown>): void
}

/**
 * Options of the Promise front door. An unknown name or a value that is not acceptable (say
 * `logLevel: "warning"`) throws a `ConfigurationError` naming it and what it accepts.
 *
 * @since 0.1.0
 * @category models
 */
export interface FacadeOptions {
  /** The lowest level logged. Default `"info"`. */
  readonly logLevel?: "debug" | "info" | "warn" | "error" | "none" | undefined
  /** Where logs go. Default: Effect's default logger (to the console). */
  readonly logger?: UserLogger | undefined
}

const levels: Record<NonNullable<FacadeOptions["logLevel"]>, LogLevel.LogLevel> = {
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  none: "None"
}

const methods: Record<LogLevel.LogLevel, keyof UserLogger> = {
  All: "debug",
  Trace: "debug",
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
  Fatal: "error",
  None: "error"
}

const toUserLogger = (logger: UserLogger) =>
  Logger.make<unknown, void>(({ fiber, logLevel, message }) => {
    const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
    const context = { ...fiber.getRef(References.CurrentLogAnnotations) }
    logger[methods[logLevel]](`[stellanow] ${text}`, context)
  })

/**
 * Every this many `sendMessage` calls, one resolves only after the event loop has turned. A send into
 * the memory queue completes at once, so a caller awaiting each in a loop would otherwise run on
 * microtasks alone: the drain (and the socket) would get no turn until the loop ends, and every message
 * would wait in the queue meanwhile — delivered late, and kept long enough to be promoted and copied by
 * the garbage collector, which was a fifth of the CPU of such a loop. One turn in 256 sends lets the
 * drain publish as the caller goes, for a cost of one event-loop turn per 256 messages.
 */
const yieldEvery = 256

/** A promise rejected with the error of `cause`, as the facade's callers receive it. */
const rejected = <E>(cause: Cause.Cause<E>): Promise<never> => Promise.reject(Cause.squash(cause))

/** The value, or its error thrown: the options' errors are thrown where the options enter. */
export const orThrow = <A>(checked: Result.Result<A, ConfigurationError>): A =>
  Result.getOrThrowWith(checked, (error) => error)

/**
 * The SDK behind Promises. Make it with a `configure…Sdk` preset, or from any layer with
 * {@link StellaNowSDK.fromLayer}. Nothing happens until the first call; `close()` (or `await using`)
 * sends what is queued, for up to `closeTimeout`, then stops the SDK and releases every socket and timer.
 *
 * @since 0.1.0
 * @category constructors
 */
export class StellaNowSDK implements AsyncDisposable {
  private readonly runtime: ManagedRuntime.ManagedRuntime<StellaNow.StellaNow, ConfigurationError | StoreError>
  /** Whether the layer may have been built: a facade never used has nothing to close. */
  private used = false
  private closing: Promise<StellaNow.StopResult> | undefined
  /** `sendMessage` calls since one last let the event loop turn (see `yieldEvery`). */
  private sendsSinceYield = 0

  constructor(
    layer: Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError>,
    options: FacadeOptions = {}
  ) {
    orThrow(PresetOptions.checkFacade(options))
    const logging = Layer.merge(
      options.logger === undefined ? Layer.empty : Logger.layer([toUserLogger(options.logger)]),
      Layer.succeed(References.MinimumLogLevel, levels[options.logLevel ?? "info"])
    )
    this.runtime = ManagedRuntime.make(Layer.provideMerge(layer, logging))
  }

  /**
   * Makes the facade from a layer.
   *
   * @since 0.1.0
   */
  static fromLayer(
    layer: Layer.Layer<StellaNow.StellaNow, ConfigurationError | StoreError>,
    options?: FacadeOptions
  ): StellaNowSDK {
    return new StellaNowSDK(layer, options)
  }

  /**
   * Runs `effect` on the runtime. Forked rather than `runPromiseExit`, so that an effect that completes
   * at once (a `sendMessage` into the memory queue) settles the caller's promise directly: one promise
   * per call instead of three (the runtime's, its `then`, and the fiber's observer), which was most of
   * what `await sdk.sendMessage` cost over the Effect API. The runtime's `runFork` still registers a fiber
   * that waits, so `close()` interrupts it.
   */
  private run<A, E>(effect: Effect.Effect<A, E, StellaNow.StellaNow>): Promise<A> {
    this.used = true
    const fiber = this.runtime.runFork(effect)
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return Exit.isSuccess(exit) ? Promise.resolve(exit.value) : rejected(exit.cause)
    return new Promise((resolve, reject) => {
      fiber.addObserver((exit) => Exit.isSuccess(exit) ? resolve(exit.value) : reject(Cause.squash(exit.cause)))
    })
  }

  /** Connects and begins sending queued messages; resolves once connected. */
  start(): Promise<void> {
    return this.run(StellaNow.start)
  }

  /**
   * Stops sending at once and disconnects; queued messages stay queued for the next `start`. With
   * `drainTimeoutMs`, keeps sending until the queue is empty or the deadline passes first. The SDK is not
   * closed: `start` again, or `close()` to release it.
   */
  stop(options?: { readonly drainTimeoutMs?: number | undefined }): Promise<StellaNow.StopResult> {
    const drainTimeoutMs = options?.drainTimeoutMs
    return this.run(StellaNow.stop(drainTimeoutMs === undefined ? undefined : { drainTimeout: drainTimeoutMs }))
  }

  /** Validates and queues a message; resolves with its message id. */
  sendMessage(message: Message.Message): Promise<string> {
    const send = StellaNow.sendMessage(message)
    if (++this.sendsSinceYield < yieldEvery) return this.run(send)
    this.sendsSinceYield = 0
    return this.run(Effect.tap(send, Effect.yieldNow))
  }

  /** Queues a message and resolves once the broker acknowledged it. */
  sendMessageAndWait(message: Message.Message): Promise<string> {
    return this.run(StellaNow.StellaNow.use((sdk) => sdk.sendMessageAndWait(message)))
  }

  /** Messages not yet acknowledged. */
  queueSize(): Promise<number> {
    return this.run(StellaNow.StellaNow.use((sdk) => sdk.queueSize))
  }

  /** The MQTT client id of this instance. */
  clientId(): Promise<string> {
    return this.run(StellaNow.StellaNow.useSync((sdk) => sdk.clientId))
  }

  /** The connection state now. */
  connectionState(): Promise<ConnectionState> {
    return this.run(StellaNow.StellaNow.use((sdk) => sdk.connectionState))
  }

  /**
   * Calls `listener` for every SDK event (connection changes, acknowledgements, drops) until the
   * returned function is called or the SDK is closed.
   */
  async onEvent(listener: (event: StellaNow.Event) => void): Promise<() => void> {
    // Subscribed before this resolves, so no event of what the caller does next is missed.
    const scope = Effect.runSync(Scope.make())
    const events = await this.run(
      StellaNow.StellaNow.use((sdk) => Scope.provide(sdk.subscribe, scope))
    )
    // Ends by itself when the SDK closes: the event stream ends with it.
    const fiber = this.runtime.runFork(Stream.runForEach(events, (event) => Effect.sync(() => listener(event))))
    return () => void this.runtime.runFork(Effect.andThen(Fiber.interrupt(fiber), Scope.close(scope, Exit.void)))
  }

  /**
   * Closes the SDK: keeps sending what is queued until the queue is empty or the deadline passes
   * (`timeoutMs`, else the `closeTimeout` option, 5 s by default; 0 sends nothing more), stops, and
   * releases every socket and timer. Resolves with the number of messages left unsent, which are also
   * logged at warn: with an in-memory queue they are lost, a persistent queue keeps them. An SDK never
   * started is not connected just to send them. Closing again returns the first close's result; any
   * other call after it rejects.
   */
  close(options?: { readonly timeoutMs?: number | undefined }): Promise<StellaNow.StopResult> {
    this.closing ??= this.closeOnce(options?.timeoutMs)
    return this.closing
  }

  private async closeOnce(timeoutMs: number | undefined): Promise<StellaNow.StopResult> {
    const closeOptions = timeoutMs === undefined ? undefined : { timeout: Duration.millis(timeoutMs) }
    const exit = this.used
      ? await this.runtime.runPromiseExit(StellaNow.close(closeOptions))
      : Exit.succeed({ remaining: 0 })
    await this.runtime.dispose()
    if (Exit.isSuccess(exit)) return exit.value
    // A layer that failed to build held no SDK, so nothing was queued; anything else is a real failure.
    const buildFailed = (error: { readonly _tag: string }) =>
      error._tag === "ConfigurationError" || error._tag === "StoreError"
    if (Cause.findErrorOption(exit.cause).pipe(Option.exists(buildFailed))) {
      return { remaining: 0 }
    }
    throw Cause.squash(exit.cause)
  }

  /** `await using sdk = configure…Sdk()` closes the SDK at the end of the block, as `close()` does. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
