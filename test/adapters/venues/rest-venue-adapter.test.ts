import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { OrderStatus, OrderType, TimeInForce } from "../../../src/domain/order.js";
import { ok, err } from "../../../src/domain/result.js";
import type { HttpClient, HttpRequest, HttpResponse, TransportError } from "../../../src/adapters/venues/http-client.js";
import { createOutboundLimiter } from "../../../src/adapters/venues/outbound-limiter.js";
import type { VenueDialect } from "../../../src/adapters/venues/rest-venue-adapter.js";
import { createRestVenueAdapter, retryAfterMs } from "../../../src/adapters/venues/rest-venue-adapter.js";
import { createVenueMetrics } from "../../../src/adapters/venues/venue-metrics.js";
import { makeOrder } from "./make-order.js";

type Scripted = { ok: true; value: HttpResponse } | { ok: false; error: TransportError };

function stubHttp(script: Scripted[]): HttpClient & { sent: Array<{ req: HttpRequest; timeoutMs: number }> } {
  const sent: Array<{ req: HttpRequest; timeoutMs: number }> = [];
  return {
    sent,
    async send(req, opts) {
      sent.push({ req, timeoutMs: opts.timeoutMs });
      const next = script.shift();
      assert.ok(next, "unexpected request");
      return next;
    },
    async close() {},
  };
}

const dialect: VenueDialect = {
  kind: "stub",
  weights: { place: 1, cancel: 1, query: 4 },
  checkOrderShape: () => undefined,
  translate: (op, input) => ok({ method: "POST", path: `/${op}/${input.venueSymbol}`, query: [], body: "" }),
  sign: (req, baseUrl) => ok({ method: req.method, url: baseUrl + req.path, headers: {} }),
  parse: (_op, res) => (res.status === 200 ? ok({ status: OrderStatus.NEW, venueOrderId: res.bodyText, fills: [] }) : err({ kind: "rejected", reason: res.bodyText })),
};
const answer = (status: number, bodyText = "V1", headers: Record<string, string> = {}): Scripted => ({ ok: true, value: { status, headers, bodyText } });
const ctx = { signal: new AbortController().signal };

function setup(script: Scripted[], extra: Partial<Parameters<typeof createRestVenueAdapter>[2]> = {}) {
  let now = 1_000_000;
  const health: boolean[] = [];
  const http = stubHttp(script);
  const registry = new Registry();
  const adapter = createRestVenueAdapter(
    dialect,
    { name: "v", baseUrl: "https://venue.test", symbols: { "BTC-USD": "BTCUSD" }, timeoutMs: 2000, limiterKey: "key" },
    { clock: { nowMs: () => now }, metrics: createVenueMetrics(registry), httpClient: http, onHealth: (_v, s) => health.push(s), ...extra },
  );
  return { adapter, http, health, registry, advance: (ms: number) => (now += ms), now: () => now };
}

test("symbol map: mapped symbols are used and unknown ones refused by checkSymbol", async () => {
  const { adapter, http } = setup([answer(200)]);
  assert.equal(adapter.checkSymbol("BTC-USD"), undefined);
  assert.match(adapter.checkSymbol("ETH-USD") ?? "", /not configured for venue v/);
  assert.ok((await adapter.placeOrder(makeOrder(), ctx)).ok);
  assert.equal(http.sent[0]!.req.url, "https://venue.test/place/BTCUSD");
});

test("each call's timeout is min(venue timeout, remaining deadline)", async () => {
  const s = setup([answer(200), answer(200)]);
  await s.adapter.placeOrder(makeOrder(), { ...ctx, deadlineMs: s.now() + 300 });
  await s.adapter.placeOrder(makeOrder(), { ...ctx, deadlineMs: s.now() + 60_000 });
  assert.deepEqual(s.http.sent.map((x) => x.timeoutMs), [300, 2000]);
});

test("5xx and transport failures: unknown_outcome for place/cancel, unavailable for query; health flips after 3 and back", async () => {
  const s = setup([
    answer(502),
    { ok: false, error: { kind: "unknown_outcome", reason: "reset" } },
    { ok: false, error: { kind: "unknown_outcome", reason: "timeout" } },
    answer(200),
  ]);
  const a = await s.adapter.placeOrder(makeOrder(), ctx);
  assert.ok(!a.ok && a.error.kind === "unknown_outcome");
  const b = await s.adapter.cancelOrder(makeOrder(), ctx);
  assert.ok(!b.ok && b.error.kind === "unknown_outcome");
  const c = await s.adapter.queryOrder(makeOrder(), ctx);
  assert.ok(!c.ok && c.error.kind === "unavailable");
  assert.deepEqual(s.health, [true, false]);
  assert.ok((await s.adapter.queryOrder(makeOrder(), ctx)).ok);
  assert.deepEqual(s.health, [true, false, true]);
  const text = await s.registry.metrics();
  assert.match(text, /venue_requests_total\{venue="v",operation="place",outcome="unknown_outcome"\} 1/);
  assert.match(text, /venue_requests_total\{venue="v",operation="query",outcome="ok"\} 1/);
  assert.match(text, /venue_request_duration_seconds_count\{venue="v",operation="cancel",outcome="unknown_outcome"\} 1/);
});

test("429 backs the venue off for Retry-After; calls fail fast until it ends", async () => {
  const s = setup([answer(429, "", { "retry-after": "3" }), answer(200)]);
  const a = await s.adapter.placeOrder(makeOrder(), ctx);
  assert.ok(!a.ok && a.error.kind === "rate_limited" && a.error.retryAfterMs === 3000);
  s.advance(1000);
  const b = await s.adapter.queryOrder(makeOrder(), ctx);
  assert.ok(!b.ok && b.error.kind === "rate_limited" && b.error.retryAfterMs === 2000);
  assert.equal(s.http.sent.length, 1);
  s.advance(2000);
  assert.ok((await s.adapter.placeOrder(makeOrder(), ctx)).ok);
  assert.deepEqual(s.health, [true, false, true]);
});

test("outbound limit: weighted, refused before sending with unavailable + retry delay", async () => {
  let now = 0;
  const limiter = createOutboundLimiter({ now: () => now, limits: new Map([["key", { capacity: 5, refillPerSecond: 1 }]]) });
  const s = setup([answer(200), answer(200)], { limiter });
  assert.ok((await s.adapter.queryOrder(makeOrder(), ctx)).ok); // weight 4
  const r = await s.adapter.queryOrder(makeOrder(), ctx);
  assert.ok(!r.ok && r.error.kind === "unavailable" && r.error.retryAfterMs === 3000);
  assert.ok((await s.adapter.placeOrder(makeOrder(), ctx)).ok); // weight 1 still fits
  assert.equal(s.http.sent.length, 2);
  now += 10_000;
});

test("checkOrderShape is the dialect's", () => {
  const { adapter } = setup([]);
  assert.equal(adapter.checkOrderShape(OrderType.LIMIT, TimeInForce.GTC), undefined);
});

test("Retry-After parsing", () => {
  assert.equal(retryAfterMs("2"), 2000);
  assert.equal(retryAfterMs("0.5"), 500);
  assert.equal(retryAfterMs(undefined), undefined);
  assert.equal(retryAfterMs("soon"), undefined);
});
