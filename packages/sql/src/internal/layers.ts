import type { ConfigurationError, DeadLetters, MessageQueue, StoreError } from "@stellanow/sdk"
import { Config, Effect, Layer } from "effect"
import * as Core from "./core.js"

/** What a SQL queue's layer provides: the queue and its dead letters. */
type Services = MessageQueue.MessageQueue | DeadLetters.DeadLetters

/** A store's queue layer with its options read from a `Config`; a bad value is a `ConfigurationError`. */
export const fromConfig = <Options>(
  config: Config.Wrap<Options>,
  layer: (options: Options) => Layer.Layer<Services, ConfigurationError | StoreError>
): Layer.Layer<Services, ConfigurationError | StoreError> =>
  Layer.unwrap(
    Config.unwrap(config).pipe(
      Effect.mapError((error) => Core.invalid(`the queue's configuration is invalid: ${error.message}`)),
      Effect.map(layer)
    )
  )
