import { test } from "node:test";
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { OrderStatus, OrderType, TimeInForce } from "../../src/domain/order.js";
import { createAuditGuard } from "../../src/pipeline/audit-guard.js";
import { createTestTradingCore, MARKET_ORDER_FIELDS, rpcError } from "../helpers/trading-core.js";

const disk = new Error("ENOSPC: no space left on device");

function setup(auditMode: "buffered" | "fsync") {
  const failures: string[] = [];
  const s = createTestTradingCore({ auditMode, onAuditFailure: (message) => failures.push(message) });
  return { ...s, failures };
}


const order = (over: Record<string, unknown> = {}) => ({ ...MARKET_ORDER_FIELDS, ...over });
const resting = { status: OrderStatus.NEW, venueOrderId: "V-1", fills: [] };

test("paper: the final append fails -> UNAVAILABLE naming the order; key kept (retry replays); new orders refused; health told once", async () => {
  const s = setup("buffered");
  s.audit.failWith(disk);
  const e = await rpcError(s.client.placeOrder(order()));
  assert.equal(e.code, Code.Unavailable);
  const orderId = /order (\S+) was not recorded/.exec(e.rawMessage)?.[1];
  assert.ok(orderId !== undefined, e.rawMessage);
  assert.match(e.rawMessage, /^audit log unavailable/);
  assert.equal(s.core.orders.get(orderId)?.status, OrderStatus.FILLED, "the order happened; memory knows it");
  assert.deepEqual(s.failures.length, 1);
  assert.equal(s.core.auditGuard.healthy, false);

  // The same request: a replay of the stored outcome, no second execution.
  const again = await s.client.placeOrder(order());
  assert.equal(again.replayed, true);
  assert.equal(again.order?.orderId, orderId);

  // A new order is refused, even once the sink works again: only a restart clears it.
  s.audit.failWith(undefined);
  const next = await rpcError(s.client.placeOrder(order({ clientOrderId: "c-2", venue: "scripted" })));
  assert.equal(next.code, Code.Unavailable);
  assert.match(next.rawMessage, /^audit log unavailable/);
  assert.equal(s.scripted.placed.length, 0);
  assert.equal(s.audit.events.length, 0);
  assert.equal(s.failures.length, 1);
});

test("real venue, fsync: write-ahead durable, final append rejects -> one venue order, UNAVAILABLE, retry is a replay", async () => {
  const s = setup("fsync");
  s.audit.failWith(disk, 1);
  const e = await rpcError(s.client.placeOrder(order({ venue: "scripted" })));
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, /the outcome of this order for order \S+ was not recorded/);
  assert.deepEqual(s.audit.events.map((x) => x.type), ["order_received"]);
  assert.equal(s.scripted.placed.length, 1);
  const again = await s.client.placeOrder(order({ venue: "scripted" }));
  assert.equal(again.replayed, true);
  assert.equal(again.order?.orderId, s.audit.events[0]!.order!.orderId);
  assert.equal(s.scripted.placed.length, 1, "never a second venue order");
  assert.equal(s.failures.length, 1);
});

test("real venue: write-ahead append fails at once -> nothing sent, UNAVAILABLE, the same request stays refused", async () => {
  const s = setup("buffered");
  s.audit.failWith(disk);
  const e = await rpcError(s.client.placeOrder(order({ venue: "scripted" })));
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, /^audit log unavailable/);
  assert.equal(s.scripted.placed.length, 0);
  assert.equal(s.core.orders.getByClientOrderId("acct-1", "c-1"), undefined, "the client order id is free again");
  const again = await rpcError(s.client.placeOrder(order({ venue: "scripted" })));
  assert.equal(again.code, Code.Unavailable);
  assert.equal(s.scripted.placed.length, 0);
  assert.equal(s.failures.length, 1);
});

test("risk rejection that cannot be recorded -> UNAVAILABLE, guard tripped", async () => {
  const failures: string[] = [];
  const s = createTestTradingCore({ riskLimits: { "acct-1": { maxNotional: "1" } }, onAuditFailure: (m) => failures.push(m) });
  s.audit.failWith(disk);
  const e = await rpcError(s.client.placeOrder(order()));
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, /risk rejection of this request was not recorded/);
  assert.equal(failures.length, 1);
});

