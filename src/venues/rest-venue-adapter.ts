import type { Logger } from "pino";
import type { Order, OrderType, TimeInForce } from "../domain/order.js";
import type { Clock } from "../pipeline/types.js";
import type { Result } from "../domain/result.js";
import { err, ok } from "../domain/result.js";
import type { VenueAdapter, VenueCallContext, VenueError, VenueOrderUpdate } from "./adapter.js";
import type { HttpClient, HttpRequest, HttpResponse } from "./http-client.js";
import { createHttpClient } from "./http-client.js";
import type { OutboundLimiter } from "./outbound-limiter.js";
import type { Operation, TranslateInput, UnsignedRequest } from "./translator.js";
import { synthesizeFill } from "./translator.js";
import type { VenueMetrics, VenueOutcome } from "./venue-metrics.js";

/**
 * What makes one venue different from another. Everything here is pure;
 * the shared shell below does the single I/O step (send) and the policies
 * every venue shares: back-off, outbound limits, deadlines, metrics, health.
 */
export interface VenueDialect {
  readonly kind: string;
  /** Outbound-limit weight of each operation (the venue's own endpoint weights). */
  readonly weights: Readonly<Record<Operation, number>>;
  checkOrderShape(type: OrderType, timeInForce: TimeInForce): string | undefined;
  translate(op: Operation, input: TranslateInput): Result<UnsignedRequest, VenueError>;
  /** Builds the wire request: absolute URL, auth headers, signature. Pure given nowMs. */
  sign(request: UnsignedRequest, baseUrl: string, nowMs: number): Result<HttpRequest, VenueError>;
  /** Interprets a non-5xx, non-429/418 answer; maps venue error codes. Pure. */
  parse(op: Operation, response: HttpResponse, input: TranslateInput): Result<VenueOrderUpdate, VenueError>;
  /** Operations that need the venue order id in the request (looked up by client order id first when unknown). */
  readonly needsVenueOrderId?: ReadonlySet<Operation>;
  /**
   * True when order answers carry only cumulative totals: the shell then
   * turns fill increases into one synthetic fill (see synthesizeFill).
   */
  readonly cumulativeFillsOnly?: boolean;
  /** Budget the venue says is used, from its answer headers (Binance X-MBX-USED-WEIGHT-1M). */
  usedWeight?(headers: Readonly<Record<string, string>>): number | undefined;
  /** Default back-off when a 429/418 carries no Retry-After. */
  readonly defaultBackoffMs?: { readonly 429: number; readonly 418: number };
}

/** Deployment settings of one venue, already validated and with secrets resolved. */
export interface VenueRuntimeConfig {
  readonly name: string;
  readonly baseUrl: string;
  /** Gateway symbol -> venue symbol. Empty map: symbols pass through unchanged. */
  readonly symbols: Readonly<Record<string, string>>;
  /** Upper bound of one venue call; further clipped by the RPC deadline. */
  readonly timeoutMs: number;
  /** Key of the outbound limiter bucket (one per credential). */
  readonly limiterKey: string;
  readonly connections?: number;
}

export interface VenueAdapterDeps {
  readonly clock: Clock;
  readonly metrics: VenueMetrics;
  readonly limiter?: OutboundLimiter | undefined;
  /** Called when the venue's health flips (and once at start with true). */
  readonly onHealth?: ((venue: string, serving: boolean) => void) | undefined;
  readonly logger?: Logger | undefined;
  /** Injected by tests; otherwise one keep-alive pool per venue origin. */
  readonly httpClient?: HttpClient | undefined;
  /** Consecutive transport failures/5xx before the venue is reported not serving. Default 3. */
  readonly unhealthyAfterFailures?: number;
}

