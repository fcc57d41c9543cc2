/**
 * ReplaceOrder across a crash: the real gateway process with the fsync audit log replaces an
 * order, is SIGKILLed, and after a restart on the same log finds the order by its new and its
 * old client id, and answers a retry of the replace from the log (replayed, nothing sent).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../gen/trading/v1/trading_gateway_pb.js";
import { connectChildGateway, startChildGateway, stopChildGateway } from "../helpers/child-gateway.js";

test("after SIGKILL and restart: found by new and old client id, a retried replace is replayed", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replace-restart-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { AUDIT_MODE: "fsync", AUDIT_FILE: path.join(dir, "audit.jsonl") };

  const first = await startChildGateway(env);
  const c1 = connectChildGateway(first.port);
  let orderId = "";
  try {
    const placed = await c1.trading.placeOrder({
      clientOrderId: "rr-1", account: "acct-1", venue: "paper", symbol: "BTC-USD", side: Side.BUY,
      type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: "1", price: "60000",
    });
    assert.equal(placed.order?.status, OrderStatus.NEW);
    orderId = placed.order!.orderId;
    const r = await c1.trading.replaceOrder({ orderId, newClientOrderId: "rr-2", quantity: "1.5", price: "60001" });
    assert.equal(r.order?.clientOrderId, "rr-2");
    assert.equal(r.replayed, false);
  } finally {
    c1.close();
    await stopChildGateway(first, "SIGKILL");
  }

  const second = await startChildGateway(env);
  const c2 = connectChildGateway(second.port);
  t.after(async () => {
    c2.close();
    await stopChildGateway(second);
  });
  for (const cid of ["rr-1", "rr-2"]) {
    const got = await c2.trading.getOrderStatus({ clientOrderId: cid, account: "acct-1" });
    assert.equal(got.order?.orderId, orderId, cid);
    assert.equal(got.order?.quantity, "1.5");
    assert.deepEqual(got.order?.replacedClientOrderIds, ["rr-1"]);
  }
  const again = await c2.trading.replaceOrder({ clientOrderId: "rr-1", account: "acct-1", newClientOrderId: "rr-2", quantity: "1.5", price: "60001" });
  assert.equal(again.replayed, true);
  assert.equal(again.order?.orderId, orderId);
});
