import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderType, Side, TimeInForce, type OrderSpec } from "../../src/domain/order.js";
import { effectiveState, reducesAbsolutePosition, type TradingStateSetting } from "../../src/domain/trading-state.js";
import { createTradingStateStore } from "../../src/use-cases/trading-state-store.js";
import { createTradingStateCheck } from "../../src/use-cases/check-trading-state.js";
import { parseApiKeys } from "../../src/config/env.js";
import { createMemoryAudit } from "./support.js";

const setting = (account: string, venue: string, state: TradingStateSetting["state"], at = 1): TradingStateSetting => ({ account, venue, state, reason: `r-${account}-${venue}`, setBy: "admin", setAtMs: at });
const order = (o: Partial<OrderSpec> = {}): OrderSpec => ({
  clientOrderId: "c", account: "a1", venue: "paper", symbol: "BTC-USD", side: Side.SELL, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "1", price: "", stopPrice: "", idempotencyKey: "", ...o,
});

test("effective state: the strictest setting that contains the scope", () => {
  const all = [setting("", "paper", "REDUCE_ONLY"), setting("a1", "", "HALTED"), setting("a2", "paper", "REDUCE_ONLY")];
  assert.equal(effectiveState(all, { account: "", venue: "" }).effective, "ACTIVE");
  assert.equal(effectiveState(all, { account: "", venue: "paper" }).effective, "REDUCE_ONLY");
  assert.equal(effectiveState(all, { account: "a1", venue: "paper" }).effective, "HALTED");
  assert.deepEqual(effectiveState(all, { account: "a1", venue: "paper" }).settings.map((s) => s.state), ["HALTED", "REDUCE_ONLY"]);
  assert.equal(effectiveState(all, { account: "a2", venue: "paper" }).effective, "REDUCE_ONLY");
  assert.equal(effectiveState(all, { account: "a2", venue: "other" }).effective, "ACTIVE");
});

test("reduces the absolute position: against it, not through zero, counting open orders on the same side", () => {
  assert.equal(reducesAbsolutePosition("5", Side.SELL, "5"), true);
  assert.equal(reducesAbsolutePosition("5", Side.SELL, "5.00000001"), false, "would flip");
  assert.equal(reducesAbsolutePosition("5", Side.BUY, "1"), false);
  assert.equal(reducesAbsolutePosition("-2", Side.BUY, "2"), true);
  assert.equal(reducesAbsolutePosition("0", Side.SELL, "1"), false, "flat: nothing to reduce");
  assert.equal(reducesAbsolutePosition("5", Side.SELL, "2", "3"), true);
  assert.equal(reducesAbsolutePosition("5", Side.SELL, "2", "3.1"), false);
});

test("the store records before it applies; HALTED and REDUCE_ONLY refuse with ErrorInfo metadata; ACTIVE resumes", async () => {
  const audit = createMemoryAudit();
  const store = createTradingStateStore({ audit });
  let position = "3";
  const check = createTradingStateCheck({ store, positionOf: () => position });
  assert.equal(check(order()).ok, true);
  const r = await store.set(setting("a1", "", "HALTED"), "rid");
  assert.ok(r.ok);
  assert.equal(audit.events.at(-1)?.type, "trading_state_set");
  const halted = check(order());
  assert.ok(!halted.ok && halted.error.kind === "failed_precondition");
  if (!halted.ok && halted.error.kind === "failed_precondition") {
    assert.equal(halted.error.reason, "TRADING_HALTED");
    assert.match(halted.error.message, /trading is halted for account a1 \(r-a1-\)/);
    assert.equal(halted.error.metadata?.["scope"], "account");
    assert.equal(halted.error.metadata?.["scope_account"], "a1");
  }
  assert.equal(check(order({ account: "a2" })).ok, true, "another account trades");
  await store.set(setting("a1", "", "REDUCE_ONLY"), "rid");
  assert.equal(check(order({ quantity: "3" })).ok, true, "sell 3 of a long 3");
  const more = check(order({ quantity: "3.01" }));
  assert.ok(!more.ok && more.error.kind === "failed_precondition" && more.error.reason === "REDUCE_ONLY");
  assert.equal(check(order({ side: Side.BUY })).ok, false);
  position = "-1";
  assert.equal(check(order({ side: Side.BUY })).ok, true);
  await store.set(setting("a1", "", "ACTIVE"), "rid");
  assert.equal(check(order({ side: Side.BUY, quantity: "100" })).ok, true);
  assert.deepEqual(store.list(), []);
});

test("an append that fails changes nothing and answers UNAVAILABLE", async () => {
  const audit = createMemoryAudit();
  audit.failWith(new Error("disk full"));
  const store = createTradingStateStore({ audit });
  const r = await store.set(setting("", "", "HALTED"), "rid");
  assert.ok(!r.ok && r.error.kind === "unavailable");
  assert.equal(store.applying("a1", "paper"), undefined);
});

test("API_KEYS roles: entries without a role stay traders; admin, admin:<accounts>, trader:<accounts>", () => {
  const h = (c: string) => c.repeat(64);
  const r = parseApiKeys(`${h("a")}=acct-1|acct-2; ${h("b")}=*; ${h("c")}=admin; ${h("d")}=admin:acct-9; ${h("e")}=trader:acct-3; ${h("f")}=admin:*`);
  assert.ok(r.ok, r.ok ? "" : r.error);
  const [a, b, c, d, e, f] = r.value;
  assert.deepEqual([a!.admin, [...(a!.accounts as Set<string>)]], [undefined, ["acct-1", "acct-2"]]);
  assert.deepEqual([b!.admin, b!.accounts], [undefined, "any"]);
  assert.deepEqual([c!.admin, [...(c!.accounts as Set<string>)]], [true, []]);
  assert.deepEqual([d!.admin, [...(d!.accounts as Set<string>)]], [true, ["acct-9"]]);
  assert.deepEqual([e!.admin, [...(e!.accounts as Set<string>)]], [undefined, ["acct-3"]]);
  assert.deepEqual([f!.admin, f!.accounts], [true, "any"]);
});
