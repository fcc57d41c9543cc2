import type { Logger } from "pino";
import type { Order, OrderType, TimeInForce } from "../../domain/order.js";
import type { Clock } from "../../domain/ports.js";
import type { Result } from "../../domain/result.js";
import { err, ok } from "../../domain/result.js";
import { add, compare, formatDecimal, isZero } from "../../domain/decimal.js";
import type { VenueAdapter, VenueBalance, VenueCallContext, VenueError, VenueFill, VenueOrderUpdate, MassCancelAnswer, MassCancelScope, VenueAmend, VenueAmendResult, VenueOpenOrder } from "../../use-cases/venue-adapter.js";
import type { HttpClient, HttpRequest, HttpResponse } from "./http-client.js";
import { createHttpClient } from "./http-client.js";
import type { OutboundLimiter } from "./outbound-limiter.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "./translator.js";
import { checkShapeAgainstEnums, newExecutions, synthesizeFill, translateRequest } from "./translator.js";
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
  /**
   * Keep-alive connections to the venue when the venue file sets none (default 4). A venue whose
   * signed requests must ARRIVE in nonce order (Kraken) says 1: over several connections, requests
   * signed and sent in order can overtake each other and the venue refuses the late one.
   */
  readonly defaultConnections?: number;
  /**
   * Venues that list an order's executions (Binance myTrades): when an order
   * answer shows more filled than the gateway knows and lists no trades, the
   * executions are fetched, so fills keep the venue's trade ids and fees
   * instead of becoming one fee-less synthesized fill. Any failure falls back
   * to synthesizing: a fill without its fee beats a missing fill.
   */
  readonly trades?: TradesHook;
  /** How the venue lists the account's balances; absent = the venue does not report them. */
  readonly balances?: BalancesHook;
  /** How the venue lists the account's open orders (reconciliation); absent = it cannot. */
  readonly openOrders?: OpenOrdersHook;
  /** The venue's native mass cancel, if it has one (see MassCancelDialect). */
  readonly massCancel?: MassCancelDialect;
  /** The venue's dead-man switch (Kraken CancelAllOrdersAfter), when it has one. */
  readonly deadMan?: DeadManHook;
  /** The venue's native replace (ReplaceOrder), when it has one. Pure parts; the shell sends. */
  readonly amend?: AmendHook;
  /** Budget the venue says is used, from its answer headers (Binance X-MBX-USED-WEIGHT-1M). */
  usedWeight?(headers: Readonly<Record<string, string>>): number | undefined;
  /** Default back-off when a 429/418 carries no Retry-After. */
  readonly defaultBackoffMs?: { readonly 429: number; readonly 418: number };
}

/** One native mass-cancel request and the orders it covers. */
export interface MassCancelRequest {
  readonly request: UnsignedRequest;
  readonly covers: readonly TranslateInput[];
}

/**
 * A venue's native mass cancel (VenueAdapter.cancelAll). Pure parts; the shell sends each
 * planned request under the same back-off, outbound limit, deadline and metrics as any call.
 */
export interface MassCancelDialect {
  /** Outbound-limit weight of one request. */
  readonly weight: number;
  /**
   * The requests that cancel exactly `orders`, or undefined when the venue's call would reach
   * further (one of `others`, or orders placed outside the gateway): cancel one by one then.
   */
  plan(orders: readonly TranslateInput[], others: readonly TranslateInput[]): MassCancelRequest[] | undefined;
  /** One answer: a result per covered order it says something about (by Order.orderId), or the error of the whole call. */
  parse(response: HttpResponse, covers: readonly TranslateInput[]): Result<Map<string, Result<VenueOrderUpdate, VenueError>>, VenueError>;
}

/** How a venue lists the executions of one order. Pure parts; the shell sends. */
export interface TradesHook {
  /** Outbound-limit weight of one request (Binance myTrades with orderId: 20). */
  readonly weight: number;
  /** The request; `update` carries the venue order id the answer just gave. */
  request(input: TranslateInput, update: VenueOrderUpdate): UnsignedRequest;
  /** Every execution of the order, oldest first. */
  parse(response: HttpResponse): Result<VenueFill[], VenueError>;
}

