import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { CancelOutcome, OrderStatus, OrderType, TimeInForce, TradingGateway, TradingState } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createGateway } from "../../src/composition-root.js";
import { createRpcMetrics } from "../../src/adapters/metrics/metrics.js";
import { createHealthRegistry } from "../../src/server/health.js";
import { gatewayConfig } from "../helpers/gateway-config.js";
import { createLogCapture } from "../helpers/log-capture.js";
import { startServer } from "../helpers/start-server.js";
import { MARKET_ORDER_FIELDS } from "../helpers/market-order.js";
import { rpcError } from "../helpers/trading-core.js";

const sha = (k: string) => createHash("sha256").update(k).digest("hex");
const TRADER = "trader-key-0123456789";
const ADMIN = "admin-key-0123456789";

// The kill switch end to end, once per protocol, on the real composition (built-in limits on).
test("SetTradingState / GetTradingState over gRPC, gRPC-Web and Connect: admin vs trader, HALTED refuses, cancels pass, cancel_open_orders, ACTIVE resumes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-halt-"));
  const metrics = createRpcMetrics();
  const health = createHealthRegistry();
  const core = await createGateway({
    config: gatewayConfig({ auditFile: join(dir, "audit.jsonl"), auditMode: "fsync" }),
    logger: createLogCapture().logger,
    health,
    registry: metrics.registry,
    shutdownSignal: new AbortController().signal,
  });
  const srv = await startServer({
    trading: core.trading,
    metrics,
    health,
    config: { rateLimitRps: 0, apiKeys: [{ sha256: sha(TRADER), accounts: new Set(["acct-grpc", "acct-grpc-web", "acct-connect-json"]) }, { sha256: sha(ADMIN), accounts: new Set(), admin: true }] },
  });
  t.after(async () => {
    await srv.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const transports: Array<[string, Transport]> = [
    ["grpc", createGrpcTransport({ baseUrl: srv.baseUrl })],
    ["grpc-web", createGrpcWebTransport({ baseUrl: srv.baseUrl, httpVersion: "2" })],
    ["connect-json", createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "2", useBinaryFormat: false })],
  ];
  const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
  for (const [name, transport] of transports) {
    const client = createClient(TradingGateway, transport);
    const account = `acct-${name}`;
    let n = 0;
    const market = () => ({ ...MARKET_ORDER_FIELDS, account, clientOrderId: `${name}-${++n}` });
    const resting = () => ({ ...market(), type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "64000", quantity: "0.1" });

    // The embedded defaults refuse an absurd order, saying why.
    const absurd = await rpcError(client.placeOrder({ ...market(), quantity: "100000" }, as(TRADER)));
    assert.equal(absurd.code, Code.FailedPrecondition, name);
    assert.equal(absurd.findDetails(ErrorInfoSchema)[0]?.reason, "MAX_QUANTITY_EXCEEDED", name);
    assert.match(absurd.rawMessage, /quantity 100000 exceeds the maximum 10000/);

    // A trader key may not touch the kill switch.
    const denied = await rpcError(client.setTradingState({ account, state: TradingState.HALTED, reason: "no" }, as(TRADER)));
    assert.equal(denied.code, Code.PermissionDenied, name);

    const open = await client.placeOrder(resting(), as(TRADER));
    assert.equal(open.order?.status, OrderStatus.NEW, name);
    const set = await client.setTradingState({ account, state: TradingState.HALTED, reason: "desk closed" }, as(ADMIN));
    assert.equal(set.setting?.state, TradingState.HALTED, name);
    assert.equal(set.setting?.setBy, `key-${sha(ADMIN).slice(0, 12)}`);
    const got = await client.getTradingState({ account }, as(TRADER));
    assert.equal(got.effective, TradingState.HALTED, name);
    assert.equal(got.settings[0]?.reason, "desk closed");

    const haltedRequest = market();
    const halted = await rpcError(client.placeOrder(haltedRequest, as(TRADER)));
    assert.equal(halted.code, Code.FailedPrecondition, name);
    const info = halted.findDetails(ErrorInfoSchema)[0];
    assert.equal(info?.reason, "TRADING_HALTED", name);
    assert.equal(info?.metadata["scope_account"], account);
    assert.equal(info?.metadata["set_reason"], "desk closed");
    // Cancels pass.
    const canceled = await client.cancelOrder({ orderId: open.order!.orderId }, as(TRADER));
    assert.equal(canceled.order?.status, OrderStatus.CANCELED, name);

    // ACTIVE resumes; a global HALTED with cancel_open_orders cancels every account's orders.
    await client.setTradingState({ account, state: TradingState.ACTIVE, reason: "desk open" }, as(ADMIN));
    // The refusal was not the key's outcome: the same request, retried, now trades.
    const retried = await client.placeOrder(haltedRequest, as(TRADER));
    assert.deepEqual([retried.order?.status, retried.replayed], [OrderStatus.FILLED, false], name);
    const again = await client.placeOrder(resting(), as(TRADER));
    assert.equal(again.order?.status, OrderStatus.NEW, name);
    const bad = await rpcError(client.setTradingState({ state: TradingState.REDUCE_ONLY, reason: "x", cancelOpenOrders: true }, as(ADMIN)));
    assert.equal(bad.code, Code.InvalidArgument, name);
    const all = await client.setTradingState({ state: TradingState.HALTED, reason: "incident", cancelOpenOrders: true }, as(ADMIN));
    assert.deepEqual(
      all.canceled.map((c) => [c.order?.orderId, c.outcome]),
      [[again.order!.orderId, CancelOutcome.CANCELED]],
      name,
    );
    assert.equal((await rpcError(client.placeOrder(market(), as(TRADER)))).findDetails(ErrorInfoSchema)[0]?.metadata["scope"], "global");
    assert.equal((await client.getTradingState({}, as(TRADER))).effective, TradingState.HALTED);
    await client.setTradingState({ state: TradingState.ACTIVE, reason: "resolved" }, as(ADMIN));
    const ok = await client.placeOrder(market(), as(TRADER));
    assert.equal(ok.order?.status, OrderStatus.FILLED, name);
  }
  const text = await metrics.registry.metrics();
  assert.match(text, /^risk_rejects_total\{reason="TRADING_HALTED"\} 6$/m);
  assert.match(text, /^risk_rejects_total\{reason="MAX_QUANTITY_EXCEEDED"\} 3$/m);
  assert.match(text, /^trading_state\{venue=""\} 0$/m);
});