test("cancel: final append fails -> UNAVAILABLE naming the order; later cancels and orders refused", async () => {
  const s = setup("fsync");
  s.scripted.next.push({ ok: true, value: resting });
  const placed = (await s.client.placeOrder(order({ venue: "scripted", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" }))).order!;
  s.audit.failWith(disk, 1); // cancel_requested is durable, the outcome is not
  const e = await rpcError(s.client.cancelOrder({ orderId: placed.orderId }));
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, new RegExp(`the outcome of the cancel for order ${placed.orderId} was not recorded`));
  assert.equal(s.scripted.canceled.length, 1);
  assert.equal(s.failures.length, 1);
  const again = await rpcError(s.client.cancelOrder({ orderId: placed.orderId }));
  assert.match(again.rawMessage, /^audit log unavailable/);
  assert.equal(s.scripted.canceled.length, 1);
  const next = await rpcError(s.client.placeOrder(order({ clientOrderId: "c-9" })));
  assert.equal(next.code, Code.Unavailable);
});

test("cancel: the cancel request cannot be recorded -> not sent, the order is working again", async () => {
  const s = setup("buffered");
  s.scripted.next.push({ ok: true, value: resting });
  const placed = (await s.client.placeOrder(order({ venue: "scripted", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" }))).order!;
  s.audit.failWith(disk);
  const e = await rpcError(s.client.cancelOrder({ orderId: placed.orderId }));
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, /^audit log unavailable/);
  assert.equal(s.scripted.canceled.length, 0);
  assert.equal(s.core.orders.get(placed.orderId)?.status, OrderStatus.NEW);
  assert.equal(s.failures.length, 1);
});

test("a polled venue update whose audit append fails trips the guard and is reported to the poller", async () => {
  const s = setup("fsync");
  s.scripted.next.push({ ok: true, value: resting });
  const placed = (await s.client.placeOrder(order({ venue: "scripted", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" }))).order!;
  s.audit.failWith(disk);
  await assert.rejects(
    s.core.orders.applyVenueUpdate(placed.orderId, { status: OrderStatus.FILLED, venueOrderId: "V-1", fills: [{ venueTradeId: "t1", quantity: "1.5", price: "1", fee: "0", feeCurrency: "USD", timeMs: 1 }] }, "poll"),
    /ENOSPC/,
  );
  assert.equal(s.core.auditGuard.healthy, false);
  assert.equal(s.failures.length, 1);
  assert.equal(s.hub.lastPublished(), 0n, "an un-audited fill is not streamed");
});

test("the guard: first failure wins, the listener is called once, and a throwing listener cannot break it", () => {
  let calls = 0;
  const g = createAuditGuard(() => {
    calls += 1;
    throw new Error("listener bug");
  });
  assert.equal(g.healthy, true);
  assert.equal(g.refusal(), undefined);
  g.failed("first", disk);
  g.failed("second", disk);
  assert.equal(calls, 1);
  assert.equal(g.healthy, false);
  assert.equal(g.refusal()?.kind, "unavailable");
});

test("a guard made by the caller (for failures only the sink sees) is the one the core uses", async () => {
  const heard: string[] = [];
  const guard = createAuditGuard((m) => heard.push(m));
  const s = createTestTradingCore({ auditGuard: guard });
  assert.equal(s.core.auditGuard, guard);
  guard.failed("buffered write failed", disk);
  const e = await rpcError(s.client.placeOrder(order()));
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, /^audit log unavailable/);
  assert.deepEqual(heard, ["audit log unavailable: buffered write failed"]);
  assert.equal(s.audit.events.length, 0);
});

test("real venue, fsync: the write-ahead append rejects -> nothing sent, UNAVAILABLE, guard tripped", async () => {
  const s = setup("fsync");
  s.audit.failWith(disk);
  const e = await rpcError(s.client.placeOrder(order({ venue: "scripted" })));
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, /^audit log unavailable/);
  assert.equal(s.scripted.placed.length, 0);
  assert.equal(s.failures.length, 1);
});

test("cancel, fsync: the cancel request's append rejects -> not sent, the order is working again", async () => {
  const s = setup("fsync");
  s.scripted.next.push({ ok: true, value: resting });
  const placed = (await s.client.placeOrder(order({ venue: "scripted", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" }))).order!;
  s.audit.failWith(disk);
  const e = await rpcError(s.client.cancelOrder({ orderId: placed.orderId }));
  assert.equal(e.code, Code.Unavailable);
  assert.equal(s.scripted.canceled.length, 0);
  assert.equal(s.core.orders.get(placed.orderId)?.status, OrderStatus.NEW);
  assert.equal(s.failures.length, 1);
});