/** How a venue lists the account's open orders, page by page. Pure parts; the shell sends. */
export interface OpenOrdersHook {
  /** Outbound-limit weight of one page request (Binance openOrders without symbol: 80). */
  readonly weight: number;
  /** The request for the first page (cursor undefined) or the page after `cursor`. */
  request(cursor: string | undefined): UnsignedRequest;
  /** One page: its orders (with the VENUE's symbols) and the cursor of the next page, if any. */
  parse(response: HttpResponse): Result<{ readonly orders: VenueOpenOrder[]; readonly next?: string }, VenueError>;
}

/** Most pages one listing reads (a venue that keeps answering with a next cursor must not loop forever). */
const MAX_OPEN_ORDER_PAGES = 20;

/** One page of a balances answer. */
export interface BalancesPage {
  readonly balances: readonly VenueBalance[];
  /** The cursor of the next page; undefined = this was the last one. */
  readonly next?: string | undefined;
}

/** How a venue lists its balances (translate and parse; the shell signs and sends). */
export interface BalancesHook {
  /** Outbound-limit weight of one request (Binance /api/v3/account: 20). */
  readonly weight: number;
  /** The request for one page; `cursor` undefined = the first page. */
  request(cursor: string | undefined): UnsignedRequest;
  parse(response: HttpResponse): Result<BalancesPage, VenueError>;
}

/** More pages than this is a venue (or cursor) gone wrong, not an account: refuse instead of looping. */
const MAX_BALANCE_PAGES = 40;

/** A venue's dead-man switch: pure request and answer; the shell sends. */
export interface DeadManHook {
  readonly weight: number;
  /** Arms (timeoutSeconds > 0) or disarms (0) the switch. */
  request(timeoutSeconds: number): UnsignedRequest;
  parse(response: HttpResponse): Result<void, VenueError>;
}

/**
 * How a venue amends an order natively. A change the hook cannot make (`check`) falls back to
 * the gateway's cancel-then-new. One request; its answer says whether the venue order stayed
 * (amend in place) or a new one replaced it (`newVenueOrder`).
 */
export interface AmendHook {
  /** Outbound-limit weight of one request. */
  readonly weight: number;
  /** undefined if the venue amends this change natively, else why not. */
  check(order: Order, amend: VenueAmend): string | undefined;
  request(input: TranslateInput, amend: VenueAmend): Result<UnsignedRequest, VenueError>;
  parse(response: HttpResponse, input: TranslateInput, amend: VenueAmend): Result<VenueAmendResult, VenueError>;
  /** Needs the venue order id (looked up by client order id first when unknown). */
  readonly needsVenueOrderId?: boolean;
}

/** The parts of a dialect each venue writes itself; the rest comes from its translator rules (see rulesDialect). */
export type OwnDialectParts = Omit<VenueDialect, "kind" | "weights" | "defaultBackoffMs" | "checkOrderShape" | "translate"> &
  Partial<Pick<VenueDialect, "checkOrderShape" | "translate">>;

/**
 * A dialect driven by translator rules: the enum maps decide which order
 * shapes the venue takes and the request rules build every request, unless
 * the venue overrides them in `own` (odd encodings, shapes the enums cannot say).
 */
export function rulesDialect(
  kind: string,
  facts: { readonly weights: Readonly<Record<Operation, number>>; readonly defaultBackoffMs?: { readonly 429: number; readonly 418: number } },
  rules: TranslatorRules,
  own: OwnDialectParts,
): VenueDialect {
  return {
    kind,
    weights: facts.weights,
    ...(facts.defaultBackoffMs !== undefined ? { defaultBackoffMs: facts.defaultBackoffMs } : {}),
    checkOrderShape: (type, tif) => checkShapeAgainstEnums(rules.enums, type, tif),
    translate: (op, input) => translateRequest(op, input, rules),
    ...own,
  };
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
  /**
   * Handed the adapter's one-request path (sign, outbound limit, back-off, deadline) for the
   * venue's user stream, whose authentication may need a REST call (Kraken GetWebSocketsToken).
   */
  readonly onRestSend?: ((send: (request: UnsignedRequest, weight: number, signal: AbortSignal) => Promise<Result<HttpResponse, VenueError>>) => void) | undefined;
}

