import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderStatus, OrderType, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { startServer } from "../helpers/start-server.js";
import { createTestTradingCore, MARKET_ORDER_FIELDS } from "../helpers/trading-core.js";

// The same rules over the real server, once per protocol: the errors and their details must
// survive gRPC (grpc-status-details-bin), gRPC-Web and Connect encodings.
test("PlaceOrder / replay / reuse / malformed / cancel / lookup over gRPC, gRPC-Web and Connect", async (t) => {
  const { core, hub } = createTestTradingCore();
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
    const base = { ...MARKET_ORDER_FIELDS, clientOrderId: `${name}-1` };
    const first = await client.placeOrder(base);
    assert.equal(first.order?.status, OrderStatus.FILLED, name);
    assert.equal(first.replayed, false);
    const again = await client.placeOrder(base);
    assert.equal(again.replayed, true, name);
    assert.equal(again.order?.orderId, first.order?.orderId);

    const reuse = await client.placeOrder({ ...base, quantity: "2" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(reuse?.code, Code.AlreadyExists, name);
    assert.equal(reuse?.findDetails(ErrorInfoSchema)[0]?.reason, "IDEMPOTENCY_KEY_REUSED", name);

    const bad = await client.placeOrder({ ...base, clientOrderId: `${name}-2`, quantity: "1e3", side: 0 }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(bad?.code, Code.InvalidArgument, name);
    assert.deepEqual(bad?.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field).sort(), ["quantity", "side"], name);
    assert.match(bad?.rawMessage ?? "", /side.*quantity|quantity.*side/);

    const cancelFilled = await client.cancelOrder({ orderId: first.order!.orderId }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(cancelFilled?.code, Code.FailedPrecondition, name);
    assert.match(cancelFilled?.rawMessage ?? "", /FILLED/);

    const resting = await client.placeOrder({ ...base, clientOrderId: `${name}-l`, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" });
    assert.equal(resting.order?.status, OrderStatus.NEW);
    const canceled = await client.cancelOrder({ clientOrderId: `${name}-l`, account: "acct-1" });
    assert.equal(canceled.order?.status, OrderStatus.CANCELED, name);
    const got = await client.getOrderStatus({ orderId: resting.order!.orderId });
    assert.equal(got.order?.status, OrderStatus.CANCELED);
    const missing = await client.getOrderStatus({ orderId: "nope" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(missing?.code, Code.NotFound, name);
  }
});
