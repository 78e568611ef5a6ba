/**
 * An exclusive Web Lock (`navigator.locks`), held until released: how `IndexedDbQueue` keeps a second
 * tab of the same site from taking the same messages. Where the browser has no Web Locks (an insecure
 * page), there is nothing to hold and the queue opens without it.
 */

interface LockManager {
  request(name: string, options: { readonly signal: AbortSignal }, callback: () => Promise<void>): Promise<void>
}

const lockManager = (): LockManager | undefined =>
  (globalThis as { readonly navigator?: { readonly locks?: LockManager } }).navigator?.locks

/**
 * Waits at most `timeoutMs` for the lock `name`; resolves with the function that releases it, or with
 * `undefined` when the browser has no Web Locks. Rejects with an `AbortError`/`TimeoutError` when
 * another holder kept it past the timeout.
 */
export const acquire = (name: string, timeoutMs: number): Promise<(() => void) | undefined> => {
  const locks = lockManager()
  if (locks === undefined) return Promise.resolve(undefined)
  return new Promise((resolve, reject) => {
    let release: () => void = () => {}
    const held = new Promise<void>((done) => {
      release = done
    })
    locks.request(name, { signal: AbortSignal.timeout(timeoutMs) }, () => {
      resolve(release)
      // The lock is held until this promise settles.
      return held
    }).catch(reject)
  })
}
