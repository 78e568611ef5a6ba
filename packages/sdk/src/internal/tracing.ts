import * as Tracer from "effect/Tracer"

/**
 * Spans on the per-message paths, only when someone collects them.
 *
 * Effect's own tracer, in place when no other is installed, keeps spans for the fibers inside them
 * and shows them to no one. A span costs about 5 to 8 µs (measured; about 9 under Effect 3), more
 * than the rest of `sendMessage`, so the per-message spans (`StellaNow.sendMessage`,
 * `StellaNow.sendMessageAndWait`, `StellaNow.publish`) are made only under another tracer:
 * `@effect/opentelemetry`'s, or any `Tracer.make`. The spans of rare steps (start, stop, connect,
 * login) are always made.
 */

/** Whether spans made under `tracer` reach anyone: any tracer but Effect's native one does. */
export const isCollecting = (tracer: Tracer.Tracer): boolean => tracer !== Tracer.nativeTracer
