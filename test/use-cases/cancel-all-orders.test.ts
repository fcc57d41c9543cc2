import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus, OrderType, Side, TimeInForce, type Order, type OrderSpec } from "../../src/domain/order.js";
import { ANONYMOUS } from "../../src/domain/principal.js";
import { err, ok, type Result } from "../../src/domain/result.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createAuditGuard } from "../../src/use-cases/audit-guard.js";
import { createCancelAllOrders, type CancelAllOrdersDeps, type CancelResult } from "../../src/use-cases/cancel-all-orders.js";
import { createOrderManager } from "../../src/use-cases/order-manager.js";
import type { CallInfo } from "../../src/use-cases/place-order.js";
import type { MassCancelScope, VenueAdapter, VenueError, VenueOrderUpdate } from "../../src/use-cases/venue-adapter.js";
import { createCounterIds, createLocalFillSequence } from "../helpers/counter-ids.js";
import { createManualClock, createMemoryAudit, limitOrder } from "./support.js";

const call: CallInfo = { requestId: "req-1", principal: ANONYMOUS, deadlineMs: 1_700_000_060_000 };

/** A venue whose cancel and query answers the test scripts per venue client order id; default: canceled. */
function scriptedVenue(name: string) {
  const cancels: Order[] = [];
  const cancelAnswers = new Map<string, Array<Result<VenueOrderUpdate, VenueError>>>();
  const queryAnswers = new Map<string, Array<Result<VenueOrderUpdate, VenueError>>>();
  let inFlight = 0;
  let maxInFlight = 0;
  let queries = 0;
  const gates: Array<() => void> = [];
  const venue: VenueAdapter & {
    cancels: Order[];
    cancelAnswers: typeof cancelAnswers;
    queryAnswers: typeof queryAnswers;
    hold: boolean;
    releaseAll(): void;
    readonly maxInFlight: number;
    readonly queries: number;
    onCancel?: (o: Order) => void;
  } = {
    name,
    kind: "scripted",
    cancels,
    cancelAnswers,
    queryAnswers,
    hold: false,
    releaseAll() {
      for (const g of gates.splice(0)) g();
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get queries() {
      return queries;
    },
    checkSymbol: () => undefined,
    checkOrderShape: () => undefined,
    placeOrder: async () => err({ kind: "rejected", reason: "not in this test" }),
    async cancelOrder(order) {
      cancels.push(order);
      venue.onCancel?.(order);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (venue.hold) await new Promise<void>((r) => gates.push(r));
      inFlight--;
      return cancelAnswers.get(order.venueClientOrderId)?.shift() ?? ok({ status: OrderStatus.CANCELED, venueOrderId: order.venueOrderId, fills: [] });
    },
    async queryOrder(order) {
      queries++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (venue.hold) await new Promise<void>((r) => gates.push(r));
      inFlight--;
      return queryAnswers.get(order.venueClientOrderId)?.shift() ?? err({ kind: "unavailable", reason: "query not scripted" });
    },
    async close() {},
  };
  return venue;
}

function setup(opts: { venues?: VenueAdapter[]; deps?: Partial<CancelAllOrdersDeps>; principal?: CallInfo["principal"] } = {}) {
  const clock = createManualClock();
  const audit = createMemoryAudit("buffered");
  const fills = createLocalFillSequence();
  const orders = createOrderManager({ clock, ids: createCounterIds("f"), orderIds: createCounterIds("o"), audit, fills });
  const paper = createPaperVenue({ clock, ids: createCounterIds("p") });
  const venues = new Map<string, VenueAdapter>([["paper", paper]]);
  for (const v of opts.venues ?? []) venues.set(v.name, v);
  const failures: string[] = [];
  const auditGuard = createAuditGuard((m) => failures.push(m));
  const results: string[] = [];
  const cancelAll = createCancelAllOrders({
    clock,
    orders,
    venues,
    signal: new AbortController().signal,
    auditGuard,
    sleep: async (ms) => clock.advance(ms),
    onResult: (venue, outcome, via) => results.push(`${venue}/${outcome}/${via}`),
    ...opts.deps,
  });
  let n = 0;
  /** A resting GTC limit order, acknowledged (NEW) unless `status` says otherwise. */
  async function working(over: Partial<OrderSpec> & { status?: OrderStatus } = {}): Promise<Order> {
    n++;
    const spec = { ...limitOrder({ venue: "paper", timeInForce: TimeInForce.GTC, price: "100", clientOrderId: `c-${n}` }), ...over } as OrderSpec;
    const pending = orders.createPending(spec, `vc-${n}`, clock.nowMs());
    clock.advance(1);
    if (over.status === OrderStatus.PENDING_NEW) return pending;
    // Rests on the paper venue (a BUY limit below the reference price) or is acknowledged by a scripted one.
    const adapter = venues.get(spec.venue)!;
    const placed = spec.venue === "paper" ? await adapter.placeOrder(pending, { signal: new AbortController().signal }) : ok({ status: OrderStatus.NEW, venueOrderId: `V-${n}`, fills: [] });
    assert.ok(placed.ok);
    const a = orders.applyUpdate(pending.orderId, placed.value, "req-0", clock.nowMs());
    assert.ok(a.ok, a.ok ? "" : a.error.message);
    void orders.commit(a.value);
    return a.value.order;
  }
  return { clock, audit, orders, paper, venues, failures, results, cancelAll, working, auditGuard };
}

const outcomes = (rs: readonly CancelResult[]) => rs.map((r) => `${r.order.clientOrderId}:${r.outcome}`);

test("account is required, the venue must be configured, and the caller must be allowed the account", async () => {
  const s = setup();
  const missing = await s.cancelAll({ account: "" }, call);
  assert.ok(!missing.ok && missing.error.kind === "invalid_argument");
  assert.deepEqual(missing.error.kind === "invalid_argument" && missing.error.violations.map((v) => v.field), ["account"]);
  const venue = await s.cancelAll({ account: "acct-1", venue: "nowhere" }, call);
  assert.ok(!venue.ok && venue.error.kind === "invalid_argument");
  assert.deepEqual(venue.error.kind === "invalid_argument" && venue.error.violations.map((v) => v.field), ["venue"]);
  const denied = await s.cancelAll({ account: "acct-2" }, { ...call, principal: { keyId: "k", accounts: new Set(["acct-1"]) } });
  assert.ok(!denied.ok && denied.error.kind === "permission_denied");
});

test("only the account's open orders in the scope are canceled (venue, symbol, side), oldest first, through the paper venue's mass cancel", async () => {
  const other = scriptedVenue("other");
  const s = setup({ venues: [other] });
  const a = await s.working({ account: "acct-1", symbol: "BTC-USD", side: Side.BUY });
  const b = await s.working({ account: "acct-1", symbol: "ETH-USD", side: Side.BUY, price: "10" });
  const c = await s.working({ account: "acct-1", symbol: "BTC-USD", side: Side.SELL, price: "99999" });
  const d = await s.working({ account: "acct-2", symbol: "BTC-USD", side: Side.BUY });
  const e = await s.working({ account: "acct-1", venue: "other", symbol: "BTC-USD", side: Side.BUY });
  const r = await s.cancelAll({ account: "acct-1", venue: "paper", symbol: "BTC-USD", side: Side.BUY }, call);
  assert.ok(r.ok);
  assert.deepEqual(outcomes(r.value), [`${a.clientOrderId}:canceled`]);
  assert.equal(s.orders.get(a.orderId)?.status, OrderStatus.CANCELED);
  for (const untouched of [b, c, d, e]) assert.equal(s.orders.get(untouched.orderId)?.status, OrderStatus.NEW);
  assert.deepEqual(s.results, ["paper/canceled/native"]);

  // No filter but the account: both venues, every open order of acct-1, oldest first.
  const all = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(all.ok);
  assert.deepEqual(outcomes(all.value), [b, c, e].map((o) => `${o.clientOrderId}:canceled`));
  assert.equal(s.orders.get(d.orderId)?.status, OrderStatus.NEW);
  assert.deepEqual(other.cancels.map((o) => o.orderId), [e.orderId]);
});

test("every cancel is on record (cancel_requested) before the first venue call; the reason travels with the events", async () => {
  const v = scriptedVenue("v");
  const s = setup({ venues: [v] });
  const a = await s.working({ account: "acct-1", venue: "v" });
  const b = await s.working({ account: "acct-1", venue: "v" });
  const seenAtFirstSend: string[] = [];
  v.onCancel = () => {
    if (seenAtFirstSend.length === 0) {
      for (const ev of s.audit.events) if (ev.type === "cancel_requested") seenAtFirstSend.push(`${ev.order!.orderId}@${ev.requestId}:${ev.reason}`);
    }
  };
  const r = await s.cancelAll({ account: "acct-1" }, call, "kill-switch");
  assert.ok(r.ok);
  assert.deepEqual(seenAtFirstSend.sort(), [`${a.orderId}@req-1:kill-switch`, `${b.orderId}@req-1:kill-switch`].sort());
});

test("the audit log cannot record the cancels: nothing is sent, the orders work on, UNAVAILABLE", async () => {
  const v = scriptedVenue("v");
  const s = setup({ venues: [v] });
  const a = await s.working({ account: "acct-1", venue: "v" });
  s.audit.failWith(new Error("ENOSPC"));
  const r = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(!r.ok && r.error.kind === "unavailable", JSON.stringify(r));
  assert.equal(v.cancels.length, 0);
  assert.equal(s.orders.get(a.orderId)?.status, OrderStatus.NEW);
  const again = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(!again.ok && again.error.kind === "unavailable");
});

test("a fill racing the cancel ends FILLED (ALREADY_TERMINAL), never CANCELED, and the fill is recorded", async () => {
  const v = scriptedVenue("v");
  const s = setup({ venues: [v] });
  const a = await s.working({ account: "acct-1", venue: "v", quantity: "2" });
  v.cancelAnswers.set(a.venueClientOrderId, [
    ok({ status: OrderStatus.FILLED, venueOrderId: a.venueOrderId, filledQuantity: "2", fills: [{ venueTradeId: "T1", quantity: "2", price: "100", fee: "0", feeCurrency: "USD", timeMs: 1 }] }),
  ]);
  const r = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(r.ok);
  assert.deepEqual(outcomes(r.value), [`${a.clientOrderId}:already_terminal`]);
  assert.equal(r.value[0]!.order.status, OrderStatus.FILLED);
  assert.ok(s.audit.events.some((e) => e.type === "fill" && e.order?.orderId === a.orderId));
});

test("idempotent: a lost answer is PENDING; the next call re-sends, finds the order canceled (ALREADY_TERMINAL) and a third call has nothing to do", async () => {
  const v = scriptedVenue("v");
  const s = setup({ venues: [v] });
  const a = await s.working({ account: "acct-1", venue: "v" });
  const b = await s.working({ account: "acct-1", venue: "v" });
  v.cancelAnswers.set(a.venueClientOrderId, [err({ kind: "unknown_outcome", reason: "HTTP 500" })]);
  const first = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(first.ok);
  assert.deepEqual(outcomes(first.value), [`${a.clientOrderId}:pending`, `${b.clientOrderId}:canceled`]);
  assert.equal(s.orders.get(a.orderId)?.status, OrderStatus.PENDING_CANCEL);

  // The venue did cancel it: a second cancel is refused as unknown, the query says CANCELED.
  v.cancelAnswers.set(a.venueClientOrderId, [err({ kind: "not_found", reason: "unknown order" })]);
  v.queryAnswers.set(a.venueClientOrderId, [ok({ status: OrderStatus.CANCELED, venueOrderId: a.venueOrderId, fills: [] })]);
  const before = s.audit.events.length;
  const second = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(second.ok);
  assert.deepEqual(outcomes(second.value), [`${a.clientOrderId}:already_terminal`]);
  assert.equal(s.orders.get(a.orderId)?.status, OrderStatus.CANCELED);
  // The re-sent cancel was recorded too, through the table's PENDING_CANCEL self-loop.
  assert.ok(s.audit.events.slice(before).some((e) => e.type === "cancel_requested" && e.order?.orderId === a.orderId));

  const third = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(third.ok);
  assert.deepEqual(third.value, []);
});

test("a PENDING_NEW order is waited for: acknowledged meanwhile it is canceled; never acknowledged it is FAILED ORDER_NOT_CANCELABLE", async () => {
  const v = scriptedVenue("v");
  let late: Order | undefined;
  const s = setup({
    venues: [v],
    deps: {
      pendingWaitMs: 100,
      // The first wait lets the venue acknowledge `late` (its PlaceOrder call applies the answer).
      sleep: async (ms) => {
        s.clock.advance(ms);
        if (late !== undefined && s.orders.get(late.orderId)?.status === OrderStatus.PENDING_NEW) {
          const a = s.orders.applyUpdate(late.orderId, { status: OrderStatus.NEW, venueOrderId: "V-late", fills: [] }, "req-0", s.clock.nowMs());
          assert.ok(a.ok);
        }
      },
    },
  });
  late = await s.working({ account: "acct-1", venue: "v", status: OrderStatus.PENDING_NEW });
  const r = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(r.ok);
  assert.deepEqual(outcomes(r.value), [`${late.clientOrderId}:canceled`]);

  const stuck = await s.working({ account: "acct-1", venue: "v", status: OrderStatus.PENDING_NEW });
  late = undefined;
  const r2 = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(r2.ok);
  assert.deepEqual(outcomes(r2.value), [`${stuck.clientOrderId}:failed`]);
  const e = r2.value[0]!.error;
  assert.ok(e?.kind === "failed_precondition" && e.reason === "ORDER_NOT_CANCELABLE", JSON.stringify(e));
  assert.equal(s.orders.get(stuck.orderId)?.status, OrderStatus.PENDING_NEW);
});

test("faults: 429 is FAILED RESOURCE_EXHAUSTED with the order working again; a refused cancel of a working order is FAILED CANCEL_REJECTED", async () => {
  const v = scriptedVenue("v");
  const s = setup({ venues: [v] });
  const a = await s.working({ account: "acct-1", venue: "v" });
  const b = await s.working({ account: "acct-1", venue: "v" });
  v.cancelAnswers.set(a.venueClientOrderId, [err({ kind: "rate_limited", reason: "HTTP 429", retryAfterMs: 1000 })]);
  v.cancelAnswers.set(b.venueClientOrderId, [err({ kind: "rejected", reason: "market closed" })]);
  v.queryAnswers.set(b.venueClientOrderId, [ok({ status: OrderStatus.NEW, venueOrderId: b.venueOrderId, fills: [] })]);
  const r = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(r.ok);
  assert.deepEqual(outcomes(r.value), [`${a.clientOrderId}:failed`, `${b.clientOrderId}:failed`]);
  assert.equal(r.value[0]!.error?.kind, "resource_exhausted");
  assert.ok(r.value[1]!.error?.kind === "failed_precondition" && r.value[1]!.error.reason === "CANCEL_REJECTED");
  assert.equal(s.orders.get(a.orderId)?.status, OrderStatus.NEW);
  assert.equal(s.orders.get(b.orderId)?.status, OrderStatus.NEW);
});

test("one by one within the outbound limit: at most `concurrency` cancels in flight, and a limiter refusal is waited out, not reported", async () => {
  const v = scriptedVenue("v");
  const s = setup({ venues: [v], deps: { concurrency: 2 } });
  const placed: Order[] = [];
  for (let i = 0; i < 5; i++) placed.push(await s.working({ account: "acct-1", venue: "v" }));
  v.cancelAnswers.set(placed[0]!.venueClientOrderId, [err({ kind: "unavailable", reason: "outbound rate limit of venue v reached", retryAfterMs: 300 })]);
  v.hold = true;
  let done = false;
  const pending = s.cancelAll({ account: "acct-1" }, call).finally(() => (done = true));
  while (!done) {
    await new Promise((r) => setImmediate(r));
    v.releaseAll();
  }
  const r = await pending;
  assert.ok(r.ok);
  assert.deepEqual(r.value.map((x) => x.outcome), ["canceled", "canceled", "canceled", "canceled", "canceled"]);
  assert.ok(v.maxInFlight <= 2, `max in flight ${v.maxInFlight}`);
  // Order 0 was sent twice: refused by the limiter (nothing left), then sent once the wait was over.
  assert.equal(v.cancels.filter((o) => o.orderId === placed[0]!.orderId).length, 2);
  assert.deepEqual(new Set(s.results), new Set(["v/canceled/single"]));
});

test("a native mass cancel's answer is confirmed per order: accepted-but-pending orders are queried, missing ones settled by a query", async () => {
  const v = scriptedVenue("v");
  const native: MassCancelScope[] = [];
  const mass: VenueAdapter = {
    ...v,
    cancelAll(scope) {
      native.push(scope);
      const [x, y] = scope.orders;
      return Promise.resolve(new Map([[x!.orderId, ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: x!.venueOrderId, fills: [] })]]).set(y!.orderId, ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: y!.venueOrderId, fills: [] })));
    },
  };
  const s = setup({ venues: [mass] });
  const a = await s.working({ account: "acct-1", venue: "v" });
  const b = await s.working({ account: "acct-1", venue: "v", quantity: "1" });
  const c = await s.working({ account: "acct-2", venue: "v" });
  v.queryAnswers.set(a.venueClientOrderId, [ok({ status: OrderStatus.CANCELED, venueOrderId: a.venueOrderId, fills: [] })]);
  v.queryAnswers.set(b.venueClientOrderId, [
    ok({ status: OrderStatus.FILLED, venueOrderId: b.venueOrderId, filledQuantity: "1", fills: [{ venueTradeId: "T9", quantity: "1", price: "100", fee: "0", feeCurrency: "USD", timeMs: 1 }] }),
  ]);
  const r = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(r.ok);
  assert.deepEqual(outcomes(r.value), [`${a.clientOrderId}:canceled`, `${b.clientOrderId}:already_terminal`]);
  assert.equal(s.orders.get(b.orderId)?.status, OrderStatus.FILLED);
  assert.equal(v.cancels.length, 0);
  // The adapter was told about the other account's open order (so a venue-wide call would not fit).
  assert.deepEqual(native[0]!.others.map((o) => o.orderId), [c.orderId]);
  assert.deepEqual(s.results, ["v/canceled/native", "v/already_terminal/native"]);
});

