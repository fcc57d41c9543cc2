import { test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { OrderType, Side, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { servedByFastPath } from "../../src/server/fast-path/install-fast-path.js";
import { startServer } from "../helpers/start-server.js";
import { createTestCerts } from "../helpers/test-certs.js";

const certs = createTestCerts();
const order = { clientOrderId: "tls1", account: "a", venue: "paper", symbol: "X", side: Side.BUY, type: OrderType.MARKET, quantity: "1" };

test("TLS: HTTP/2 via ALPN for gRPC, HTTP/1.1 fallback for Connect and gRPC-Web", { skip: certs === undefined ? "openssl not installed" : false }, async (t) => {
  const c = certs!;
  const srv = await startServer({ tls: { cert: c.serverCert, key: c.serverKey } });
  t.after(() => srv.close());
  const tlsOpts = { ca: c.ca };
  for (const transport of [
    createGrpcTransport({ baseUrl: srv.baseUrl, nodeOptions: tlsOpts }),
    createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1", nodeOptions: tlsOpts }),
    createGrpcWebTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1", nodeOptions: tlsOpts }),
  ]) {
    assert.equal((await createClient(TradingGateway, transport).placeOrder(order)).order?.orderId, "ord-tls1");
  }
  // The gRPC call (HTTP/2 by ALPN) went through the fast path when it is on: its hook is on the TLS server too.
  assert.equal(servedByFastPath(srv.app), process.env["FAST_PATH"] === "off" ? 0 : 1);
  // A plain HTTP/1.1 client (no ALPN h2) still gets answers.
  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request(`${srv.baseUrl}/trading.v1.TradingGateway/PlaceOrder`, { method: "POST", ca: c.ca, headers: { "content-type": "application/json" }, agent: false }, (res) => {
      res.resume().on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end("{}");
  });
  assert.equal(status, 200);
});

test("mTLS: a client certificate signed by TLS_CA_FILE is required", { skip: certs === undefined ? "openssl not installed" : false }, async (t) => {
  const c = certs!;
  const srv = await startServer({ tls: { cert: c.serverCert, key: c.serverKey, ca: c.ca } });
  t.after(() => srv.close());
  const withCert = createGrpcTransport({ baseUrl: srv.baseUrl, nodeOptions: { ca: c.ca, cert: c.clientCert, key: c.clientKey } });
  assert.equal((await createClient(TradingGateway, withCert).placeOrder(order)).order?.orderId, "ord-tls1");
  const without = createConnectTransport({ baseUrl: srv.baseUrl, httpVersion: "1.1", nodeOptions: { ca: c.ca } });
  // The handshake fails: the call never reaches a handler.
  await assert.rejects(createClient(TradingGateway, without).placeOrder(order), (e: unknown) => ConnectError.from(e).code === Code.Unavailable || ConnectError.from(e).code === Code.Internal || ConnectError.from(e).code === Code.Unknown);
});
