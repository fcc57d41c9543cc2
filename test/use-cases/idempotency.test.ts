import { test } from "node:test";
import assert from "node:assert/strict";
import type { OrderSpec } from "../../src/domain/order.js";
import { decideIdempotency, fingerprintDiff, idempotencyScopeKey, recordFingerprint, requestFingerprint } from "../../src/use-cases/idempotency.js";
import { everyField } from "../helpers/every-field-order.js";
import { marketOrder } from "./support.js";

const spec = (o: object): OrderSpec => marketOrder(o) as OrderSpec;

test("the scope key is account + idempotency_key, else account + client_order_id, in separate namespaces", () => {
  assert.equal(idempotencyScopeKey(spec({})), "acct-1|c:c-1");
  assert.equal(idempotencyScopeKey(spec({ idempotencyKey: "k" })), "acct-1|k:k");
  assert.notEqual(idempotencyScopeKey(spec({ idempotencyKey: "x" })), idempotencyScopeKey(spec({ clientOrderId: "x" })));
  assert.notEqual(idempotencyScopeKey(spec({ account: "a" })), idempotencyScopeKey(spec({ account: "b" })));
});

test("the fingerprint changes with every order field and names what differs", () => {
  const base = requestFingerprint(spec({}));
  const changes: Array<[object, string]> = [
    [{ clientOrderId: "c-2" }, "client_order_id"],
    [{ venue: "x" }, "venue"],
    [{ symbol: "ETH-USD" }, "symbol"],
    [{ side: 2 }, "side"],
    [{ type: 2 }, "type"],
    [{ timeInForce: 3 }, "time_in_force"],
    [{ quantity: "1.50" }, "quantity"],
    [{ price: "1" }, "price"],
    [{ stopPrice: "1" }, "stop_price"],
  ];
  for (const [over, field] of changes) {
    const fp = requestFingerprint(spec(over));
    assert.notEqual(fp, base, field);
    assert.deepEqual(fingerprintDiff(base, fp), [field]);
  }
  assert.equal(requestFingerprint(spec({ idempotencyKey: "zz" })), base, "the key itself is not a field of the order");
});

test("decide: new, replay, conflict with IDEMPOTENCY_KEY_REUSED naming the fields", () => {
  const s = spec({ idempotencyKey: "k-9" });
  const fp = requestFingerprint(s);
  assert.equal(decideIdempotency(undefined, fp, s).kind, "new");
  assert.equal(decideIdempotency({ fingerprint: fp }, fp, s).kind, "replay");
  const other = requestFingerprint(spec({ quantity: "2", symbol: "ETH-USD" }));
  const d = decideIdempotency({ fingerprint: other }, fp, s);
  assert.equal(d.kind, "conflict");
  if (d.kind === "conflict" && d.error.kind === "already_exists") {
    assert.equal(d.error.reason, "IDEMPOTENCY_KEY_REUSED");
    assert.match(d.error.message, /idempotency_key "k-9" of account acct-1 .*\(differs in: symbol, quantity\)/);
    assert.deepEqual(d.error.metadata, { account: "acct-1", key: "k-9", fields: "symbol,quantity" });
  } else assert.fail("expected already_exists");
});

test("the fingerprint format is pinned (v1): audit records written by older gateways must keep matching", () => {
  // Changing this string without bumping the version would turn every retry of a recovered order into a conflict.
  // Enums are their proto numbers: BUY 1, MARKET 1 / STOP_LIMIT 4, IOC 2 / GTC 1.
  assert.equal(requestFingerprint(spec({ idempotencyKey: "k" })), "v1|c-1|paper|BTC-USD|1|1|2|1.5||");
  assert.equal(
    requestFingerprint(spec({ type: 4, timeInForce: 1, price: "99.5", stopPrice: "100" })),
    "v1|c-1|paper|BTC-USD|1|4|1|1.5|99.5|100",
  );
});

test("fingerprints of another version or shape differ as a whole, not field by field", () => {
  const v1 = requestFingerprint(spec({}));
  const v0 = v1.replace(/^v1\|/, "v0|");
  assert.deepEqual(fingerprintDiff(v0, v1), ["(fingerprint version)"]);
  assert.deepEqual(fingerprintDiff(v1, `${v1}|extra`), ["(fingerprint version)"]);
  assert.deepEqual(fingerprintDiff(v1, v1), []);
  const s = spec({});
  const d = decideIdempotency({ fingerprint: v0 }, v1, s);
  assert.equal(d.kind, "conflict");
  if (d.kind === "conflict" && d.error.kind === "already_exists") {
    // Without an idempotency key the client order id is the key, and the error names it so.
    assert.match(d.error.message, /^client_order_id "c-1" of account acct-1 .*\(differs in: \(fingerprint version\)\)$/);
    assert.deepEqual(d.error.metadata, { account: "acct-1", key: "c-1", fields: "(fingerprint version)" });
  } else assert.fail("expected already_exists");
});

test("a record's fingerprint: its own if stored, else the one its order's fields give", () => {
  const order = { ...everyField };
  assert.equal(recordFingerprint({ outcome: { ok: true, value: order }, storedAtMs: 1 }), requestFingerprint(order));
  assert.equal(recordFingerprint({ fingerprint: "v0|old", outcome: { ok: true, value: order }, storedAtMs: 1 }), "v0|old");
  const error = { kind: "failed_precondition", message: "m" } as const;
  assert.equal(recordFingerprint({ fingerprint: "v1|x", outcome: { ok: false, error }, storedAtMs: 1 }), "v1|x");
  // An error record always stores its fingerprint; one without would conflict with every retry, never replay.
  assert.equal(recordFingerprint({ outcome: { ok: false, error }, storedAtMs: 1 }), "");
});
