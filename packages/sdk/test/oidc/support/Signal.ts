/**
 * Waiting on conditions instead of sleeping: whoever changes state calls `notify`, and `until`
 * resolves as soon as its condition holds (checked at once and after every notification), or rejects
 * after a deadline naming what it waited for.
 */
export interface Signal {
  notify(): void
  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void>
}

export const makeSignal = (): Signal => {
  const waiters = new Set<() => void>()
  return {
    notify: () => {
      for (const waiter of [...waiters]) waiter()
    },
    until: (condition, timeoutMs, what) =>
      new Promise<void>((resolve, reject) => {
        if (condition()) return resolve()
        const check = () => {
          if (!condition()) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out after ${timeoutMs} ms waiting until ${what}`))
        }, timeoutMs)
        waiters.add(check)
      })
  }
}
