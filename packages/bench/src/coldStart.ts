/**
 * Cold start, run as a fresh process: importing the SDK, starting it (connecting), and the first
 * PUBACK. Nothing of the SDK is imported before the clock starts.
 */
export interface ColdStart {
  /** From the process's start to this module running: Node and the TypeScript loader booting. */
  readonly boot_ms: number
  readonly import_ms: number
  readonly start_ms: number
  readonly first_puback_ms: number
  /** From the process's start to the first PUBACK. */
  readonly total_ms: number
}

export const measure = async (brokerUrl: string): Promise<ColdStart> => {
  const booted = performance.now()
  const { Effect } = await import("effect")
  const { StellaNow } = await import("@stellanow/sdk")
  const { UserDetailsUpdateMessage } = await import("./messages.js")
  const { run, sdkLayer } = await import("./support.js")
  const imported = performance.now()
  let started = 0
  await run(
    Effect.gen(function*() {
      const sdk = yield* StellaNow.StellaNow
      yield* sdk.start
      started = performance.now()
      yield* sdk.sendMessageAndWait(new UserDetailsUpdateMessage({ patron: "12345", user_id: "user_0" }))
    }).pipe(Effect.provide(sdkLayer(brokerUrl)))
  )
  const acknowledged = performance.now()
  const ms = (value: number) => Number(value.toFixed(1))
  return {
    boot_ms: ms(booted),
    import_ms: ms(imported - booted),
    start_ms: ms(started - imported),
    first_puback_ms: ms(acknowledged - started),
    total_ms: ms(acknowledged)
  }
}
