/**
 * Open-order exposure (src/use-cases/open-order-exposure.ts): what the open orders of each
 * (account, venue, symbol) could still fill, kept from order changes, in both arithmetics.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus, Side, type Order } from "../../src/domain/order.js";
import { sampleOrder } from "../adapters/audit/fixtures.js";
import { decimalJsMath, type Wide } from "../../src/domain/decimal-math.js";
import { scaledDecimalMath } from "../../src/domain/scaled-decimal-math.js";
import { createOpenOrderExposure } from "../../src/use-cases/open-order-exposure.js";

/** An order of acct-1 on paper BTC-USD, just accepted: 1.5 at 100.25 to buy. */
function order(n: number, over: Partial<Order> = {}): Order {
  return sampleOrder({ orderId: `o-${n}`, clientOrderId: `c-${n}`, quantity: "1.5", price: "100.25", status: OrderStatus.PENDING_NEW, filledQuantity: "0", averageFillPrice: "", ...over });
}

for (const math of [scaledDecimalMath, decimalJsMath]) {
  test(`open quantity and notional per side follow orders from PENDING_NEW to terminal; a closed key is neither listed nor counted (DECIMAL_MATH=${math.name})`, () => {
    const touched: string[] = [];
    const x = createOpenOrderExposure((a, v, s) => touched.push(`${a}/${v}/${s}`), math);
    const f = (n: ReturnType<typeof x.open>): string => math.format(n);
    const fw = (n: Wide): string => math.formatWide(n);
    const a = order(1);
    const b = order(2, { side: Side.SELL, quantity: "2", price: "101" });
    x.orderChanged(undefined, a);
    x.orderChanged(undefined, b);
    assert.equal(f(x.open("acct-1", "paper", "BTC-USD", Side.BUY)), "1.5");
    assert.equal(f(x.open("acct-1", "paper", "BTC-USD", Side.SELL)), "2");
    const sides = x.sides("acct-1", "paper", "BTC-USD")!;
    assert.equal(fw(sides.buyNotional), "150.375");
    assert.equal(fw(sides.sellNotional), "202");
    assert.equal(x.size, 1);
    // A partial fill moves the open quantity; NEW -> NEW with nothing filled moves nothing.
    const aNew = { ...a, status: OrderStatus.NEW };
    x.orderChanged(a, aNew);
    const aPart = { ...aNew, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: "0.5" };
    x.orderChanged(aNew, aPart);
    assert.equal(f(x.open("acct-1", "paper", "BTC-USD", Side.BUY)), "1");
    assert.equal(fw(x.sides("acct-1", "paper", "BTC-USD")!.buyNotional), "100.25");
    // Both end: the key is no longer open, listed or counted, and its figures read zero.
    x.orderChanged(aPart, { ...aPart, status: OrderStatus.FILLED, filledQuantity: "1.5" });
    x.orderChanged(b, { ...b, status: OrderStatus.CANCELED });
    assert.equal(x.sides("acct-1", "paper", "BTC-USD"), undefined);
    assert.equal(x.size, 0);
    assert.equal(f(x.open("acct-1", "paper", "BTC-USD", Side.BUY)), "0");
    const listed: string[] = [];
    x.forEachOfAccount("acct-1", (v, s) => listed.push(`${v}/${s}`));
    assert.deepEqual(listed, []);
    // The same key opens again from zero (no notional left over from before).
    const c = order(3, { quantity: "3", price: "99" });
    x.orderChanged(undefined, c);
    assert.equal(x.size, 1);
    assert.equal(fw(x.sides("acct-1", "paper", "BTC-USD")!.buyNotional), "297");
    assert.equal(fw(x.sides("acct-1", "paper", "BTC-USD")!.sellNotional), "0");
    const again: string[] = [];
    x.forEachOfAccount("acct-1", (v, s) => again.push(`${v}/${s}`));
    assert.deepEqual(again, ["paper/BTC-USD"]);
    assert.equal(touched.length, 6, "every change that moved an open quantity, and no other");
  });
}

test("keys whose orders all ended are swept past 10,000 of them, and the open ones stay", () => {
  const x = createOpenOrderExposure();
  const keep = order(0, { symbol: "KEEP-USD" });
  x.orderChanged(undefined, keep);
  for (let i = 1; i <= 10_050; i++) {
    const o = order(i, { account: `a-${i}` });
    x.orderChanged(undefined, o);
    x.orderChanged(o, { ...o, status: OrderStatus.CANCELED });
  }
  assert.equal(x.size, 1);
  assert.equal(scaledDecimalMath.format(x.open("acct-1", "paper", "KEEP-USD", Side.BUY)), "1.5");
  const listed: string[] = [];
  x.forEachOfAccount("acct-1", (v, s) => listed.push(s));
  assert.deepEqual(listed, ["KEEP-USD"]);
});
