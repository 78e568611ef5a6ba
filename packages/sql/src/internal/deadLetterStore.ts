/**
 * The dead letters of a SQL queue, in its database: the table `<queue table>_dead_letters`, created
 * by the queue's migrations. Each `put` is its own statement, committed at once: a dead letter is rare,
 * and it must be kept before the queue lets its message go.
 */
import { DeadLetters, type Envelope, type StoreError } from "@stellanow/sdk"
import { Clock, Effect } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import { toQueueError } from "./classify.js"
import { columnsOf, envelopeOf, type Row } from "./rows.js"
import type { Names } from "./schema.js"

/** A stored dead letter, as read from the table. */
interface LetterRow extends Row {
  readonly reason: string
  readonly dead_at: string | number
}

export const make = (sql: SqlClient, names: Names, store: string): DeadLetters.Service => {
  const table = sql(names.deadLetters)
  const failed = (action: string) => (error: unknown): StoreError => toQueueError(store, action, error)
  return {
    put: (envelope: Envelope.Envelope, reason: string) =>
      Clock.currentTimeMillis.pipe(
        Effect.flatMap((at) =>
          sql`INSERT INTO ${table} ${sql.insert({ ...columnsOf(envelope), reason, dead_at: at })}`
        ),
        Effect.asVoid,
        Effect.mapError(failed(`cannot keep the dead letter of message ${envelope.messageId}`))
      ),
    list: sql<LetterRow>`SELECT seq, message_id, topic, event_name, body, wrapped_at, reason, dead_at
      FROM ${table} ORDER BY seq`.pipe(
      Effect.map((rows) =>
        rows.map((row) => ({ envelope: envelopeOf(row), reason: row.reason, at: Number(row.dead_at) }))
      ),
      Effect.mapError(failed("cannot read the dead letters"))
    ),
    size: sql<{ n: string | number }>`SELECT count(*) AS n FROM ${table}`.pipe(
      Effect.map(([row]) => Number(row?.n ?? 0)),
      Effect.mapError(failed("cannot count the dead letters"))
    )
  } satisfies DeadLetters.Service
}
