/**
 * A tracer for tests that keeps every span it makes: name, attributes, events and how it ended.
 */
import { type Exit, Option, Tracer } from "effect"

export interface CapturedSpan {
  readonly name: string
  readonly attributes: Map<string, unknown>
  readonly events: Array<{ readonly name: string; readonly attributes: Record<string, unknown> | undefined }>
  /** Set when the span ends. */
  exit: Exit.Exit<unknown, unknown> | undefined
}

/** A tracer, and the spans it made in the order they started. */
export const makeSpanCapture = (): { readonly tracer: Tracer.Tracer; readonly spans: Array<CapturedSpan> } => {
  const spans: Array<CapturedSpan> = []
  const tracer = Tracer.make({
    span: ({ annotations, kind, links, name, parent, sampled, startTime }) => {
      const captured: CapturedSpan = { name, attributes: new Map(), events: [], exit: undefined }
      spans.push(captured)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span${spans.length}`,
        traceId: Option.match(parent, { onNone: () => `trace${spans.length}`, onSome: (p) => p.traceId }),
        parent,
        annotations,
        status: { _tag: "Started", startTime },
        attributes: captured.attributes,
        links,
        sampled,
        kind,
        end: (_endTime, exit) => {
          captured.exit = exit
        },
        attribute: (key, value) => {
          captured.attributes.set(key, value)
        },
        event: (event, _time, attributes) => {
          captured.events.push({ name: event, attributes })
        },
        addLinks: () => {}
      }
      return span
    }
  })
  return { tracer, spans }
}
