import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus, TimeInForce, type OrderSpec } from "../../src/domain/order.js";
import type { GatewayError } from "../../src/domain/errors.js";
import { ANONYMOUS } from "../../src/domain/principal.js";
import { createCancelOrder } from "../../src/use-cases/cancel-order.js";
import { createOrderManager } from "../../src/use-cases/order-manager.js";
import { createAuditGuard } from "../../src/use-cases/audit-guard.js";
import type { CallInfo } from "../../src/use-cases/place-order.js";
import { createCounterIds, createLocalFillSequence } from "../helpers/counter-ids.js";
import type { VenueAdapter, VenueCallContext } from "../../src/use-cases/venue-adapter.js";
import { waitFor } from "../helpers/wait-for.js";
import { createManualClock, createMemoryAudit, createScriptedVenue, limitOrder } from "./support.js";

const disk = new Error("ENOSPC: no space left on device");

/** A resting LIMIT order on the scripted venue, and CancelOrder over it. */
function setup(opts: { audit?: "buffered" | "fsync"; autoFlush?: boolean; venues?: "none"; onError?: false } = {}) {
  const clock = createManualClock();
  const audit = createMemoryAudit(opts.audit ?? "buffered", opts.autoFlush ?? true);
  const fills = createLocalFillSequence();
  const orders = createOrderManager({ clock, ids: createCounterIds("f"), orderIds: createCounterIds("o"), audit, fills });
  const scripted = createScriptedVenue();
  const seen: VenueCallContext[] = [];
  const adapter: VenueAdapter = {
    ...scripted,
    cancelOrder: (order, callOptions) => {
      seen.push(callOptions);
      return scripted.cancelOrder(order, callOptions);
    },
  };
  const failures: string[] = [];
  const auditGuard = createAuditGuard((m) => failures.push(m));
  const errors: string[] = [];
  const signal = new AbortController().signal;
  const cancelOrder = createCancelOrder({
    clock,
    orders,
    venues: new Map(opts.venues === "none" ? [] : [["scripted", adapter]]),
    signal,
    auditGuard,
    ...(opts.onError === false ? {} : { onError: (m: string) => errors.push(m) }),
  });
  const spec = { ...limitOrder({ venue: "scripted", timeInForce: TimeInForce.GTC }) } as OrderSpec;
  const pending = orders.createPending(spec, "vc-1", clock.nowMs());
  const placed = orders.applyUpdate(pending.orderId, { status: OrderStatus.NEW, venueOrderId: "V-1", fills: [] }, "req-0", clock.nowMs());
  assert.ok(placed.ok);
  void orders.commit(placed.value);
  audit.flush();
  audit.events.length = 0;
  const orderId = pending.orderId;
  const ref = { orderId, clientOrderId: "", account: "" };
  return { clock, audit, fills, orders, scripted, seen, failures, errors, signal, cancelOrder, orderId, ref };
}
const call: CallInfo = { requestId: "req-1", principal: ANONYMOUS, deadlineMs: 1_700_000_005_000 };

test("a working order is canceled through the venue with the gateway's signal and the call's deadline; both steps are audited", async () => {
  const s = setup();
  const r = await s.cancelOrder(s.ref, call);
  assert.ok(r.ok);
  assert.equal(r.value.status, OrderStatus.CANCELED);
  assert.equal(s.scripted.canceled.length, 1);
  assert.deepEqual(s.seen, [{ signal: s.signal, deadlineMs: call.deadlineMs }]);
  assert.deepEqual(
    s.audit.events.map((e) => [e.type, e.requestId]),
    [
      ["cancel_requested", "req-1"],
      ["order_canceled", "req-1"],
    ],
  );
});

test("an order on a venue that is no longer configured: UNAVAILABLE naming venue and order, nothing changes", async () => {
  const s = setup({ venues: "none" });
  const r = await s.cancelOrder(s.ref, call);
  assert.deepEqual(r, { ok: false, error: { kind: "unavailable", message: `venue scripted of order ${s.orderId} is not configured` } });
  assert.equal(s.orders.get(s.orderId)?.status, OrderStatus.NEW);
  assert.equal(s.audit.events.length, 0);
});

