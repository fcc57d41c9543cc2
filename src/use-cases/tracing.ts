/**
 * The tracing port (W3C trace context, OpenTelemetry behind it: src/adapters/tracing/). Tracing
 * is optional: where it is off, callers hold `undefined` instead of a Tracer and pay one
 * comparison, never a span object.
 */

/** One span, ended exactly once. */
export interface TraceSpan {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** The W3C `traceparent` that makes a callee's span a child of this one (for outgoing calls). */
  readonly traceparent: string;
  setAttribute(key: string, value: string | number | boolean): void;
  /** Marks the span failed, with a short description (an error code or reason; never a secret). */
  fail(description: string): void;
  end(): void;
}

export type SpanKindName = "server" | "client" | "internal";

export interface Tracer {
  /**
   * Starts a span: a child of `traceparent` when given and valid (an incoming call), else of the
   * current span (runInSpan), else the root of a new trace.
   */
  startSpan(name: string, kind?: SpanKindName, traceparent?: string): TraceSpan;
  /** Runs `fn` with `span` current: spans started inside it, across awaits, are its children. */
  runInSpan<T>(span: TraceSpan, fn: () => T): T;
  /** Exports what is buffered and stops (shutdown). */
  close(): Promise<void>;
}

/** Runs `fn` inside a span named `name` (a child of the current one), failing it if fn throws. */
export async function traced<T>(tracer: Tracer, name: string, fn: (span: TraceSpan) => Promise<T>, kind: SpanKindName = "internal"): Promise<T> {
  const span = tracer.startSpan(name, kind);
  try {
    return await tracer.runInSpan(span, () => fn(span));
  } catch (e) {
    span.fail(e instanceof Error ? e.message : String(e));
    throw e;
  } finally {
    span.end();
  }
}
