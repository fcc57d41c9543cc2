import { test } from "node:test";
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { OrderStatus, OrderType, TimeInForce } from "../../src/domain/order.js";
import { AuditOutageError, type AuditEvent, type AuditSink } from "../../src/use-cases/audit-sink.js";
import { recoverState } from "../../src/use-cases/recover.js";
import { createAuditGuard, type AuditGuard } from "../../src/use-cases/audit-guard.js";
import { createMemoryAudit } from "./support.js";
import { waitFor } from "../helpers/wait-for.js";
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

// Issue 18 item 2: a sink that loses its database keeps what it is given (AuditOutageError) and
// says when it is back; the gateway fails closed meanwhile and serves again afterwards.

/** An fsync sink over the in-memory one that can go through an outage as the PostgreSQL sink does. */
function outageSink(guard: AuditGuard) {
  const inner = createMemoryAudit("fsync");
  const kept: AuditEvent[] = [];
  let down = false;
  const sink: AuditSink = {
    mode: "fsync",
    append(events) {
      if (!down) return inner.append(events);
      kept.push(...events);
      return Promise.reject(new AuditOutageError("the audit database is unreachable (test); kept"));
    },
    close: async () => {},
  };
  return {
    sink,
    events: inner.events,
    kept,
    goDown() {
      down = true;
      guard.unavailable("the database connection was lost (test)", new Error("terminated"), false);
    },
    restore() {
      down = false;
      inner.events.push(...kept.splice(0));
      guard.restored();
    },
  };
}

function outageSetup() {
  const told: { message: string; transient: boolean }[] = [];
  let restored = 0;
  const guard = createAuditGuard(
    (message, _cause, transient) => told.push({ message, transient }),
    () => restored++,
  );
  const o = outageSink(guard);
  const t = createTestTradingCore({ audit: o.sink, auditGuard: guard });
  return { ...t, o, guard, told, restored: () => restored };
}

test("outage: the cut-off call is UNAVAILABLE naming its order; the key stays claimed (refused during the outage, a replay after); SERVING again without a restart", async () => {
  const s = outageSetup();
  s.o.goDown();
  // Refused up front: no order, nothing sent.
  const up = await rpcError(s.client.placeOrder(order({ clientOrderId: "c-0", venue: "scripted" })));
  assert.equal(up.code, Code.Unavailable);
  assert.match(up.rawMessage, /^audit log unavailable \(the database connection was lost \(test\)\).*reconnects by itself/);
  assert.equal(s.scripted.placed.length, 0);
  assert.deepEqual(s.told, [{ message: "audit log unavailable: the database connection was lost (test)", transient: true }]);
  assert.equal(s.guard.healthy, false);

  // The outage starts while an order is at the venue: its final append is kept, not written.
  s.o.restore();
  s.scripted.hold = true;
  const inFlight = rpcError(s.client.placeOrder(order({ venue: "scripted" })));
  await waitFor(() => s.scripted.placed.length === 1);
  s.o.goDown();
  s.scripted.hold = false;
  s.scripted.release();
  const cut = await inFlight;
  assert.equal(cut.code, Code.Unavailable);
  const orderId = /for order (\S+) was not recorded/.exec(cut.rawMessage)?.[1];
  assert.ok(orderId !== undefined, cut.rawMessage);
  // Its retry during the outage is refused: the record the replay would confirm is not written yet.
  const early = await rpcError(s.client.placeOrder(order({ venue: "scripted" })));
  assert.equal(early.code, Code.Unavailable);
  assert.equal(s.scripted.placed.length, 1);

  s.o.restore();
  assert.equal(s.restored(), 2);
  assert.equal(s.guard.healthy, true);
  const again = await s.client.placeOrder(order({ venue: "scripted" }));
  assert.equal(again.replayed, true);
  assert.equal(again.order?.orderId, orderId);
  assert.equal(s.scripted.placed.length, 1, "never a second venue order");
  assert.ok(s.o.events.some((e) => e.order?.orderId === orderId && e.idempotency !== undefined && e.type !== "order_received"), "its outcome is on record");
  // Serving again: a new order goes through.
  const next = await s.client.placeOrder(order({ clientOrderId: "c-2", venue: "scripted" }));
  assert.equal(next.replayed, false);
  assert.equal(s.told.filter((x) => !x.transient).length, 0, "never tripped for good");
});