// Venue answers that leave the order working, and what the client is told.
const BACK_TO_WORKING: Array<[string, { kind: string; reason: string; retryAfterMs?: number }, GatewayError]> = [
  ["rate limited", { kind: "rate_limited", reason: "slow down", retryAfterMs: 250 }, { kind: "resource_exhausted", message: "venue rate limit: slow down", retryAfterMs: 250 }],
  ["unavailable", { kind: "unavailable", reason: "503" }, { kind: "unavailable", message: "venue unavailable: 503" }],
  ["auth", { kind: "auth", reason: "bad key" }, { kind: "unavailable", message: "venue unavailable: bad key" }],
  ["rejected", { kind: "rejected", reason: "too late" }, { kind: "failed_precondition", reason: "CANCEL_REJECTED", message: "the venue refused the cancel: too late" }],
  ["not found", { kind: "not_found", reason: "unknown order" }, { kind: "failed_precondition", reason: "CANCEL_REJECTED", message: "the venue refused the cancel: unknown order" }],
];

for (const [name, venueError, answer] of BACK_TO_WORKING) {
  test(`cancel ${name}: the order is working again and the client gets ${answer.kind}`, async () => {
    const s = setup();
    s.scripted.cancelNext.push({ ok: false, error: venueError as never });
    const r = await s.cancelOrder(s.ref, call);
    assert.deepEqual(r, { ok: false, error: answer });
    assert.equal(s.orders.get(s.orderId)?.status, OrderStatus.NEW);
    assert.deepEqual(
      s.audit.events.map((e) => e.type),
      ["cancel_requested", "cancel_rejected"],
    );
    const rejected = s.audit.events[1]!;
    assert.equal(rejected.error?.message, answer.message, "the audit records why");
  });
}

for (const kind of ["unknown_outcome", "protocol"] as const) {
  test(`cancel outcome unknown (${kind}): the order stays PENDING_CANCEL and is answered so; reconciliation settles it`, async () => {
    const s = setup();
    s.scripted.cancelNext.push({ ok: false, error: { kind, reason: "timeout" } });
    const r = await s.cancelOrder(s.ref, call);
    assert.ok(r.ok);
    assert.equal(r.value.status, OrderStatus.PENDING_CANCEL);
    assert.deepEqual(r.value, s.orders.get(s.orderId));
    assert.deepEqual(
      s.audit.events.map((e) => e.type),
      ["cancel_requested"],
    );
    assert.equal(s.fills.published.length, 0);
  });
}

