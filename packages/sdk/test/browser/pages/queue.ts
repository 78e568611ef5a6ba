/**
 * A page that opens `IndexedDbQueue` directly, for what two tabs and foreign databases do. Node
 * drives it through `globalThis.__queue`; results and errors come back as JSON.
 */
import { IndexedDbQueue, type MessageQueue } from "@stellanow/sdk/browser"
import { Cause, Effect, Exit, Scope } from "effect"

let open: { readonly queue: MessageQueue.Service; readonly scope: Scope.Closeable } | undefined

/** An error as Node reads it: its tag, reason and message. */
const describe = (error: unknown) => {
  const e = error as { readonly _tag?: string; readonly reason?: string; readonly message?: string }
  return { tag: e._tag, reason: e.reason, message: e.message }
}

const queue = {
  /** Opens the queue; `{ ok: true }` or the error. */
  open: (options: IndexedDbQueue.Options) =>
    Effect.runPromise(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const exit = yield* Effect.exit(Scope.provide(IndexedDbQueue.make(options), scope))
      if (Exit.isFailure(exit)) {
        yield* Scope.close(scope, Exit.void)
        return { ok: false, error: describe(Cause.squash(exit.cause)) }
      }
      open = { queue: exit.value, scope }
      return { ok: true }
    })),
  /** Offers `count` envelopes numbered from `from`. */
  offer: (from: number, count: number) =>
    Effect.runPromise(Effect.forEach(
      Array.from({ length: count }, (_, i) => from + i),
      (i) =>
        open!.queue.offer({
          messageId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
          topic: "in/org",
          eventName: "e",
          body: `{"i":${i}}`
        }),
      { discard: true }
    )),
  size: () => Effect.runPromise(open!.queue.size),
  close: () => Effect.runPromise(Scope.close(open!.scope, Exit.void)).then(() => (open = undefined)),
  /** Makes a database that is not a queue: another app's, with its own object store. */
  makeForeign: (name: string) =>
    new Promise<void>((resolve, reject) => {
      const request = indexedDB.open(name, 1)
      request.onupgradeneeded = () => request.result.createObjectStore("something-else")
      request.onsuccess = () => (request.result.close(), resolve())
      request.onerror = () => reject(request.error)
    })
}

Object.assign(globalThis, { __queue: queue })