export function createRestVenueAdapter(dialect: VenueDialect, config: VenueRuntimeConfig, deps: VenueAdapterDeps): VenueAdapter {
  const http = deps.httpClient ?? createHttpClient({ origin: config.baseUrl, connections: config.connections ?? dialect.defaultConnections ?? 4 });
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
    const sent = await http.send(signed.value, { signal: ctx.signal, timeoutMs, traceparent: ctx.traceparent });
    if (!sent.ok) {
      failures++;
      if (failures >= threshold) setServing(false);
      // A query or cancel has nothing to reconcile, but a cancel may have happened.
      if (op === "query") return err({ kind: "unavailable", reason: sent.error.reason });
      return err(sent.error);
    }
    const res = sent.value;
    const limited = observeLimits(res);
    if (limited !== undefined) return err(limited);
    if (res.status >= 500) {
      failures++;
      if (failures >= threshold) setServing(false);
      // Binance: "5XX: execution status is UNKNOWN. It must not be treated as a failure."
      const reason = `venue ${config.name} answered HTTP ${res.status}`;
      return op === "query" ? err({ kind: "unavailable", reason }) : err({ kind: "unknown_outcome", reason });
    }
    failures = 0;
    setServing(true);
    const parsed = dialect.parse(op, res, input);
    // A rate-limit answer in the body (Kraken's EAPI:Rate limit exceeded, Binance -1003/-1015)
    // backs the venue off just like an HTTP 429.
    if (!parsed.ok && parsed.error.kind === "rate_limited") {
      backoffUntil = Math.max(backoffUntil, deps.clock.nowMs() + parsed.error.retryAfterMs);
    }
    if (!parsed.ok || !dialect.cumulativeFillsOnly) return parsed;
    return ok(await completeFills(order, parsed.value, input, ctx));
  }

  /** Learns the venue's used budget from an answer; a 429/418 backs the venue off and is returned as an error. */
  function observeLimits(res: HttpResponse): VenueError | undefined {
    const used = dialect.usedWeight?.(res.headers);
    if (used !== undefined) deps.limiter?.observeUsed(config.limiterKey, used);
    if (res.status !== 429 && res.status !== 418) return undefined;
    const ms = retryAfterMs(res.headers["retry-after"]) ?? backoffDefaults[res.status];
    backoffUntil = Math.max(backoffUntil, deps.clock.nowMs() + ms);
    setServing(false);
    return { kind: "rate_limited", reason: `venue ${config.name} answered HTTP ${res.status}`, retryAfterMs: ms };
  }

  /** Fills for an answer with totals only: the venue's own trades when it lists them, else one synthesized fill. */
  async function completeFills(order: Order, update: VenueOrderUpdate, input: TranslateInput, ctx: VenueCallContext): Promise<VenueOrderUpdate> {
    const hook = dialect.trades;
    if (hook !== undefined && update.fills.length === 0 && update.filledQuantity !== undefined && update.venueOrderId !== "") {
      if (compare(update.filledQuantity, order.filledQuantity === "" ? "0" : order.filledQuantity) > 0) {
        const trades = await fetchTrades(hook, order, update, input, ctx);
        const fresh = trades === undefined ? undefined : newExecutions(order, update, trades);
        if (fresh !== undefined) return { ...update, fills: fresh };
        deps.logger?.info({ venue: config.name, orderId: order.orderId }, "venue trades unavailable or incomplete; synthesizing the fill from totals");
      }
    }
    return synthesizeFill(order, update, deps.clock.nowMs());
  }

  /** One trades request under the same limits, back-off and deadline as any call; undefined on any failure. */
  async function fetchTrades(hook: TradesHook, order: Order, update: VenueOrderUpdate, input: TranslateInput, ctx: VenueCallContext): Promise<VenueFill[] | undefined> {
    const now = deps.clock.nowMs();
    const timeoutMs = Math.min(config.timeoutMs, ctx.deadlineMs === undefined ? Infinity : ctx.deadlineMs - now);
    if (now < backoffUntil || timeoutMs <= 0) return undefined;
    if (deps.limiter !== undefined && !deps.limiter.tryAcquire(config.limiterKey, hook.weight).ok) return undefined;
    const signed = dialect.sign(hook.request(input, update), config.baseUrl, now);
    if (!signed.ok) return undefined;
    const started = performance.now();
    const sent = await http.send(signed.value, { signal: ctx.signal, timeoutMs, traceparent: ctx.traceparent });
    let result: Result<VenueFill[], VenueError>;
    if (!sent.ok) result = err(sent.error);
    else {
      const limited = observeLimits(sent.value);
      result = limited !== undefined ? err(limited) : hook.parse(sent.value);
    }
    deps.metrics.observeRequest(config.name, "trades", result.ok ? "ok" : result.error.kind, (performance.now() - started) / 1000);
    if (!result.ok) {
      deps.logger?.info({ venue: config.name, op: "trades", orderId: order.orderId, error: result.error }, "venue call failed");
      return undefined;
    }
    return result.value;
  }

  /**
   * Every page of the venue's balances under the same limits, back-off, deadline and health as an
   * order call. Entries of one asset on several pages (Coinbase lists one account per wallet) are summed.
   */
  async function fetchBalances(hook: BalancesHook, ctx: VenueCallContext): Promise<Result<VenueBalance[], VenueError>> {
    const started = performance.now();
    const result = await fetchBalancePages(hook, ctx);
    deps.metrics.observeRequest(config.name, "balances", result.ok ? "ok" : result.error.kind, (performance.now() - started) / 1000);
    if (!result.ok) deps.logger?.info({ venue: config.name, op: "balances", error: result.error }, "venue call failed");
    return result;
  }

  async function fetchBalancePages(hook: BalancesHook, ctx: VenueCallContext): Promise<Result<VenueBalance[], VenueError>> {
    const pages: VenueBalance[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_BALANCE_PAGES; page++) {
      // A read: whatever happened, nothing to reconcile.
      const sent = await sendOnce(hook.request(cursor), hook.weight, ctx);
      if (!sent.ok) return sent;
      const parsed = hook.parse(sent.value);
      if (!parsed.ok) {
        if (parsed.error.kind === "rate_limited") backoffUntil = Math.max(backoffUntil, deps.clock.nowMs() + parsed.error.retryAfterMs);
        return parsed;
      }
      pages.push(...parsed.value.balances);
      if (parsed.value.next === undefined || parsed.value.next === "") return ok(sumByAsset(pages));
      cursor = parsed.value.next;
    }
    return err({ kind: "protocol", reason: `venue ${config.name} listed balances over more than ${MAX_BALANCE_PAGES} pages` });
  }

  /** Venue symbol -> gateway symbol: the symbol map read backwards. */
  const gatewaySymbols = new Map(Object.entries(config.symbols).map(([g, vs]) => [vs, g] as const));

  /** Every page of the venue's open orders, under the same limits, back-off and deadline as any call. */
  async function listOpenOrders(hook: OpenOrdersHook, ctx: VenueCallContext): Promise<Result<VenueOpenOrder[], VenueError>> {
    const started = performance.now();
    const all: VenueOpenOrder[] = [];
    let cursor: string | undefined;
    let result: Result<VenueOpenOrder[], VenueError> | undefined;
    for (let page = 0; page < MAX_OPEN_ORDER_PAGES && result === undefined; page++) {
      const got = await sendOnce(hook.request(cursor), hook.weight, ctx);
      if (!got.ok) {
        result = got;
        break;
      }
      const parsed = hook.parse(got.value);
      if (!parsed.ok) {
        // A rate-limit answer in the body (Kraken EAPI:Rate limit exceeded) backs off as a 429 does.
        if (parsed.error.kind === "rate_limited") backoffUntil = Math.max(backoffUntil, deps.clock.nowMs() + parsed.error.retryAfterMs);
        result = parsed;
        break;
      }
      for (const o of parsed.value.orders) all.push({ ...o, symbol: gatewaySymbols.get(o.symbol) ?? o.symbol });
      cursor = parsed.value.next;
      if (cursor === undefined || cursor === "") result = ok(all);
    }
    result ??= err({ kind: "protocol", reason: `venue ${config.name} listed more than ${MAX_OPEN_ORDER_PAGES} pages of open orders` });
    deps.metrics.observeRequest(config.name, "open_orders", result.ok ? "ok" : result.error.kind, (performance.now() - started) / 1000);
    if (!result.ok) deps.logger?.info({ venue: config.name, op: "open_orders", error: result.error }, "venue call failed");
    return result;
  }

  /**
   * One request outside the order calls (listings, balances, mass cancel, amend): back-off,
   * deadline, outbound limit, sign, send, rate-limit and 5xx answers. `write`: a lost answer or a
   * 5xx is an unknown outcome (the venue may have acted), not just unavailable.
   */
  async function sendOnce(request: UnsignedRequest, weight: number, ctx: VenueCallContext, write = false): Promise<Result<HttpResponse, VenueError>> {
    const now = deps.clock.nowMs();
    if (now < backoffUntil) {
      return err({ kind: "rate_limited", reason: `venue ${config.name} is backing off after a rate-limit answer`, retryAfterMs: backoffUntil - now });
    }
    const timeoutMs = Math.min(config.timeoutMs, ctx.deadlineMs === undefined ? Infinity : ctx.deadlineMs - now);
    if (timeoutMs <= 0) return err({ kind: "unavailable", reason: "deadline exceeded before the venue call" });
    const acquired = deps.limiter?.tryAcquire(config.limiterKey, weight) ?? { ok: true };
    if (!acquired.ok) return err({ kind: "unavailable", reason: `outbound rate limit of venue ${config.name} reached`, retryAfterMs: acquired.retryAfterMs });
    const signed = dialect.sign(request, config.baseUrl, now);
    if (!signed.ok) return signed;
    const sent = await http.send(signed.value, { signal: ctx.signal, timeoutMs, traceparent: ctx.traceparent });
    if (!sent.ok) {
      failures++;
      if (failures >= threshold) setServing(false);
      // A write may have reached the venue (the client says whether it can have); a read is just unavailable.
      return err(write ? sent.error : { kind: "unavailable", reason: sent.error.reason });
    }
    const limited = observeLimits(sent.value);
    if (limited !== undefined) return err(limited);
    if (sent.value.status >= 500) {
      failures++;
      if (failures >= threshold) setServing(false);
      const reason = `venue ${config.name} answered HTTP ${sent.value.status}`;
      return err(write ? { kind: "unknown_outcome", reason } : { kind: "unavailable", reason });
    }
    failures = 0;
    setServing(true);
    return ok(sent.value);
  }

  /** One mass-cancel request; an error stands for every order it covers. */
  async function sendMassCancel(mc: MassCancelDialect, planned: MassCancelRequest, ctx: VenueCallContext): Promise<Result<Map<string, Result<VenueOrderUpdate, VenueError>>, VenueError>> {
    const sent = await sendOnce(planned.request, mc.weight, ctx, true);
    if (!sent.ok) return sent;
    const parsed = mc.parse(sent.value, planned.covers);
    if (!parsed.ok && parsed.error.kind === "rate_limited") {
      backoffUntil = Math.max(backoffUntil, deps.clock.nowMs() + parsed.error.retryAfterMs);
    }
    return parsed;
  }

  /** Sends the planned requests one after the other; answers with totals only get their fills completed. */
  async function runMassCancel(mc: MassCancelDialect, plan: readonly MassCancelRequest[], ctx: VenueCallContext): Promise<MassCancelAnswer> {
    const out = new Map<string, Result<VenueOrderUpdate, VenueError>>();
    for (const planned of plan) {
      const started = performance.now();
      const r = await sendMassCancel(mc, planned, ctx);
      deps.metrics.observeRequest(config.name, "cancel_all", r.ok ? "ok" : r.error.kind, (performance.now() - started) / 1000);
      if (!r.ok) {
        deps.logger?.info({ venue: config.name, op: "cancel_all", orders: planned.covers.length, error: r.error }, "venue call failed");
        for (const c of planned.covers) out.set(c.order.orderId, r);
        continue;
      }
      for (const c of planned.covers) {
        const one = r.value.get(c.order.orderId);
        if (one === undefined) continue;
        out.set(c.order.orderId, one.ok && dialect.cumulativeFillsOnly ? ok(await completeFills(c.order, one.value, c, ctx)) : one);
      }
    }
    return out;
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

  /** One dead-man switch call under the same back-off, limits and timeout as any call. */
  async function deadManSwitch(hook: DeadManHook, timeoutSeconds: number, ctx: VenueCallContext): Promise<Result<void, VenueError>> {
    const now = deps.clock.nowMs();
    if (now < backoffUntil) return err({ kind: "rate_limited", reason: `venue ${config.name} is backing off after a rate-limit answer`, retryAfterMs: backoffUntil - now });
    const timeoutMs = Math.min(config.timeoutMs, ctx.deadlineMs === undefined ? Infinity : ctx.deadlineMs - now);
    if (timeoutMs <= 0) return err({ kind: "unavailable", reason: "deadline exceeded before the venue call" });
    const acquired = deps.limiter?.tryAcquire(config.limiterKey, hook.weight) ?? { ok: true };
    if (!acquired.ok) return err({ kind: "unavailable", reason: `outbound rate limit of venue ${config.name} reached`, retryAfterMs: acquired.retryAfterMs });
    const signed = dialect.sign(hook.request(timeoutSeconds), config.baseUrl, now);
    if (!signed.ok) return signed;
    const started = performance.now();
    const sent = await http.send(signed.value, { signal: ctx.signal, timeoutMs, traceparent: ctx.traceparent });
    let result: Result<void, VenueError>;
    if (!sent.ok) result = err(sent.error);
    else {
      const limited = observeLimits(sent.value);
      result = limited !== undefined ? err(limited) : sent.value.status >= 500 ? err({ kind: "unavailable", reason: `venue ${config.name} answered HTTP ${sent.value.status}` }) : hook.parse(sent.value);
    }
    deps.metrics.observeRequest(config.name, "dead_man", result.ok ? "ok" : result.error.kind, (performance.now() - started) / 1000);
    return result;
  }

  const deadMan = dialect.deadMan;
  /**
   * The native amend: the same limits, back-off, deadline and health as any call. Never retried
   * here: an unknown outcome goes back to the use case, which re-sends the same absolute amend
   * only on the client's retry.
   */
  async function amendCall(hook: AmendHook, order: Order, amend: VenueAmend, ctx: VenueCallContext): Promise<Result<VenueAmendResult, VenueError>> {
    const started = performance.now();
    let target = order;
    if (hook.needsVenueOrderId === true && order.venueOrderId === "") {
      const found = await call("query", order, ctx);
      if (!found.ok) return found;
      target = { ...order, venueOrderId: found.value.venueOrderId };
    }
    const result = await amendInner(hook, target, amend, ctx);
    deps.metrics.observeRequest(config.name, "amend", result.ok ? "ok" : result.error.kind, (performance.now() - started) / 1000);
    if (!result.ok && result.error.kind !== "rejected" && result.error.kind !== "not_found") {
      deps.logger?.info({ venue: config.name, op: "amend", orderId: order.orderId, error: result.error }, "venue call failed");
    }
    return result;
  }

  async function amendInner(hook: AmendHook, order: Order, amend: VenueAmend, ctx: VenueCallContext): Promise<Result<VenueAmendResult, VenueError>> {
    const input: TranslateInput = { order, venueSymbol: venueSymbol(order.symbol) };
    const req = hook.request(input, amend);
    if (!req.ok) return req;
    const sent = await sendOnce(req.value, hook.weight, ctx, true);
    if (!sent.ok) return sent;
    const parsed = hook.parse(sent.value, input, amend);
    if (!parsed.ok && parsed.error.kind === "rate_limited") backoffUntil = Math.max(backoffUntil, deps.clock.nowMs() + parsed.error.retryAfterMs);
    return parsed;
  }

  deps.onRestSend?.((request, weight, signal) => sendOnce(request, weight, { signal }));
  const hook = dialect.amend;
  return {
    ...(deadMan !== undefined ? { deadManSwitch: (timeoutSeconds: number, ctx: VenueCallContext) => deadManSwitch(deadMan, timeoutSeconds, ctx) } : {}),
    name: config.name,
    kind: dialect.kind,
    ...(hook !== undefined
      ? {
          checkAmend: (order: Order, amend: VenueAmend) => hook.check(order, amend),
          amendOrder: (order: Order, amend: VenueAmend, ctx: VenueCallContext) => amendCall(hook, order, amend, ctx),
        }
      : {}),
    checkSymbol(symbol) {
      if (Object.keys(config.symbols).length === 0 || Object.hasOwn(config.symbols, symbol)) return undefined;
      return `symbol ${symbol} is not configured for venue ${config.name}`;
    },
    checkOrderShape: (type, tif) => dialect.checkOrderShape(type, tif),
    // Never retried here: a second POST could place a second order.
    placeOrder: (order, ctx) => call("place", order, ctx),
    cancelOrder: (order, ctx) => withVenueOrderId("cancel", order, ctx),
    queryOrder: (order, ctx) => withVenueOrderId("query", order, ctx),
    ...(dialect.balances !== undefined ? { fetchBalances: (ctx: VenueCallContext) => fetchBalances(dialect.balances!, ctx) } : {}),
    ...(dialect.openOrders !== undefined ? { listOpenOrders: (ctx: VenueCallContext) => listOpenOrders(dialect.openOrders!, ctx) } : {}),
    ...(dialect.massCancel === undefined
      ? {}
      : {
          cancelAll(scope: MassCancelScope, ctx: VenueCallContext): Promise<MassCancelAnswer> | undefined {
            const mc = dialect.massCancel!;
            const input = (order: Order): TranslateInput => ({ order, venueSymbol: venueSymbol(order.symbol) });
            const plan = mc.plan(scope.orders.map(input), scope.others.map(input));
            return plan === undefined ? undefined : runMassCancel(mc, plan, ctx);
          },
        }),
    close: () => http.close(),
  };
}

