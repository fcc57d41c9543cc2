import { test } from "node:test";
import assert from "node:assert/strict";
import { applyFill, applyVenueUpdate, fillOf } from "../../src/domain/apply-venue-update.js";
import { OrderStatus, type Order } from "../../src/domain/order.js";
import { everyField } from "../helpers/every-field-order.js";

const open: Order = Object.freeze({ ...everyField, status: OrderStatus.NEW, filledQuantity: "0", averageFillPrice: "", venueFeeTotal: undefined as never });
const { venueFeeTotal: _f, ...noFee } = open;
const working = Object.freeze(noFee) as Order;
const x = (quantity: string, price: string) => ({ quantity, price });

test("applyFill: totals and a volume-weighted average in exact decimals", () => {
  let t = applyFill({ filledQuantity: "0", averageFillPrice: "", notional: undefined }, x("0.4", "100.5"));
  assert.deepEqual([t.filledQuantity, t.averageFillPrice], ["0.4", "100.5"]);
  t = applyFill(t, x("0.35", "100.75"));
  // (0.4 x 100.5 + 0.35 x 100.75) / 0.75 = 75.4625 / 0.75
  assert.deepEqual([t.filledQuantity, t.averageFillPrice], ["0.75", "100.616666666666666667"]);
  t = applyFill(t, x("0.25", "100"));
  assert.deepEqual([t.filledQuantity, t.averageFillPrice], ["1", "100.4625"], "the notional is kept exact, so no drift from the rounded average");
  const unknown = applyFill({ filledQuantity: "2", averageFillPrice: "", notional: undefined }, x("1", "5"));
  assert.deepEqual([unknown.filledQuantity, unknown.averageFillPrice], ["3", ""], "an unknown average stays unknown");
});

test("applyVenueUpdate is pure: the order it is given is not touched, and an update that changes nothing returns it", () => {
  const same = applyVenueUpdate(working, { status: OrderStatus.NEW, venueOrderId: "" }, [], 5);
  assert.ok(same.ok && !same.value.changed && same.value.order === working);
  const r = applyVenueUpdate(working, { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V-2", cumulativeFee: "0.5" }, [x("0.5", "10"), x("0.5", "20")], 9);
  assert.ok(r.ok && r.value.changed);
  assert.deepEqual(
    { ...r.value.order },
    { ...working, status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V-2", filledQuantity: "1", averageFillPrice: "15", venueFeeTotal: "0.5", updatedAtMs: 9 },
  );
  assert.equal(working.filledQuantity, "0");
});

test("applyVenueUpdate: the venue's cumulative figures win, a stale NEW keeps PARTIALLY_FILLED, the fee total never goes down, refused transitions are errors", () => {
  const part = { ...working, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "1", averageFillPrice: "10", venueFeeTotal: "0.3" };
  const cum = applyVenueUpdate(part, { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "", filledQuantity: "1.5", averageFillPrice: "11" }, [], 1);
  assert.ok(cum.ok);
  assert.deepEqual([cum.value.order.filledQuantity, cum.value.order.averageFillPrice, cum.value.notional], ["1.5", "11", undefined]);
  const stale = applyVenueUpdate(working, { status: OrderStatus.NEW, venueOrderId: "" }, [x("1", "10")], 2);
  assert.ok(stale.ok);
  assert.equal(stale.value.order.status, OrderStatus.PARTIALLY_FILLED, "NEW with a fill is PARTIALLY_FILLED, through the table");
  const lower = applyVenueUpdate(part, { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "", cumulativeFee: "0.1" }, [x("1", "10")], 2);
  assert.ok(lower.ok);
  assert.equal(lower.value.order.venueFeeTotal, "0.3");
  const noFills = applyVenueUpdate(part, { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V-9", cumulativeFee: "0.9" }, [], 2);
  assert.ok(noFills.ok);
  assert.equal(noFills.value.order.venueFeeTotal, "0.3", "the total moves only with new fills");
  const done = { ...part, status: OrderStatus.FILLED };
  const refused = applyVenueUpdate(done, { status: OrderStatus.NEW, venueOrderId: "" }, [], 3);
  assert.ok(!refused.ok);
  const unknown = applyVenueUpdate(part, { status: OrderStatus.UNSPECIFIED, venueOrderId: "" }, [], 3);
  assert.ok(!unknown.ok && unknown.error.kind === "internal");
});

test("fillOf: a fill carries its order's identity and the execution's figures", () => {
  const f = fillOf(everyField, { quantity: "1", price: "2", fee: "0.1", feeCurrency: "USD", timeMs: 7, venueTradeId: "T" }, 5n, "fill-5");
  assert.deepEqual(f, { sequence: 5n, fillId: "fill-5", orderId: "o-1", clientOrderId: "c-1", account: "acct-1", venue: "kraken", symbol: "BTC-USD", side: everyField.side, quantity: "1", price: "2", fee: "0.1", feeCurrency: "USD", timeMs: 7, venueTradeId: "T" });
});
