/**
 * The IndexedDB side of `IndexedDbQueue`: opening the database, reading every stored message, and
 * one writer that groups the changes made in the same turn of the event loop into one transaction.
 * Promise-based (IndexedDB's requests are callbacks); the queue wraps it in effects.
 */
import type { Envelope } from "../Envelope.js"
import type { Lease } from "../MessageQueue.js"
import { StoreError } from "../StellaNowError.js"

/** The object store holding the messages: the sequence is the key, the envelope the value. */
const messages = "messages"

/** The store's name in messages: `IndexedDB database "stellanow-queue"`. */
export const describe = (database: string): string => `IndexedDB database ${JSON.stringify(database)}`

/** A failed IndexedDB request as a `StoreError`, its reason read from the DOMException's name. */
export const storeError = (store: string, action: string, error: unknown): StoreError => {
  const name = (error as { readonly name?: unknown } | null)?.name
  const message = (error as { readonly message?: unknown } | null)?.message
  const reason = name === "QuotaExceededError"
    ? "DiskFull"
    : name === "VersionError"
    ? "Incompatible"
    : name === "SecurityError" || name === "NotSupportedError"
    ? "Unsupported"
    : name === "Foreign"
    ? "Foreign"
    : name === "Blocked"
    ? "Locked"
    : "Failed"
  const why = typeof message === "string" && message !== "" ? message : String(name ?? error)
  return new StoreError({
    reason,
    store,
    detail: `${action}: ${why}`,
    ...(typeof name === "string" ? { code: name } : {}),
    cause: error
  })
}

/** Opens (creating on first use) the queue's database. */
export const open = (database: string): Promise<IDBDatabase> =>
  new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") {
      const error = new Error("IndexedDB is not available here (a browser page or worker has it)")
      return reject(Object.assign(error, { name: "NotSupportedError" }))
    }
    const request = indexedDB.open(database, 1)
    request.onupgradeneeded = () => request.result.createObjectStore(messages)
    request.onsuccess = () => {
      const db = request.result
      if (db.objectStoreNames.contains(messages)) return resolve(db)
      db.close()
      reject(Object.assign(new Error("the database holds something other than a StellaNow queue"), { name: "Foreign" }))
    }
    request.onerror = () => reject(request.error)
    // Only a newer version held open elsewhere blocks an open; this one never asks for an upgrade after the first.
    request.onblocked = () =>
      reject(Object.assign(new Error("another page holds an older version of the database open"), { name: "Blocked" }))
  })

/** Every stored message, by sequence. */
export const load = (db: IDBDatabase): Promise<Array<Lease>> =>
  new Promise((resolve, reject) => {
    const transaction = db.transaction(messages, "readonly")
    const store = transaction.objectStore(messages)
    const keys = store.getAllKeys()
    const values = store.getAll()
    transaction.oncomplete = () =>
      resolve(keys.result.map((key, i) => ({ sequence: Number(key), envelope: values.result[i] as Envelope })))
    transaction.onerror = () => reject(transaction.error)
    transaction.onabort = () => reject(transaction.error)
  })

interface Batch {
  readonly puts: Array<Lease>
  readonly deletes: Array<number>
  readonly settled: Promise<void>
  readonly settle: (error?: unknown) => void
  /** When it is committed: at the end of this turn (it holds new messages), or after the ack delay. */
  scheduled: "now" | "later" | undefined
}

const emptyBatch = (): Batch => {
  let settle: (error?: unknown) => void = () => {}
  const settled = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error))
  })
  // A batch nobody waits on (acknowledgements only) must not be an unhandled rejection.
  settled.catch(() => {})
  return { puts: [], deletes: [], settled, settle, scheduled: undefined }
}

/**
 * How long acknowledgements wait to be committed together: one transaction per PUBACK would make the
 * deletes lag far behind the broker (each readwrite transaction costs milliseconds).
 */
const ackDelayMs = 100

/**
 * The single writer of a queue's database. Changes made in one turn of the event loop go into one
 * readwrite transaction; IndexedDB commits transactions on the same store in the order they were
 * created, so the stored state follows the order of the calls.
 */
export class Writer {
  private next: Batch | undefined
  private last: Promise<void> = Promise.resolve()
  private pendingPuts = 0
  /** Deletes whose transaction failed: tried again with the next batch. */
  private failedDeletes: Array<number> = []

  constructor(
    private readonly db: IDBDatabase,
    private readonly durability: "strict" | "relaxed",
    /** Called once a batch committed, with its new messages in order, before any waiter resumes. */
    private readonly committed: (puts: ReadonlyArray<Lease>) => void
  ) {}

  /** New messages written and not committed yet. */
  get storing(): number {
    return this.pendingPuts
  }

  /**
   * Stores `put` and deletes `deletes`: a new message in a transaction at the end of this turn, deletes
   * alone within {@link ackDelayMs}. Settles once that transaction committed or failed.
   */
  write(put: Lease | undefined, deletes: ReadonlyArray<number>): Promise<void> {
    if (this.next === undefined) {
      this.next = emptyBatch()
      this.next.deletes.push(...this.failedDeletes.splice(0))
    }
    const batch = this.next
    batch.deletes.push(...deletes)
    if (put !== undefined) {
      batch.puts.push(put)
      this.pendingPuts++
      if (batch.scheduled !== "now") {
        batch.scheduled = "now"
        queueMicrotask(() => this.commit(batch))
      }
    } else if (batch.scheduled === undefined) {
      batch.scheduled = "later"
      setTimeout(() => this.commit(batch), ackDelayMs)
    }
    return batch.settled
  }

  /** Commits what is waiting now, and settles once every change written so far is committed (or failed). */
  flush(): Promise<void> {
    if (this.next !== undefined) this.commit(this.next)
    return this.last.then(() => undefined, () => undefined)
  }

  private commit(batch: Batch): void {
    // Already committed: by `flush`, or by the end of the turn ahead of its ack delay.
    if (this.next !== batch) return
    this.next = undefined
    this.last = batch.settled
    const done = (error?: unknown) => {
      this.pendingPuts -= batch.puts.length
      if (error === undefined) this.committed(batch.puts)
      // A delete that did not commit is tried again with the next batch (until then, a reload
      // delivers its message again: at least once).
      else this.failedDeletes.push(...batch.deletes)
      batch.settle(error)
    }
    try {
      const transaction = this.db.transaction(messages, "readwrite", { durability: this.durability })
      const store = transaction.objectStore(messages)
      for (const sequence of batch.deletes) store.delete(sequence)
      for (const lease of batch.puts) store.add(lease.envelope, lease.sequence)
      transaction.oncomplete = () => done()
      transaction.onabort = () => done(transaction.error ?? new Error("the transaction was aborted"))
    } catch (error) {
      // The database was closed, or the browser refuses transactions (e.g. while the page unloads).
      done(error)
    }
  }
}
