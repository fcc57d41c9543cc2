/**
 * Error messages reach every client exactly as the server wrote them, on both paths: a real
 * @grpc/grpc-js client (which decodes grpc-message with decodeURI, so any escaping beyond the
 * gRPC spec's shows up in its users' messages) and connect-node's gRPC, gRPC-Web and Connect
 * clients, over HTTP/2 (the fast path when on) and HTTP/1.1 (always connect's path).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { PlaceOrderRequestSchema, PlaceOrderResponseSchema, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { servedByFastPath } from "../../src/server/fast-path/install-fast-path.js";
import { frame } from "../helpers/grpc-frame.js";
import { collectResponse } from "../helpers/raw-http2.js";
import { startServer } from "../helpers/start-server.js";

// The handler fails with the client order id as its message: the texts below are the ones that went wrong.
const trading = {
  async placeOrder(req) {
    throw new ConnectError(req.clientOrderId, Code.FailedPrecondition);
  },
  async cancelOrder() {
    return {};
  },
  async getOrderStatus() {
    return {};
  },
  async *streamFills() {},
} satisfies Partial<ServiceImpl<typeof TradingGateway>>;

// [text, grpc-message on the wire as the gRPC spec has it]
const texts: [string, string][] = [
  ["invalid request: client_order_id, quantity; see the details", "invalid request: client_order_id, quantity; see the details"],
  ["100% sure, %3A stays %3A", "100%25 sure, %253A stays %253A"],
  ["naïve – 東京 🚀", "na%C3%AFve %E2%80%93 %E6%9D%B1%E4%BA%AC %F0%9F%9A%80"],
  [`a/b?c#d&e=f+g$h@i[j]"k'l`, `a/b?c#d&e=f+g$h@i[j]"k'l`],
  ["tab\tnew line\nend", "tab%09new line%0Aend"],
];

function grpcJsPlaceOrder(port: number, clientOrderId: string): Promise<grpc.ServiceError> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/trading.v1.TradingGateway/PlaceOrder",
      (r: string) => Buffer.from(toBinary(PlaceOrderRequestSchema, create(PlaceOrderRequestSchema, { clientOrderId: r }))),
      (b: Buffer) => fromBinary(PlaceOrderResponseSchema, b),
      clientOrderId,
      (err) => {
        client.close();
        if (err) resolve(err);
        else reject(new Error("the call should fail"));
      },
    );
  });
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("the call should fail");
}

for (const fastPath of [true, false]) {
  test(`error texts reach grpc-js and connect clients unchanged (FAST_PATH=${fastPath ? "on" : "off"})`, async (t) => {
    const srv = await startServer({ trading, config: { fastPath } });
    t.after(() => srv.close());
    const baseUrl = srv.baseUrl;
    const clients = {
      grpc: createClient(TradingGateway, createGrpcTransport({ baseUrl })),
      "grpc-web h2": createClient(TradingGateway, createGrpcWebTransport({ baseUrl, httpVersion: "2" })),
      "grpc-web h1": createClient(TradingGateway, createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })),
      "connect h2": createClient(TradingGateway, createConnectTransport({ baseUrl, httpVersion: "2" })),
      "connect h1": createClient(TradingGateway, createConnectTransport({ baseUrl, httpVersion: "1.1" })),
    };
    const session = http2.connect(baseUrl);
    t.after(() => session.destroy());
    for (const [text, wire] of texts) {
      const e = await grpcJsPlaceOrder(srv.port, text);
      assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
      assert.equal(e.details, text, "grpc-js shows the server's text");
      for (const [name, client] of Object.entries(clients)) {
        const ce = await failure(client.placeOrder({ clientOrderId: text }));
        assert.equal(ce.code, Code.FailedPrecondition, name);
        assert.equal(ce.rawMessage, text, name);
      }
      // On the wire: exactly the spec's encoding, in the trailers (gRPC) and the trailer envelope (gRPC-Web).
      const body = frame(toBinary(PlaceOrderRequestSchema, create(PlaceOrderRequestSchema, { clientOrderId: text })));
      const raw = session.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/PlaceOrder", "content-type": "application/grpc", te: "trailers" });
      const g = collectResponse(raw, new Set());
      raw.end(body);
      assert.equal((await g).trailers["grpc-message"], wire);
      const rawWeb = session.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/PlaceOrder", "content-type": "application/grpc-web+proto" });
      const w = collectResponse(rawWeb, new Set());
      rawWeb.end(body);
      assert.ok(Buffer.from((await w).body, "hex").toString("latin1").includes(`grpc-message: ${wire}\r\n`));
    }
    // Answers the gateway writes itself (refused before connect) are encoded the same way.
    const bad = session.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/PlaceOrder", ":authority": "[bad", "content-type": "application/grpc", te: "trailers" });
    const b = collectResponse(bad, new Set());
    bad.end(frame(new Uint8Array(0)));
    assert.equal((await b).headers["grpc-message"], `invalid :authority header: "[bad"`);
    // Per text: grpc-js, gRPC, gRPC-Web h2, Connect h2, raw gRPC, raw gRPC-Web.
    assert.equal(servedByFastPath(srv.app), fastPath ? texts.length * 6 : 0);
  });
}
