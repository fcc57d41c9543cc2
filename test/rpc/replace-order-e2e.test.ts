import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderStatus, OrderType, ReplaceMethod, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { startServer } from "../helpers/start-server.js";
import { createTestTradingCore, MARKET_ORDER_FIELDS } from "../helpers/trading-core.js";

// ReplaceOrder over the real server, once per protocol: the answer (method, steps, the chain of
// client ids) and the errors with their details must survive every encoding.
test("ReplaceOrder / replay / reuse / malformed / lookup by old and new client id over gRPC, gRPC-Web and Connect", async (t) => {
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
    const placed = await client.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: `${name}-a`, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1", quantity: "2" });
    assert.equal(placed.order?.status, OrderStatus.NEW, name);
    const req = { clientOrderId: `${name}-a`, account: "acct-1", newClientOrderId: `${name}-b`, quantity: "3", price: "2" };
    const r = await client.replaceOrder(req);
    assert.equal(r.replayed, false, name);
    assert.equal(r.method, ReplaceMethod.AMEND, name);
    assert.deepEqual(r.steps.map((s) => [s.step, s.succeeded]), [["amend", true]], name);
    assert.equal(r.order?.orderId, placed.order?.orderId, name);
    assert.equal(r.order?.clientOrderId, `${name}-b`, name);
    assert.deepEqual(r.order?.replacedClientOrderIds, [`${name}-a`], name);
    assert.equal(r.order?.quantity, "3");
    assert.equal(r.order?.price, "2");

    const again = await client.replaceOrder(req);
    assert.equal(again.replayed, true, name);
    assert.equal(again.method, ReplaceMethod.AMEND, name);

    const reuse = await client.replaceOrder({ ...req, quantity: "4" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(reuse?.code, Code.AlreadyExists, name);
    assert.equal(reuse?.findDetails(ErrorInfoSchema)[0]?.reason, "IDEMPOTENCY_KEY_REUSED", name);

    const bad = await client.replaceOrder({ orderId: placed.order!.orderId, newClientOrderId: "" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(bad?.code, Code.InvalidArgument, name);
    assert.deepEqual(bad?.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field).sort(), ["new_client_order_id", "quantity"], name);

    for (const cid of [`${name}-a`, `${name}-b`]) {
      const got = await client.getOrderStatus({ clientOrderId: cid, account: "acct-1" });
      assert.equal(got.order?.orderId, placed.order?.orderId, `${name} ${cid}`);
    }
    const filled = await client.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: `${name}-m` });
    const terminal = await client.replaceOrder({ orderId: filled.order!.orderId, newClientOrderId: `${name}-n`, quantity: "5" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(terminal?.code, Code.FailedPrecondition, name);
    assert.equal(terminal?.findDetails(ErrorInfoSchema)[0]?.reason, "ORDER_TERMINAL", name);
  }
});