export function createRestVenueAdapter(dialect: VenueDialect, config: VenueRuntimeConfig, deps: VenueAdapterDeps): VenueAdapter {
  const http = deps.httpClient ?? createHttpClient({ origin: config.baseUrl, connections: config.connections ?? 4 });
  const threshold = deps.unhealthyAfterFailures ?? 3;
  const backoffDefaults = dialect.defaultBackoffMs ?? { 429: 1_000, 418: 120_000 };
  let backoffUntil = 0;
  let failures = 0;
  let serving = true;
  deps.onHealth?.(config.name, true);

  function setServing(v: boolean): void {
    if (v === serving) return;
    serving = v;
    deps.logger?.warn({ venue: config.name, serving: v }, "venue health changed");
    deps.onHealth?.(config.name, v);
  }

  function venueSymbol(symbol: string): string {
    return Object.hasOwn(config.symbols, symbol) ? config.symbols[symbol]! : symbol;
  }

  async function call(op: Operation, order: Order, ctx: VenueCallContext): Promise<Result<VenueOrderUpdate, VenueError>> {
    const started = performance.now();
    const result = await callInner(op, order, ctx);
    const outcome: VenueOutcome = result.ok ? "ok" : result.error.kind;
    deps.metrics.observeRequest(config.name, op, outcome, (performance.now() - started) / 1000);
    if (!result.ok && result.error.kind !== "rejected" && result.error.kind !== "not_found") {
      deps.logger?.info({ venue: config.name, op, orderId: order.orderId, error: result.error }, "venue call failed");
    }
    return result;
  }

  async function callInner(op: Operation, order: Order, ctx: VenueCallContext): Promise<Result<VenueOrderUpdate, VenueError>> {
    const now = deps.clock.nowMs();
    if (now < backoffUntil) {
      return err({ kind: "rate_limited", reason: `venue ${config.name} is backing off after a rate-limit answer`, retryAfterMs: backoffUntil - now });
    }
    const timeoutMs = Math.min(config.timeoutMs, ctx.deadlineMs === undefined ? Infinity : ctx.deadlineMs - now);
    if (timeoutMs <= 0) return err({ kind: "unavailable", reason: "deadline exceeded before the venue call" });
    const input: TranslateInput = { order, venueSymbol: venueSymbol(order.symbol) };
    const req = dialect.translate(op, input);
    if (!req.ok) return req;
    const acquired = deps.limiter?.tryAcquire(config.limiterKey, dialect.weights[op]) ?? { ok: true };
    if (!acquired.ok) {
      return err({ kind: "unavailable", reason: `outbound rate limit of venue ${config.name} reached`, retryAfterMs: acquired.retryAfterMs });
    }
    const signed = dialect.sign(req.value, config.baseUrl, now);
    if (!signed.ok) return signed;
    const sent = await http.send(signed.value, { signal: ctx.signal, timeoutMs });
    if (!sent.ok) {
      failures++;
      if (failures >= threshold) setServing(false);
      // A query or cancel has nothing to reconcile, but a cancel may have happened.
      if (op === "query") return err({ kind: "unavailable", reason: sent.error.reason });
      return err(sent.error);
    }
    const res = sent.value;
    const used = dialect.usedWeight?.(res.headers);
    if (used !== undefined) deps.limiter?.observeUsed(config.limiterKey, used);
    if (res.status === 429 || res.status === 418) {
      const ms = retryAfterMs(res.headers["retry-after"]) ?? backoffDefaults[res.status];
      backoffUntil = Math.max(backoffUntil, deps.clock.nowMs() + ms);
      setServing(false);
      return err({ kind: "rate_limited", reason: `venue ${config.name} answered HTTP ${res.status}`, retryAfterMs: ms });
    }
    if (res.status >= 500) {
      failures++;
      if (failures >= threshold) setServing(false);
      // Binance: "5XX: execution status is UNKNOWN. It must not be treated as a failure."
      const reason = `venue ${config.name} answered HTTP ${res.status}`;
      return op === "query" ? err({ kind: "unavailable", reason }) : err({ kind: "unknown_outcome", reason });
    }
    failures = 0;
    setServing(true);
    let parsed = dialect.parse(op, res, input);
    // A rate-limit answer in the body (Kraken's EAPI:Rate limit exceeded, Binance -1003/-1015)
    // backs the venue off just like an HTTP 429.
    if (!parsed.ok && parsed.error.kind === "rate_limited") {
      backoffUntil = Math.max(backoffUntil, deps.clock.nowMs() + parsed.error.retryAfterMs);
    }
    if (parsed.ok && dialect.cumulativeFillsOnly) parsed = ok(synthesizeFill(order, parsed.value, deps.clock.nowMs()));
    return parsed;
  }

  /** For venues that cancel/query only by their own id: learn it first from the client order id. */
  async function withVenueOrderId(op: Operation, order: Order, ctx: VenueCallContext): Promise<Result<VenueOrderUpdate, VenueError>> {
    if (dialect.needsVenueOrderId?.has(op) && order.venueOrderId === "") {
      const found = await call("query", order, ctx);
      if (!found.ok) return found;
      if (op === "query") return found;
      return call(op, { ...order, venueOrderId: found.value.venueOrderId }, ctx);
    }
    return call(op, order, ctx);
  }

  return {
    name: config.name,
    kind: dialect.kind,
    checkSymbol(symbol) {
      if (Object.keys(config.symbols).length === 0 || Object.hasOwn(config.symbols, symbol)) return undefined;
      return `symbol ${symbol} is not configured for venue ${config.name}`;
    },
    checkOrderShape: (type, tif) => dialect.checkOrderShape(type, tif),
    // Never retried here: a second POST could place a second order.
    placeOrder: (order, ctx) => call("place", order, ctx),
    cancelOrder: (order, ctx) => withVenueOrderId("cancel", order, ctx),
    queryOrder: (order, ctx) => withVenueOrderId("query", order, ctx),
    close: () => http.close(),
  };
}

/** Retry-After in seconds (HTTP-date form also accepted). */
export function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === "") return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Parses a JSON answer; malformed JSON is a protocol error. */
export function parseJson(bodyText: string): Result<unknown, VenueError> {
  try {
    return ok(JSON.parse(bodyText) as unknown);
  } catch {
    return err({ kind: "protocol", reason: "venue answer is not valid JSON" });
  }
}

/** Builds an absolute URL from base URL, path and already-encoded query string. */
export function joinUrl(baseUrl: string, path: string, query: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  return `${base}${path}${query === "" ? "" : `?${query}`}`;
}
