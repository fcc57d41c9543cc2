import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { OrderStatus, OrderType, Side, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Config } from "../../src/config/env.js";
import { createGateway } from "../../src/composition-root.js";
import { createRpcMetrics } from "../../src/adapters/metrics/metrics.js";
import { createHealthRegistry } from "../../src/server/health.js";
import { gatewayConfig } from "../helpers/gateway-config.js";
import { startServer } from "../helpers/start-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { startFakeVenues, venueEnv } from "../helpers/fake-venues/contract-venues.js";
import { resolveVenues } from "../helpers/venue-config.js";

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
}

/** A fake OTLP/HTTP collector on port 0: keeps every request and the spans of JSON bodies. */
async function startCollector() {
  const requests: { path: string; contentType: string }[] = [];
  const spans: OtlpSpan[] = [];
  const services: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({ path: req.url ?? "", contentType: String(req.headers["content-type"]) });
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        services.push(rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "");
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    spans,
    services,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function boot(config: Partial<Config>) {
  const fakes = await startFakeVenues();
  const dir = mkdtempSync(join(tmpdir(), "gw-trace-"));
  const base = gatewayConfig({ auditMode: "fsync", auditFile: join(dir, "audit.jsonl"), reconcileIntervalMs: 0, ...config });
  const venues = resolveVenues({ ...fakes.file, venues: fakes.file.venues.filter((v) => v.name === "binance") }, venueEnv);
  const metrics = createRpcMetrics();
  const health = createHealthRegistry();
  const shutdown = new AbortController();
  const core = await createGateway({ config: { ...base, venues }, logger: (await import("../helpers/log-capture.js")).createLogCapture().logger, health, registry: metrics.registry, shutdownSignal: shutdown.signal });
  const srv = await startServer({ trading: core.trading, metrics, health, deps: { tracer: core.tracer } });
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl }));
  let closed = false;
  return {
    core,
    srv,
    client,
    binance: fakes.fakes.get("binance")!,
    async close() {
      if (closed) return;
      closed = true;
      shutdown.abort();
      await srv.close();
      await core.close();
      await fakes.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";
const order = { clientOrderId: "t-1", account: "acct-1", venue: "binance", symbol: "BTC-USD", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: "0.01", price: "100" };

test("tracing on: one PlaceOrder exports its spans under the caller's trace id, the venue gets traceparent, the access line the trace id", async (t) => {
  const collector = await startCollector();
  t.after(() => collector.close());
  const gw = await boot({ otelEndpoint: collector.url, otelServiceName: "gw-under-test", otelExportDelayMs: 20 });
  t.after(() => gw.close());

  const res = await gw.client.placeOrder(order, { headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` } });
  assert.equal(res.order?.status, OrderStatus.NEW);

  const names = ["trading.v1.TradingGateway/PlaceOrder", "validate", "idempotency", "risk", "route", "venue binance placeOrder", "audit commit"];
  await waitFor(() => names.every((n) => collector.spans.some((s) => s.name === n)) && collector.spans.filter((s) => s.name === "audit commit").length >= 2, {
    timeoutMs: 10_000,
    what: `spans ${names.join(", ")}; got ${collector.spans.map((s) => s.name).join(", ")}`,
  });
  assert.ok(collector.requests.every((r) => r.path === "/v1/traces"), JSON.stringify(collector.requests));
  assert.ok(collector.services.every((s) => s === "gw-under-test"));
  const mine = collector.spans.filter((s) => s.traceId === TRACE_ID);
  assert.equal(mine.length, collector.spans.length, "every span is in the caller's trace");
  const rpc = mine.find((s) => s.name === "trading.v1.TradingGateway/PlaceOrder")!;
  assert.equal(rpc.parentSpanId, CALLER_SPAN, "the RPC span is a child of the caller's span");
  assert.equal(rpc.kind, 2, "SERVER");
  for (const s of mine.filter((x) => x !== rpc)) assert.equal(s.parentSpanId, rpc.spanId, `${s.name} is a child of the RPC span`);
  const venueSpan = mine.find((s) => s.name === "venue binance placeOrder")!;
  assert.equal(venueSpan.kind, 3, "CLIENT");

  // The venue got the venue span's traceparent.
  const placed = gw.binance.requests.find((r) => r.method === "POST" && r.path === "/api/v3/order");
  assert.ok(placed, "the order reached the venue");
  assert.equal(placed.headers["traceparent"], `00-${TRACE_ID}-${venueSpan.spanId}-01`);

  // The access line carries the trace id.
  const line = gw.srv.logs.find("rpc").find((l) => l["method"] === "PlaceOrder");
  assert.equal(line?.["traceId"], TRACE_ID);

  // CancelOrder: its venue call is a span too, and the venue gets its traceparent.
  const CANCEL_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  await gw.client.cancelOrder({ orderId: res.order!.orderId, account: "acct-1" }, { headers: { traceparent: `00-${CANCEL_TRACE}-00f067aa0ba902b7-01` } });
  // Both: the RPC span ends after the venue span and may come in a later export batch.
  const cancelSpans = ["venue binance cancelOrder", "trading.v1.TradingGateway/CancelOrder"];
  await waitFor(() => cancelSpans.every((n) => collector.spans.some((s) => s.traceId === CANCEL_TRACE && s.name === n)), { timeoutMs: 10_000, what: "the cancel's venue and RPC spans" });
  const cancelSpan = collector.spans.find((s) => s.traceId === CANCEL_TRACE && s.name === "venue binance cancelOrder")!;
  const cancelRpc = collector.spans.find((s) => s.traceId === CANCEL_TRACE && s.name === "trading.v1.TradingGateway/CancelOrder")!;
  assert.equal(cancelSpan.parentSpanId, cancelRpc.spanId);
  const canceled = gw.binance.requests.find((r) => r.method === "DELETE" && r.path === "/api/v3/order");
  assert.equal(canceled?.headers["traceparent"], `00-${CANCEL_TRACE}-${cancelSpan.spanId}-01`);

  // Without a traceparent: a new trace, still exported.
  const other = await gw.client.placeOrder({ ...order, clientOrderId: "t-2" });
  assert.equal(other.order?.status, OrderStatus.NEW);
  const line2 = gw.srv.logs.find("rpc").filter((l) => l["method"] === "PlaceOrder")[1];
  assert.match(String(line2?.["traceId"]), /^[0-9a-f]{32}$/);
  assert.notEqual(line2?.["traceId"], TRACE_ID);
  await waitFor(() => collector.spans.some((s) => s.traceId === line2?.["traceId"] && s.name === "trading.v1.TradingGateway/PlaceOrder"), { timeoutMs: 10_000, what: "the second trace" });
});

test("tracing off (the default): no exporter traffic, no traceparent to the venue, no trace id in the access line", async (t) => {
  const collector = await startCollector();
  t.after(() => collector.close());
  const gw = await boot({});
  t.after(() => gw.close());
  assert.equal(gw.core.tracer, undefined);
  const res = await gw.client.placeOrder(order, { headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` } });
  assert.equal(res.order?.status, OrderStatus.NEW);
  const placed = gw.binance.requests.find((r) => r.method === "POST" && r.path === "/api/v3/order");
  assert.equal(placed?.headers["traceparent"], undefined);
  const line = gw.srv.logs.find("rpc").find((l) => l["method"] === "PlaceOrder");
  assert.ok(line !== undefined && !("traceId" in line));
  await gw.close();
  assert.equal(collector.requests.length, 0);
});
