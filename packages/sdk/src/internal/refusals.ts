/**
 * How many times the broker refused each message still queued, by message id: what decides when a
 * message is dead-lettered. Kept by the service, so stopping and starting again does not reset it; a
 * new process starts from zero. Only refused messages have an entry, forgotten once they leave the queue.
 */
export interface Refusals {
  /** Counts one more refusal of the message; returns its count. */
  readonly count: (messageId: string) => number
  /** The message left the queue: its count is forgotten. */
  readonly forget: (messageId: string) => void
  /** Whether any message has a count: most acknowledgements then have nothing to forget. */
  readonly any: () => boolean
}

export const make = (): Refusals => {
  const counts = new Map<string, number>()
  return {
    count: (messageId) => {
      const n = (counts.get(messageId) ?? 0) + 1
      counts.set(messageId, n)
      return n
    },
    forget: (messageId) => void counts.delete(messageId),
    any: () => counts.size > 0
  }
}
