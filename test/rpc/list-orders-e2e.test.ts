/**
 * ListOrders and ListFills through the real server, once per protocol (gRPC, gRPC-Web, Connect
 * JSON): paging with a token, filters, errors with their BadRequest field and PERMISSION_DENIED
 * for an account the API key may not use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderStatus, OrderType, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { startServer } from "../helpers/start-server.js";
import { createTestTradingCore, MARKET_ORDER_FIELDS } from "../helpers/trading-core.js";

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  return p.then(
    () => assert.fail("the call succeeded"),
    (e: unknown) => ConnectError.from(e),
  );
}

test("ListOrders / ListFills over gRPC, gRPC-Web and Connect JSON: pages, filters, bad token, page_size, PERMISSION_DENIED", async (t) => {
  const { core, hub } = createTestTradingCore();
  const srv = await startServer({
    trading: core.service,
    config: {
      rateLimitRps: 0,
      apiKeys: [{ sha256: createHash("sha256").update("list-key").digest("hex"), accounts: new Set(["acct-1"]) }],
    },
  });
  t.after(async () => {
    hub.close();
    await srv.close();
  });
  const auth = { headers: { authorization: "Bearer list-key" } };
  const transports: Array<[string, Transport]> = [
    ["grpc", createGrpcTransport({ baseUrl: srv.baseUrl })],
    ["grpc-web", createGrpcWebTransport({ baseUrl: srv.baseUrl, httpVersion: "2" })],
    ["connect-json", createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "2", useBinaryFormat: false })],
  ];
  const client0 = createClient(TradingGateway, transports[0]![1]);
  const placed: string[] = [];
  for (let n = 0; n < 5; n++) {
    const r = await client0.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: `le-${n}` }, auth);
    placed.push(r.order!.orderId);
  }
  const resting = await client0.placeOrder({ ...MARKET_ORDER_FIELDS, clientOrderId: "le-limit", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" }, auth);
  placed.push(resting.order!.orderId);
  const newestFirst = [...placed].reverse();

  for (const [name, transport] of transports) {
    const client = createClient(TradingGateway, transport);
    const ids: string[] = [];
    let token = "";
    do {
      const page = await client.listOrders({ account: "acct-1", pageSize: 4, pageToken: token }, auth);
      ids.push(...page.orders.map((o) => o.orderId));
      token = page.nextPageToken;
    } while (token !== "");
    assert.deepEqual(ids, newestFirst, name);

    const open = await client.listOrders({ account: "acct-1", openOnly: true }, auth);
    assert.deepEqual(
      open.orders.map((o) => [o.orderId, o.status]),
      [[resting.order!.orderId, OrderStatus.NEW]],
      name,
    );
    const filled = await client.listOrders({ account: "acct-1", statuses: [OrderStatus.FILLED], symbol: "BTC-USD", venue: "paper" }, auth);
    assert.equal(filled.orders.length, 5, name);
    assert.ok(filled.orders[0]!.createdAt !== undefined);

    const fills1 = await client.listFills({ account: "acct-1", pageSize: 3 }, auth);
    assert.equal(fills1.fills.length, 3, name);
    const fills2 = await client.listFills({ account: "acct-1", pageSize: 3, pageToken: fills1.nextPageToken }, auth);
    assert.equal(fills2.nextPageToken, "", name);
    const seqs = [...fills1.fills, ...fills2.fills].map((f) => f.sequence);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => (a < b ? 1 : -1)), name);
    assert.deepEqual(
      [...fills1.fills, ...fills2.fills].map((f) => f.orderId),
      placed.slice(0, 5).reverse(),
      name,
    );
    const one = await client.listFills({ account: "acct-1", orderId: placed[2]! }, auth);
    assert.deepEqual(
      one.fills.map((f) => f.orderId),
      [placed[2]],
      name,
    );

    const first = await client.listOrders({ account: "acct-1", pageSize: 2 }, auth);
    const foreign = await failure(client.listOrders({ account: "acct-1", pageSize: 2, symbol: "ETH-USD", pageToken: first.nextPageToken }, auth));
    assert.equal(foreign.code, Code.InvalidArgument, name);
    assert.deepEqual(
      foreign.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field),
      ["page_token"],
      name,
    );
    const tooBig = await failure(client.listOrders({ account: "acct-1", pageSize: 1001 }, auth));
    assert.equal(tooBig.code, Code.InvalidArgument, name);
    assert.deepEqual(
      tooBig.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field),
      ["page_size"],
      name,
    );
    const unspecified = await failure(client.listOrders({ account: "acct-1", statuses: [OrderStatus.UNSPECIFIED] }, auth));
    assert.equal(unspecified.code, Code.InvalidArgument, name);
    const other = await failure(client.listOrders({ account: "acct-2" }, auth));
    assert.equal(other.code, Code.PermissionDenied, name);
    const otherFills = await failure(client.listFills({ account: "acct-2" }, auth));
    assert.equal(otherFills.code, Code.PermissionDenied, name);
  }
});
