import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { createCallHistogram, type CallHistogram } from "./call-histogram.js";

/**
 * Every prom-client metric of the gateway is defined here, on a registry made
 * per app (never prom-client's global one), so two apps in one test process
 * do not share counters. Label values are bounded: service and method come
 * from the registered services only, codes from the fixed gRPC code list.
 */
export interface RpcMetrics {
  readonly registry: Registry;
  readonly started: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly handled: Counter<"grpc_type" | "grpc_service" | "grpc_method" | "grpc_code">;
  readonly msgReceived: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  readonly msgSent: Counter<"grpc_type" | "grpc_service" | "grpc_method">;
  /** Not prom-client's Histogram class, for speed; same series and text (see call-histogram.ts). */
  readonly handlingSeconds: CallHistogram<"grpc_type" | "grpc_service" | "grpc_method">;
  /**
   * The hot-path handle for one method: plain-number tallies folded into the
   * counters above whenever they are read (scrape, `get()`), because a
   * prom-client `inc(labels)` hashes its labels into a string and looks it up
   * on every call. Cached: one handle per (type, service, method).
   */
  forMethod(type: string, service: string, method: string): MethodMetrics;
}

/** Per-method tallies; see RpcMetrics.forMethod. */
export interface MethodMetrics {
  started: number;
  received: number;
  sent: number;
  /** Calls handled, by grpc_code label value (OK, InvalidArgument, ...). */
  readonly handled: Map<string, number>;
  /** Observes one call's duration in seconds (directly on a cached histogram child). */
  observe(seconds: number): void;
}

export interface MetricsOptions {
  /** Add prom-client's default process and Node.js metrics (off in most unit tests). */
  readonly defaultMetrics?: boolean;
  /** Registry to use; a new one by default. */
  readonly registry?: Registry;
}

/** Names as go-grpc-prometheus exports them, so existing dashboards work. */
export function createRpcMetrics(opts: MetricsOptions = {}): RpcMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.defaultMetrics === true) collectDefaultMetrics({ register: registry });
  const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
  // Handles whose tallies are folded into the counters on every read (collect).
  const handles = new Map<string, MethodMetrics & { readonly labels: Record<(typeof labelNames)[number], string> }>();
  function flush(): void {
    for (const h of handles.values()) {
      if (h.started > 0) started.inc(h.labels, h.started);
      if (h.received > 0) msgReceived.inc(h.labels, h.received);
      if (h.sent > 0) msgSent.inc(h.labels, h.sent);
      h.started = h.received = h.sent = 0;
      for (const [code, n] of h.handled) {
        if (n > 0) handled.inc({ ...h.labels, grpc_code: code }, n);
        h.handled.set(code, 0);
      }
    }
  }
  // prom-client runs `collect` before every get() (and so every scrape): counts are never stale when read.
  const collect = () => flush();
  const started = new Counter({ name: "grpc_server_started_total", help: "Total number of RPCs started on the server.", labelNames, registers: [registry], collect });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "Total number of RPCs completed on the server, regardless of success or failure.",
    labelNames: [...labelNames, "grpc_code"] as const,
    registers: [registry],
    collect,
  });
  const msgReceived = new Counter({ name: "grpc_server_msg_received_total", help: "Total number of RPC stream messages received on the server.", labelNames, registers: [registry], collect });
  const msgSent = new Counter({ name: "grpc_server_msg_sent_total", help: "Total number of gRPC stream messages sent by the server.", labelNames, registers: [registry], collect });
  const handlingSeconds = createCallHistogram({
    name: "grpc_server_handling_seconds",
    help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
    labelNames,
    // Sub-millisecond buckets: the gateway's own latency is what operators watch.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    started,
    handled,
    msgReceived,
    msgSent,
    forMethod(type, service, method) {
      // Label values are bounded (registered services only), so this map is too.
      const key = `${type}\n${service}\n${method}`;
      let h = handles.get(key);
      if (h === undefined) {
        const labels = { grpc_type: type, grpc_service: service, grpc_method: method };
        const child = handlingSeconds.labels(labels);
        h = { labels, started: 0, received: 0, sent: 0, handled: new Map(), observe: child.observe };
        handles.set(key, h);
      }
      return h;
    },
    handlingSeconds,
  };
}

/**
 * The audit log's commits (src/adapters/audit/group-commit.ts calls `committed`/`failed` once per batch).
 * No labels: one audit log per process, and its back-end is a setting, not a dimension.
 */
export interface AuditMetrics {
  readonly events: Counter;
  readonly batches: Counter;
  readonly batchLines: Histogram;
  readonly commitSeconds: Histogram;
  readonly errors: Counter;
  /** The observer to give createAuditSink (structurally src/adapters/audit/group-commit.ts AuditObserver). */
  committed(lines: number, seconds: number): void;
  failed(lines: number): void;
}

export function createAuditMetrics(registry: Registry): AuditMetrics {
  // A core rebuilt on the same registry (a restart in one process) keeps counting on the same series.
  const reuse = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  const events = reuse("audit_events_total", () => new Counter({ name: "audit_events_total", help: "Audit events committed (written, and fsync'd in fsync mode).", registers: [registry] }));
  const batches = reuse("audit_batches_total", () => new Counter({ name: "audit_batches_total", help: "Audit batches committed: one write+fsync (JSONL) or one INSERT (PostgreSQL) each.", registers: [registry] }));
  const batchLines = reuse(
    "audit_batch_lines",
    () =>
      new Histogram({
        name: "audit_batch_lines",
        help: "Events per committed audit batch (1 at low load; grows under load as lines wait for the commit in flight).",
        buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
        registers: [registry],
      }),
  );
  const commitSeconds = reuse(
    "audit_commit_seconds",
    () =>
      new Histogram({
        name: "audit_commit_seconds",
        help: "Time to commit one audit batch: write+fsync (JSONL) or the INSERT (PostgreSQL). Callers in fsync mode wait at least this long.",
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
  );
  const errors = reuse(
    "audit_errors_total",
    () => new Counter({ name: "audit_errors_total", help: "Audit batch commits that failed (their callers got an error; see the log).", registers: [registry] }),
  );
  return {
    events,
    batches,
    batchLines,
    commitSeconds,
    errors,
    committed(lines, seconds) {
      events.inc(lines);
      batches.inc();
      batchLines.observe(lines);
      commitSeconds.observe(seconds);
    },
    failed() {
      errors.inc();
    },
  };
}

/** ReplaceOrder outcomes: `method` amend|cancel_then_new|unspecified, `outcome` replaced|rejected|pending|failed (bounded). */
export function createReplaceMetrics(registry: Registry): { observe(method: string, outcome: string): void } {
  const name = "gateway_replaces_total";
  const counter =
    (registry.getSingleMetric(name) as Counter<"method" | "outcome"> | undefined) ??
    new Counter({
      name,
      help: "ReplaceOrder requests that reached a decision, by how the venue was asked and how it ended (pending = venue outcome unknown).",
      labelNames: ["method", "outcome"],
      registers: [registry],
    });
  return {
    observe(method, outcome) {
      counter.inc({ method, outcome });
    },
  };
}
