import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveVenueClientOrderId } from "../../src/use-cases/client-order-id.js";

test("deterministic per scope key, different for different keys", () => {
  for (const kind of ["binance", "kraken", "alpaca", "coinbase", "rest-json", "paper"]) {
    assert.equal(deriveVenueClientOrderId(kind, "acc-1/key-1"), deriveVenueClientOrderId(kind, "acc-1/key-1"));
    assert.notEqual(deriveVenueClientOrderId(kind, "acc-1/key-1"), deriveVenueClientOrderId(kind, "acc-1/key-2"));
  }
});

test("each venue's length and charset rules", () => {
  for (let i = 0; i < 200; i++) {
    const key = `k-${i}-${"x".repeat(i)}-é`;
    // Binance newClientOrderId: ^[.A-Z:/a-z0-9_-]{1,36}$
    assert.match(deriveVenueClientOrderId("binance", key), /^[.A-Z:/a-z0-9_-]{1,36}$/);
    // Kraken cl_ord_id accepts UUIDs; Alpaca <= 48 chars; Coinbase uses UUIDs.
    for (const kind of ["kraken", "alpaca", "coinbase"]) {
      assert.match(deriveVenueClientOrderId(kind, key), /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    assert.match(deriveVenueClientOrderId("rest-json", key), /^[0-9a-f]{32}$/);
  }
});