test("outage on the write-ahead append: not sent; the rejection that frees the key follows order_received into the log, so a restart would not find it pending", async () => {
  const s = outageSetup();
  // The database is lost while the order_received append is on its way (the guard did not know yet).
  s.o.goDown();
  s.guard.restored();
  const p = rpcError(s.client.placeOrder(order({ venue: "scripted" })));
  const e = await p;
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, /^audit log unavailable.*order \S+ was not sent$/);
  assert.equal(s.scripted.placed.length, 0);
  s.o.restore();
  assert.deepEqual(s.o.events.map((x) => x.type), ["order_received", "order_rejected"]);
  const recovered = await recoverState(s.o.events, { nowMs: s.clock.nowMs(), idempotencyTtlMs: 60_000, idempotencyMaxEntries: 10, orderRetentionMs: 60_000, maxTerminalOrders: 10 });
  assert.equal(recovered.idempotency.size, 0, "the key is free after a restart");
  const [rec] = [...recovered.orders.values()];
  assert.equal(rec?.order.status, OrderStatus.REJECTED);
  assert.equal(rec?.clientOrderIdReleased, true);
  // And now, live: the same request is placed normally.
  const placed = await s.client.placeOrder(order({ venue: "scripted" }));
  assert.equal(placed.replayed, false);
  assert.equal(s.scripted.placed.length, 1);
});

test("the guard: an outage is cleared by restored(); a loss (any other failure) is not, and outlives the outage", () => {
  const told: boolean[] = [];
  let restored = 0;
  const g = createAuditGuard(
    (_m, _c, transient) => told.push(transient),
    () => restored++,
  );
  g.unavailable("db lost", new Error("x"), false);
  g.unavailable("db lost again", new Error("x"), false);
  assert.deepEqual(told, [true]);
  assert.match(g.refusal()?.message ?? "", /reconnects by itself/);
  assert.equal(g.failed("a batch kept by the sink", new AuditOutageError("kept")), g.refusal());
  assert.deepEqual(told, [true], "a kept batch does not trip the guard");
  g.restored();
  assert.equal(restored, 1);
  assert.equal(g.healthy, true);
  // Already back: a late refusal from the outage still gets an answer, and sets nothing.
  assert.equal(g.failed("late", new AuditOutageError("kept")).kind, "unavailable");
  assert.equal(g.healthy, true);

  g.unavailable("db lost", new Error("x"), false);
  g.failed("a row refused", disk);
  assert.deepEqual(told, [true, true, false]);
  g.restored();
  assert.equal(restored, 1, "not serving again: events may be lost");
  assert.equal(g.healthy, false);
  assert.match(g.refusal()?.message ?? "", /until it is restarted/);
  assert.equal(g.outage(), undefined, "replays are answered again once tripped for good, as before");

  const p = createAuditGuard((_m, _c, transient) => told.push(transient));
  p.unavailable("another writer appended", new Error("x"), true);
  assert.equal(told.at(-1), false);
  assert.match(p.refusal()?.message ?? "", /until it is restarted/);
});

test("outage on the cancel request's append: not sent; the way back to working follows cancel_requested into the log", async () => {
  const s = outageSetup();
  s.scripted.next.push({ ok: true, value: resting });
  const placed = (await s.client.placeOrder(order({ venue: "scripted", type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" }))).order!;
  s.o.goDown();
  s.guard.restored(); // the database is lost while the cancel_requested append is on its way
  const e = await rpcError(s.client.cancelOrder({ orderId: placed.orderId }));
  assert.equal(e.code, Code.Unavailable);
  assert.match(e.rawMessage, new RegExp(`the cancel of order ${placed.orderId} was not sent$`));
  assert.equal(s.scripted.canceled.length, 0);
  s.o.restore();
  assert.deepEqual(s.o.events.slice(-2).map((x) => x.type), ["cancel_requested", "cancel_rejected"]);
  const recovered = await recoverState(s.o.events, { nowMs: s.clock.nowMs(), idempotencyTtlMs: 60_000, idempotencyMaxEntries: 10, orderRetentionMs: 60_000, maxTerminalOrders: 10 });
  assert.equal(recovered.orders.get(placed.orderId)?.order.status, OrderStatus.NEW, "working after a restart, as in memory");
});
