import assert from "node:assert/strict";
import { test } from "node:test";
import { loadVenues } from "../../helpers/venue-config.js";

const venue = (kind: string, creds: string, extra: string) =>
  `venues:\n  - name: v\n    kind: ${kind}\n    baseUrl: https://venue.example\n    credentials: { ${creds} }\n${extra}`;

test("exclusiveKey (the venue-wide cancel-all) is taken by binance, kraken and alpaca only, as a boolean", () => {
  for (const [kind, creds] of [
    ["binance", "apiKey: { env: K }, apiSecret: { env: S }"],
    ["kraken", "apiKey: { env: K }, apiSecret: { env: S }"],
    ["alpaca", "keyId: { env: K }, secretKey: { env: S }"],
  ] as const) {
    const r = loadVenues("/etc/venues.yaml", () => venue(kind, creds, "    exclusiveKey: true\n"));
    assert.ok(r.ok, r.ok ? "" : r.error);
    assert.equal(r.value.venues[0]?.["exclusiveKey"], true);
    const bad = loadVenues("/etc/venues.yaml", () => venue(kind, creds, "    exclusiveKey: yes please\n"));
    assert.ok(!bad.ok);
    assert.match(bad.error, /exclusiveKey/);
  }
  const coinbase = loadVenues("/etc/venues.yaml", () => venue("coinbase", "keyName: { env: K }, privateKey: { env: S }", "    exclusiveKey: true\n"));
  assert.ok(!coinbase.ok);
  assert.match(coinbase.error, /kind coinbase takes no exclusiveKey/);
});