test("cancel outcome unknown: the answer shows what happened meanwhile (a fill polled during the venue call)", async () => {
  const s = setup();
  const fill = { venueTradeId: "t-1", quantity: "0.5", price: "100.25", fee: "0", feeCurrency: "USD", timeMs: 1 };
  s.scripted.cancelOrder = async () => {
    await s.orders.applyVenueUpdate(s.orderId, { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V-1", filledQuantity: "0.5", fills: [fill] }, "poll");
    return { ok: false, error: { kind: "unknown_outcome", reason: "timeout" } };
  };
  const r = await s.cancelOrder(s.ref, call);
  assert.ok(r.ok);
  assert.equal(r.value.status, OrderStatus.PENDING_CANCEL);
  assert.equal(r.value.filledQuantity, "0.5");
  assert.deepEqual(s.fills.published.map((f) => f.quantity), ["0.5"]);
});

test("an adapter that throws on cancel: unknown outcome (PENDING_CANCEL), reported; without onError it is still answered", async () => {
  for (const reporting of [true, false]) {
    const s = setup(reporting ? {} : { onError: false });
    s.scripted.cancelOrder = async () => {
      throw new Error("adapter bug");
    };
    const r = await s.cancelOrder(s.ref, call);
    assert.ok(r.ok);
    assert.equal(r.value.status, OrderStatus.PENDING_CANCEL);
    assert.deepEqual(s.errors, reporting ? [`venue scripted threw on cancelOrder for order ${s.orderId}`] : []);
  }
});

test("a cancel answer the state machine refuses: reported, the order stays PENDING_CANCEL, nothing more is audited", async () => {
  const s = setup();
  s.scripted.cancelNext.push({ ok: true, value: { status: OrderStatus.REJECTED, venueOrderId: "V-1", fills: [] } });
  const r = await s.cancelOrder(s.ref, call);
  assert.ok(r.ok);
  assert.equal(r.value.status, OrderStatus.PENDING_CANCEL);
  assert.equal(s.errors.length, 1);
  assert.match(s.errors[0]!, new RegExp(`^venue scripted cancel answer for order ${s.orderId} not applied: impossible order transition: PENDING_CANCEL \\+ rejected$`));
  assert.deepEqual(
    s.audit.events.map((e) => e.type),
    ["cancel_requested"],
  );
  assert.equal(s.fills.published.length, 0);
});

test("fsync audit: the cancel is not sent before cancel_requested is durable, and not answered before the outcome is", async () => {
  const s = setup({ audit: "fsync", autoFlush: false });
  let answered = false;
  const p = s.cancelOrder(s.ref, call).then((r) => {
    answered = true;
    return r;
  });
  await waitFor(() => s.audit.pending === 1);
  assert.equal(s.scripted.canceled.length, 0, "not sent while cancel_requested is not durable");
  s.audit.flush();
  await waitFor(() => s.audit.pending === 1 && s.scripted.canceled.length === 1);
  assert.equal(answered, false, "not answered while the outcome is not durable");
  s.audit.flush();
  const r = await p;
  assert.ok(r.ok && r.value.status === OrderStatus.CANCELED);
});

test("the cancel request cannot be recorded: not sent, working again, the guard names the order; later cancels refused", async () => {
  const s = setup();
  s.audit.failWith(disk);
  const r = await s.cancelOrder(s.ref, call);
  assert.ok(!r.ok);
  assert.match(r.error.message, /^audit log unavailable: the gateway accepts no new orders or cancels/);
  assert.equal(s.scripted.canceled.length, 0);
  assert.equal(s.orders.get(s.orderId)?.status, OrderStatus.NEW);
  assert.deepEqual(s.failures, [`audit log unavailable: cancel of order ${s.orderId} not recorded before its venue call; it was not sent`]);
  s.audit.failWith(undefined);
  const again = await s.cancelOrder(s.ref, call);
  assert.ok(!again.ok && again.error.kind === "unavailable");
  assert.equal(s.scripted.canceled.length, 0);
});

test("the cancel's outcome cannot be recorded: UNAVAILABLE naming the order and what to do; the guard names the order", async () => {
  const s = setup();
  s.audit.failWith(disk, 1);
  const r = await s.cancelOrder(s.ref, call);
  assert.deepEqual(r, {
    ok: false,
    error: {
      kind: "unavailable",
      message: `audit log unavailable: the outcome of the cancel for order ${s.orderId} was not recorded; query the order with GetOrderStatus before acting on it`,
    },
  });
  assert.equal(s.scripted.canceled.length, 1);
  assert.deepEqual(s.failures, [`audit log unavailable: cancel events of order ${s.orderId} not recorded`]);
});

test("an order that cannot be canceled is refused before the venue hears of it", async () => {
  const s = setup();
  assert.ok((await s.cancelOrder(s.ref, call)).ok);
  const again = await s.cancelOrder(s.ref, call);
  assert.ok(!again.ok && again.error.kind === "failed_precondition");
  assert.equal(s.scripted.canceled.length, 1);
  const missing = await s.cancelOrder({ orderId: "no-such", clientOrderId: "", account: "" }, call);
  assert.ok(!missing.ok && missing.error.kind === "not_found");
});