test("an order of a type the paper venue rests (STOP) is canceled too; the paper venue's mass cancel reports a finished order as refused, settled ALREADY_TERMINAL", async () => {
  const s = setup();
  const stop = await s.working({ account: "acct-1", type: OrderType.STOP, price: "", stopPrice: "50" });
  // The paper venue finishes it behind the gateway's back (as if it executed).
  await s.paper.cancelOrder(stop, { signal: new AbortController().signal });
  const r = await s.cancelAll({ account: "acct-1" }, call);
  assert.ok(r.ok);
  assert.deepEqual(outcomes(r.value), [`${stop.clientOrderId}:already_terminal`]);
  assert.equal(s.orders.get(stop.orderId)?.status, OrderStatus.CANCELED);
});

test("the confirmation queries after a native mass cancel are bounded like single cancels, and wait out the outbound limit", async () => {
  const v = scriptedVenue("v");
  const mass: VenueAdapter = {
    ...v,
    queryOrder: (o, ctx) => v.queryOrder(o, ctx),
    cancelAll: (scope) => Promise.resolve(new Map(scope.orders.map((o) => [o.orderId, ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: o.venueOrderId, fills: [] })]))),
  };
  const s = setup({ venues: [mass], deps: { concurrency: 2 } });
  const placed: Order[] = [];
  for (let i = 0; i < 5; i++) placed.push(await s.working({ account: "acct-1", venue: "v" }));
  for (const o of placed) v.queryAnswers.set(o.venueClientOrderId, [ok({ status: OrderStatus.CANCELED, venueOrderId: o.venueOrderId, fills: [] })]);
  v.queryAnswers.get(placed[0]!.venueClientOrderId)!.unshift(err({ kind: "unavailable", reason: "outbound rate limit of venue v reached", retryAfterMs: 300 }));
  v.hold = true;
  let done = false;
  const pending = s.cancelAll({ account: "acct-1" }, call).finally(() => (done = true));
  while (!done) {
    await new Promise((r) => setImmediate(r));
    v.releaseAll();
  }
  const r = await pending;
  assert.ok(r.ok);
  assert.deepEqual(r.value.map((x) => x.outcome), ["canceled", "canceled", "canceled", "canceled", "canceled"]);
  assert.ok(v.maxInFlight <= 2, `max in flight ${v.maxInFlight}`);
  assert.equal(v.queries, 6);
});