/** One entry per asset (sums repeated assets), zero balances left out, in the venue's order. */
export function sumByAsset(list: readonly VenueBalance[]): VenueBalance[] {
  const byAsset = new Map<string, { free: string; locked: string }>();
  for (const b of list) {
    const cur = byAsset.get(b.asset);
    byAsset.set(b.asset, cur === undefined ? { free: b.free, locked: b.locked } : { free: formatDecimal(add(cur.free, b.free)), locked: formatDecimal(add(cur.locked, b.locked)) });
  }
  const out: VenueBalance[] = [];
  for (const [asset, v] of byAsset) {
    if (isZero(v.free) && isZero(v.locked)) continue;
    out.push({ asset, free: formatDecimal(v.free), locked: formatDecimal(v.locked) });
  }
  return out;
}

/** A venue decimal field (string or JSON number) as a decimal string, or undefined when it is not one. */
export function venueDecimal(v: unknown): string | undefined {
  const s = typeof v === "number" && Number.isFinite(v) ? String(v) : typeof v === "string" ? v.trim() : undefined;
  return s !== undefined && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s) ? formatDecimal(s) : undefined;
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

/**
 * The common answer prologue: a non-2xx answer becomes the venue's error
 * (mapped from its body when that parses), a 2xx answer must be JSON.
 */
export function parseJsonAnswer(res: HttpResponse, mapError: (status: number, body: unknown) => VenueError): Result<unknown, VenueError> {
  const json = parseJson(res.bodyText);
  if (res.status < 200 || res.status >= 300) return err(mapError(res.status, json.ok ? json.value : null));
  return json;
}

/** Builds an absolute URL from base URL, path and already-encoded query string. */
export function joinUrl(baseUrl: string, path: string, query: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  return `${base}${path}${query === "" ? "" : `?${query}`}`;
}
