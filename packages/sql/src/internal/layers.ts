import type { ConfigurationError, MessageQueue } from "@stellanow/sdk"
import { Config, Effect, Layer } from "effect"
import { toConfigurationError } from "../SqlQueueError.js"
import * as Core from "./core.js"

/** A store's queue layer with its options read from a `Config`; a bad value is a `ConfigurationError`. */
export const fromConfig = <Options>(
  config: Config.Wrap<Options>,
  layer: (options: Options) => Layer.Layer<MessageQueue.MessageQueue, ConfigurationError>
): Layer.Layer<MessageQueue.MessageQueue, ConfigurationError> =>
  Layer.unwrap(
    Config.unwrap(config).pipe(
      Effect.mapError((error) =>
        toConfigurationError(Core.invalid(`the queue's configuration is invalid: ${error.message}`))
      ),
      Effect.map(layer)
    )
  )
