import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { CancelOutcome, OrderStatus, OrderType, Side, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { OrderStatus as DomainStatus } from "../../src/domain/order.js";
import { startServer } from "../helpers/start-server.js";
import { createTestTradingCore, MARKET_ORDER_FIELDS } from "../helpers/trading-core.js";

// CancelAllOrders over the real server, once per protocol: results, the FAILED code names and
// the request errors with their BadRequest details survive every encoding.
test("CancelAllOrders over gRPC, gRPC-Web and Connect JSON", async (t) => {
  const { core, hub, scripted } = createTestTradingCore();
  const srv = await startServer({ trading: core.service, config: { rateLimitRps: 0 } });
  t.after(async () => {
    hub.close();
    await srv.close();
  });
  const transports: Array<[string, Transport]> = [
    ["grpc", createGrpcTransport({ baseUrl: srv.baseUrl })],
    ["grpc-web", createGrpcWebTransport({ baseUrl: srv.baseUrl, httpVersion: "2" })],
    ["connect-json", createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "2", useBinaryFormat: false })],
  ];
  for (const [name, transport] of transports) {
    const client = createClient(TradingGateway, transport);
    const account = `acct-${name}`;
    const resting = { ...MARKET_ORDER_FIELDS, account, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" };
    const a = await client.placeOrder({ ...resting, clientOrderId: `${name}-a` });
    const b = await client.placeOrder({ ...resting, clientOrderId: `${name}-b`, side: Side.SELL, price: "1000000" });
    // A resting order on the scripted venue whose cancel meets a rate limit.
    scripted.next.push({ ok: true, value: { status: DomainStatus.NEW, venueOrderId: `S-${name}`, fills: [] } });
    const c = await client.placeOrder({ ...resting, venue: "scripted", clientOrderId: `${name}-c` });
    assert.equal(c.order?.status, OrderStatus.NEW, name);
    scripted.cancelNext.push({ ok: false, error: { kind: "rate_limited", reason: "HTTP 429", retryAfterMs: 1000 } });

    const r = await client.cancelAllOrders({ account });
    assert.deepEqual(
      r.results.map((x) => [x.order?.orderId, x.outcome, x.order?.status, x.code]),
      [
        [a.order?.orderId, CancelOutcome.CANCELED, OrderStatus.CANCELED, ""],
        [b.order?.orderId, CancelOutcome.CANCELED, OrderStatus.CANCELED, ""],
        [c.order?.orderId, CancelOutcome.FAILED, OrderStatus.NEW, "RESOURCE_EXHAUSTED"],
      ],
      name,
    );
    assert.match(r.results[2]!.message, /rate limit/, name);

    // Idempotent: what is still open is canceled now, nothing else is touched.
    const again = await client.cancelAllOrders({ account, venue: "scripted" });
    assert.deepEqual(again.results.map((x) => [x.order?.orderId, x.outcome]), [[c.order?.orderId, CancelOutcome.CANCELED]], name);
    assert.deepEqual((await client.cancelAllOrders({ account })).results, [], name);

    const missing = await client.cancelAllOrders({ venue: "nowhere" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(missing?.code, Code.InvalidArgument, name);
    assert.deepEqual(missing?.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field), ["account", "venue"], name);
  }
});
