import { test } from "node:test";
import assert from "node:assert/strict";
import { OrderStatus as S } from "../../src/domain/order.js";
import {
  ORDER_EVENTS,
  eventForVenueStatus,
  isTerminal,
  isWorking,
  statusName,
  transition,
  type OrderEvent,
} from "../../src/domain/order-state.js";

// The complete list of allowed transitions; everything else must be an error.
const ALLOWED: ReadonlyArray<[S, OrderEvent, S]> = [
  [S.PENDING_NEW, "pending", S.PENDING_NEW],
  [S.PENDING_NEW, "accepted", S.NEW],
  [S.PENDING_NEW, "rejected", S.REJECTED],
  [S.PENDING_NEW, "partial_fill", S.PARTIALLY_FILLED],
  [S.PENDING_NEW, "fill", S.FILLED],
  [S.PENDING_NEW, "canceled", S.CANCELED],
  [S.PENDING_NEW, "expired", S.EXPIRED],
  [S.NEW, "pending", S.NEW],
  [S.NEW, "accepted", S.NEW],
  [S.NEW, "partial_fill", S.PARTIALLY_FILLED],
  [S.NEW, "fill", S.FILLED],
  [S.NEW, "cancel_requested", S.PENDING_CANCEL],
  [S.NEW, "canceled", S.CANCELED],
  [S.NEW, "expired", S.EXPIRED],
  [S.NEW, "rejected", S.REJECTED],
  [S.PARTIALLY_FILLED, "partial_fill", S.PARTIALLY_FILLED],
  [S.PARTIALLY_FILLED, "fill", S.FILLED],
  [S.PARTIALLY_FILLED, "cancel_requested", S.PENDING_CANCEL],
  [S.PARTIALLY_FILLED, "canceled", S.CANCELED],
  [S.PARTIALLY_FILLED, "expired", S.EXPIRED],
  [S.PENDING_CANCEL, "cancel_requested", S.PENDING_CANCEL],
  [S.PENDING_CANCEL, "accepted", S.PENDING_CANCEL],
  [S.PENDING_CANCEL, "partial_fill", S.PENDING_CANCEL],
  [S.PENDING_CANCEL, "fill", S.FILLED],
  [S.PENDING_CANCEL, "canceled", S.CANCELED],
  [S.PENDING_CANCEL, "expired", S.EXPIRED],
  [S.PENDING_CANCEL, "cancel_rejected", S.NEW],
  [S.NEW, "replace_requested", S.PENDING_REPLACE],
  [S.PARTIALLY_FILLED, "replace_requested", S.PENDING_REPLACE],
  [S.PENDING_REPLACE, "accepted", S.PENDING_REPLACE],
  [S.PENDING_REPLACE, "partial_fill", S.PENDING_REPLACE],
  [S.PENDING_REPLACE, "fill", S.FILLED],
  [S.PENDING_REPLACE, "canceled", S.CANCELED],
  [S.PENDING_REPLACE, "expired", S.EXPIRED],
  [S.PENDING_REPLACE, "replaced", S.NEW],
  [S.PENDING_REPLACE, "replace_rejected", S.NEW],
  [S.FILLED, "fill", S.FILLED],
  [S.CANCELED, "canceled", S.CANCELED],
  [S.REJECTED, "rejected", S.REJECTED],
  [S.EXPIRED, "expired", S.EXPIRED],
];

const STATUSES = [S.UNSPECIFIED, S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELED, S.REJECTED, S.EXPIRED, S.PENDING_REPLACE];

// The test's own list of events, not the module's ORDER_EVENTS (which it checks): the compiler
// insists on one entry per member of the OrderEvent union, so a new event cannot be left out.
const EVENT_SET: Record<OrderEvent, true> = {
  accepted: true,
  rejected: true,
  partial_fill: true,
  fill: true,
  cancel_requested: true,
  canceled: true,
  cancel_rejected: true,
  replace_requested: true,
  replaced: true,
  replace_rejected: true,
  expired: true,
  pending: true,
};
const EVENTS = Object.keys(EVENT_SET) as OrderEvent[];

test("ORDER_EVENTS lists every event exactly once, and STATUSES every status", () => {
  assert.deepEqual([...ORDER_EVENTS].sort(), [...EVENTS].sort());
  assert.equal(new Set(ORDER_EVENTS).size, ORDER_EVENTS.length);
  const enumValues = Object.values(S).filter((x): x is S => typeof x === "number");
  assert.deepEqual([...STATUSES].sort(), enumValues.sort());
});

test("every (status, event) pair: allowed ones give the listed status, all others an internal error", () => {
  const allowed = new Map(ALLOWED.map(([s, e, n]) => [`${s}/${e}`, n]));
  let checked = 0;
  for (const s of STATUSES) {
    for (const e of EVENTS) {
      const r = transition(s, e);
      const want = allowed.get(`${s}/${e}`);
      if (want === undefined) {
        assert.equal(r.ok, false, `${statusName(s)} + ${e} must be impossible`);
        if (!r.ok) {
          assert.equal(r.error.kind, "internal");
          assert.match(r.error.message, new RegExp(`${statusName(s)} \\+ ${e}`));
        }
      } else {
        assert.deepEqual(r, { ok: true, value: want }, `${statusName(s)} + ${e}`);
      }
      checked++;
    }
  }
  assert.equal(checked, STATUSES.length * EVENTS.length);
});

test("a status number outside the enum is an impossible transition, not an exception", () => {
  const r = transition(99 as S, "fill");
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error.message, /UNKNOWN\(99\) \+ fill/);
});

test("terminal states accept only their own repetition", () => {
  for (const s of [S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED]) {
    assert.equal(isTerminal(s), true);
    const ok = EVENTS.filter((e) => transition(s, e).ok);
    assert.equal(ok.length, 1, `${statusName(s)} allows ${ok.join(",")}`);
  }
  for (const s of [S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL]) assert.equal(isTerminal(s), false);
});

test("working means NEW or PARTIALLY_FILLED", () => {
  assert.deepEqual(STATUSES.filter(isWorking), [S.NEW, S.PARTIALLY_FILLED]);
});

test("venue statuses map to events that lead back to the same status from PENDING_NEW or NEW", () => {
  for (const s of [S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED]) {
    const ev = eventForVenueStatus(s)!;
    const r = transition(S.PENDING_NEW, ev);
    assert.deepEqual(r, { ok: true, value: s });
  }
  // Every status a venue can report, and its event.
  const events: Array<[S, OrderEvent]> = [
    [S.PENDING_NEW, "pending"],
    [S.NEW, "accepted"],
    [S.PARTIALLY_FILLED, "partial_fill"],
    [S.FILLED, "fill"],
    [S.PENDING_CANCEL, "cancel_requested"],
    [S.CANCELED, "canceled"],
    [S.REJECTED, "rejected"],
    [S.EXPIRED, "expired"],
  ];
  for (const [s, e] of events) assert.equal(eventForVenueStatus(s), e, statusName(s));
  assert.equal(eventForVenueStatus(S.UNSPECIFIED), undefined);
  assert.equal(eventForVenueStatus(99 as S), undefined);
});

test("statusName names unknown numbers without throwing", () => {
  assert.equal(statusName(S.FILLED), "FILLED");
  assert.equal(statusName(42 as S), "UNKNOWN(42)");
});
