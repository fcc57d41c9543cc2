import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer as OtelApiTracer } from "@opentelemetry/api";
import { parseTraceParent } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider, type SpanExporter } from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { SpanKindName, TraceSpan, Tracer } from "../../use-cases/tracing.js";

export interface OtelTracerOptions {
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans are POSTed to `<endpoint>/v1/traces`. */
  readonly endpoint: string;
  /** OTEL_SERVICE_NAME. */
  readonly serviceName: string;
  /** Longest a finished span waits before its batch is exported (OTEL_BSP_SCHEDULE_DELAY). */
  readonly exportDelayMs: number;
  /** Another exporter (tests); default OTLP/HTTP to `endpoint`. */
  readonly exporter?: SpanExporter;
}

const KINDS: Readonly<Record<SpanKindName, SpanKind>> = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL };

class OtelSpan implements TraceSpan {
  constructor(readonly span: Span) {}
  get traceId(): string {
    return this.span.spanContext().traceId;
  }
  get traceparent(): string {
    const c = this.span.spanContext();
    return `00-${c.traceId}-${c.spanId}-0${(c.traceFlags & 1).toString(16)}`;
  }
  setAttribute(key: string, value: string | number | boolean): void {
    this.span.setAttribute(key, value);
  }
  fail(description: string): void {
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: description });
  }
  end(): void {
    this.span.end();
  }
}

/**
 * The Tracer port over the OpenTelemetry SDK: a provider of its own (nothing registered
 * globally), batched OTLP/HTTP export, and the current span kept in an AsyncLocalStorage of
 * this tracer (no global context manager). Made only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
export function createOtelTracer(options: OtelTracerOptions): Tracer {
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, "")}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: options.exportDelayMs })],
  });
  const tracer: OtelApiTracer = provider.getTracer("trading-gateway");
  const current = new AsyncLocalStorage<OtelSpan>();
  return {
    startSpan(name, kind = "internal", traceparent) {
      let parent: Context = ROOT_CONTEXT;
      const remote = traceparent !== undefined ? parseTraceParent(traceparent) : null;
      if (remote !== null) parent = trace.setSpanContext(ROOT_CONTEXT, remote);
      else {
        const cur = current.getStore();
        if (cur !== undefined) parent = trace.setSpan(ROOT_CONTEXT, cur.span);
      }
      return new OtelSpan(tracer.startSpan(name, { kind: KINDS[kind] }, parent));
    },
    runInSpan(span, fn) {
      return current.run(span as OtelSpan, fn);
    },
    async close() {
      await provider.forceFlush().catch(() => {});
      await provider.shutdown().catch(() => {});
    },
  };
}
