/**
 * GetPositions and the position limits' ErrorInfo end to end: a real server on port 0 over the
 * trading core (paper venue), called over gRPC, gRPC-Web and Connect (JSON), plus a plain HTTP
 * POST of Connect JSON as `curl` would send it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OrderType, Side, TimeInForce, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { startServer } from "../helpers/start-server.js";
import { createTestTradingCore } from "../helpers/trading-core.js";

for (const fastPath of [true, false]) test(`GetPositions and a MAX_POSITION_EXCEEDED refusal over gRPC, gRPC-Web, Connect JSON and curl (FAST_PATH=${fastPath ? "on" : "off"})`, async (t) => {
  const { core, paper } = createTestTradingCore({ riskLimits: { "acct-e2e": { maxPosition: "3" } } });
  const srv = await startServer({ config: { fastPath }, trading: core.service });
  t.after(() => srv.close());
  const transports = {
    grpc: createGrpcTransport({ baseUrl: srv.baseUrl }),
    "grpc-web": createGrpcWebTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1" }),
    "connect json": createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
  };
  const order = { account: "acct-e2e", venue: "paper", symbol: "BTC-USD", type: OrderType.MARKET, timeInForce: TimeInForce.IOC };
  const grpc = createClient(TradingGateway, transports.grpc);
  await grpc.placeOrder({ ...order, clientOrderId: "b1", side: Side.BUY, quantity: "2" });
  paper.setReferencePrice("BTC-USD", "65100.5");
  await grpc.placeOrder({ ...order, clientOrderId: "s1", side: Side.SELL, quantity: "0.5" });

  for (const [name, transport] of Object.entries(transports)) {
    const client = createClient(TradingGateway, transport);
    const res = await client.getPositions({ account: "acct-e2e", symbol: "BTC-USD" });
    assert.equal(res.positions.length, 1, name);
    const p = res.positions[0]!;
    assert.deepEqual(
      [p.account, p.venue, p.symbol, p.quantity, p.averageEntryPrice, p.realizedPnl, p.fees, p.lastFillSequence],
      ["acct-e2e", "paper", "BTC-USD", "1.5", "65000", "50.25", "162.55025", 2n],
      name,
    );
    assert.ok(p.updatedAt !== undefined && p.updatedAt.seconds > 0n, name);
    const e = await client.placeOrder({ ...order, clientOrderId: `x-${name.replace(" ", "-")}`, side: Side.BUY, quantity: "1.50000001" }).then(
      () => assert.fail(`${name}: expected a refusal`),
      (err: unknown) => ConnectError.from(err),
    );
    assert.equal(e.code, Code.FailedPrecondition, name);
    const info = e.findDetails(ErrorInfoSchema)[0];
    assert.equal(info?.reason, "MAX_POSITION_EXCEEDED", name);
    assert.equal(info?.metadata["max_position"], "3", name);
    assert.equal(info?.metadata["projected_position"], "3.00000001", name);
    const missing = await client.getPositions({ account: "" }).then(
      () => assert.fail("expected INVALID_ARGUMENT"),
      (err: unknown) => ConnectError.from(err),
    );
    assert.equal(missing.code, Code.InvalidArgument, name);
  }

  // What `curl -H 'Content-Type: application/json' -d '{"account":"acct-e2e"}' .../GetPositions` gets.
  const r = await fetch(`${srv.baseUrl}/trading.v1.TradingGateway/GetPositions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ account: "acct-e2e" }),
  });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { positions: Record<string, unknown>[] };
  assert.deepEqual(Object.keys(body.positions[0]!).sort(), ["account", "averageEntryPrice", "fees", "lastFillSequence", "quantity", "realizedPnl", "symbol", "updatedAt", "venue"]);
  assert.equal(body.positions[0]!["lastFillSequence"], "2");
  assert.match(String(body.positions[0]!["updatedAt"]), /^\d{4}-\d\d-\d\dT/);
});
