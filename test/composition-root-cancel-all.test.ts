import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CancelOutcome, OrderStatus, OrderType, TimeInForce, TradingGateway } from "../gen/trading/v1/trading_gateway_pb.js";
import type { Config } from "../src/config/env.js";
import { createRpcMetrics } from "../src/adapters/metrics/metrics.js";
import { createAuditDecoder } from "../src/adapters/audit/audit-codec.js";
import { createGateway } from "../src/composition-root.js";
import { createHealthRegistry } from "../src/server/health.js";
import { gatewayConfig } from "./helpers/gateway-config.js";
import { createLogCapture } from "./helpers/log-capture.js";
import { MARKET_ORDER_FIELDS } from "./helpers/market-order.js";
import { startServer } from "./helpers/start-server.js";

async function boot(config: Partial<Config>) {
  const metrics = createRpcMetrics();
  const shutdown = new AbortController();
  const core = await createGateway({ config: gatewayConfig(config), logger: createLogCapture().logger, health: createHealthRegistry(), registry: metrics.registry, shutdownSignal: shutdown.signal });
  const srv = await startServer({ trading: core.trading, metrics });
  const client = createClient(TradingGateway, createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "2" }));
  return {
    client,
    metrics,
    close: async () => {
      shutdown.abort();
      await srv.close();
      await core.close();
    },
  };
}

test("the composed gateway serves CancelAllOrders: the cancels are in the audit log, counted, and still canceled after a restart", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-cancel-all-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config: Partial<Config> = { auditMode: "fsync", auditFile: join(dir, "audit.jsonl"), paperPrices: "BTC-USD=50000" };
  const first = await boot(config);
  let firstClosed = false;
  t.after(async () => {
    if (!firstClosed) await first.close();
  });
  const resting = { ...MARKET_ORDER_FIELDS, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "46000" };
  const a = await first.client.placeOrder({ ...resting, clientOrderId: "ca-1" });
  const b = await first.client.placeOrder({ ...resting, clientOrderId: "ca-2" });
  const r = await first.client.cancelAllOrders({ account: MARKET_ORDER_FIELDS.account }, { headers: { "x-request-id": "kill-1" } });
  assert.deepEqual(r.results.map((x) => x.outcome), [CancelOutcome.CANCELED, CancelOutcome.CANCELED]);
  const scrape = await first.metrics.registry.metrics();
  assert.match(scrape, /gateway_cancels_total\{venue="paper",outcome="canceled",via="native"\} 2/);
  firstClosed = true;
  await first.close();

  // Each cancel is on record before its outcome.
  const decoder = createAuditDecoder();
  const events = readFileSync(join(dir, "audit.jsonl"), "utf8").split("\n").filter((l) => l !== "").map((l) => {
    const e = decoder.line(l);
    assert.ok(e.ok, e.ok ? "" : e.error);
    return e.value;
  });
  for (const o of [a.order!, b.order!]) {
    const types = events.filter((e) => e.order?.orderId === o.orderId).map((e) => e.type);
    assert.ok(types.includes("cancel_requested") && types.indexOf("cancel_requested") < types.indexOf("order_canceled"), types.join(","));
  }
  const second = await boot(config);
  t.after(second.close);
  assert.equal((await second.client.getOrderStatus({ orderId: a.order!.orderId })).order?.status, OrderStatus.CANCELED);
  assert.deepEqual((await second.client.cancelAllOrders({ account: MARKET_ORDER_FIELDS.account })).results, []);
});
