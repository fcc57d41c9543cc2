/**
 * CALL_BATCHING (src/server/fast-path/unary-fast-path.ts, batchCalls): unary calls whose requests
 * arrive in one turn of the event loop start together, in arrival order, and each is answered
 * as before; with it off, every call starts alone. Real sockets: one HTTP/2 connection carrying
 * many requests written at once, so that the server reads them in one go.
 */
import assert from "node:assert/strict";
import { connect as h2connect } from "node:http2";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { OrderSchema, OrderStatus, PlaceOrderRequestSchema, PlaceOrderResponseSchema, Side, OrderType, TradingGateway } from "../../../gen/trading/v1/trading_gateway_pb.js";
import type { FastPathStats } from "../../../src/server/fast-path/install-fast-path.js";
import { startServer } from "../../helpers/start-server.js";
import { frame } from "../../helpers/grpc-frame.js";
import { collectResponse, rawStatus } from "../../helpers/raw-http2.js";

const ON = process.env["FAST_PATH"] !== "off";
const CALLS = 40;

async function burst(callBatching: boolean, t: { after: (fn: () => Promise<void>) => void }) {
  const started: string[] = [];
  const trading: Partial<ServiceImpl<typeof TradingGateway>> = {
    placeOrder(req) {
      // Synchronous up to here: the order of this list is the order the calls started in.
      started.push(req.clientOrderId);
      return Promise.resolve({ order: create(OrderSchema, { orderId: `o-${req.clientOrderId}`, clientOrderId: req.clientOrderId, status: OrderStatus.FILLED }) });
    },
  };
  const srv = await startServer({ trading, config: { callBatching } });
  const session = h2connect(srv.baseUrl);
  t.after(async () => {
    session.close();
    await srv.close();
  });
  await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject));
  const stats = (srv.app as unknown as { fastPath: FastPathStats }).fastPath.unary;
  const [calls0, batches0] = [stats.calls, stats.batches];
  const ids = Array.from({ length: CALLS }, (_, i) => `c-${String(i).padStart(2, "0")}`);
  // Written in one synchronous loop: node sends the frames of all of them together.
  const answers = ids.map((id) => {
    const req = session.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/PlaceOrder", "content-type": "application/grpc", te: "trailers" });
    req.end(frame(toBinary(PlaceOrderRequestSchema, create(PlaceOrderRequestSchema, { clientOrderId: id, account: "acct-1", venue: "paper", symbol: "BTC-USD", side: Side.BUY, type: OrderType.MARKET, quantity: "1" }))));
    return collectResponse(req, new Set(["date"]));
  });
  const responses = await Promise.all(answers);
  responses.forEach((r, i) => {
    assert.deepEqual(rawStatus(r), { code: 0, message: "" }, `call ${ids[i]}`);
    const order = fromBinary(PlaceOrderResponseSchema, Buffer.from(r.body, "hex").subarray(5)).order!;
    assert.equal(order.clientOrderId, ids[i], "each call gets its own answer");
  });
  return { started, ids, calls: stats.calls - calls0, batches: stats.batches - batches0 };
}

test("calls that arrive together start together, in arrival order, each answered", { skip: !ON && "FAST_PATH=off" }, async (t) => {
  const r = await burst(true, t);
  assert.equal(r.calls, CALLS);
  assert.deepEqual(r.started, r.ids, "started in the order their requests arrived");
  // TCP may split the burst, but 40 requests in one write reach the server in a few reads.
  assert.ok(r.batches < CALLS / 4, `${CALLS} calls started in ${r.batches} batches`);
});

test("CALL_BATCHING=off: every call starts alone, as its request ends", { skip: !ON && "FAST_PATH=off" }, async (t) => {
  const r = await burst(false, t);
  assert.equal(r.calls, CALLS);
  assert.equal(r.batches, CALLS);
  assert.deepEqual(r.started, r.ids);
});
