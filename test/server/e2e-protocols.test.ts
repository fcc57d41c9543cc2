import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Side, OrderType, OrderStatus, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { startServer } from "../helpers/start-server.js";

const order = { clientOrderId: "c1", account: "acct1", venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.LIMIT, quantity: "1.5", price: "100.25" };

for (const fastPath of [true, false]) test(`one port serves gRPC, gRPC-Web and Connect (JSON and binary) over HTTP/2 and HTTP/1.1 (FAST_PATH=${fastPath ? "on" : "off"})`, async (t) => {
  const srv = await startServer({ config: { fastPath } });
  t.after(() => srv.close());
  const transports = {
    "grpc h2": createGrpcTransport({ baseUrl: srv.baseUrl }),
    "grpc-web h1": createGrpcWebTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1" }),
    "grpc-web h2": createGrpcWebTransport({ baseUrl: srv.baseUrl, httpVersion: "2" }),
    "connect json h1": createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    "connect binary h1": createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    "connect json h2": createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "2", useBinaryFormat: false }),
    "connect binary h2": createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "2", useBinaryFormat: true }),
  };
  for (const [name, transport] of Object.entries(transports)) {
    const client = createClient(TradingGateway, transport);
    const res = await client.placeOrder(order);
    assert.equal(res.order?.orderId, "ord-c1", name);
    assert.equal(res.order?.status, OrderStatus.NEW, name);
    assert.equal(res.order?.price, "100.25", name);
    await assert.rejects(client.getOrderStatus({ orderId: "nope" }), (e: unknown) => {
      assert.equal(ConnectError.from(e).code, Code.NotFound, name);
      return true;
    });
  }
  // One log line per call, with the wire protocol and the caller's address.
  const lines = srv.logs.find("rpc");
  assert.equal(lines.length, Object.keys(transports).length * 2);
  assert.deepEqual([...new Set(lines.map((l) => l["protocol"]))].sort(), ["connect", "grpc", "grpc_web"]);
  for (const l of lines) assert.match(String(l["peer"]), /^127\.0\.0\.1:\d+$/);
});

test("plain curl-style HTTP/1.1 Connect JSON and h2c prior knowledge both work", async (t) => {
  const srv = await startServer();
  t.after(() => srv.close());
  // HTTP/1.1, as `curl -H 'content-type: application/json' -d '{...}'` sends it.
  const body = JSON.stringify({ clientOrderId: "c2", account: "a", venue: "paper", symbol: "ETH-USD", side: "SIDE_SELL", type: "ORDER_TYPE_MARKET", quantity: "2" });
  const h1 = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(`${srv.baseUrl}/trading.v1.TradingGateway/PlaceOrder`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let data = "";
      res.setEncoding("utf8").on("data", (c) => (data += c)).on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
  assert.equal(h1.status, 200);
  assert.equal(JSON.parse(h1.body).order.orderId, "ord-c2");
  assert.equal(JSON.parse(h1.body).order.side, "SIDE_SELL");
  assert.match(String(h1.headers["x-request-id"]), /^[0-9a-f-]{36}$/);

  // HTTP/2 prior knowledge (curl --http2-prior-knowledge), Connect JSON.
  const session = http2.connect(srv.baseUrl);
  t.after(() => session.close());
  const h2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const s = session.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/PlaceOrder", "content-type": "application/json" });
    let status = 0;
    let data = "";
    s.on("response", (h) => (status = Number(h[":status"])));
    s.setEncoding("utf8").on("data", (c) => (data += c)).on("end", () => resolve({ status, body: data })).on("error", reject);
    s.end(body);
  });
  assert.equal(h2.status, 200);
  assert.equal(JSON.parse(h2.body).order.orderId, "ord-c2");
});
