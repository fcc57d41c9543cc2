import assert from "node:assert/strict";
import { test } from "node:test";
import { createKrakenNonceSource, krakenSignature, signKrakenRequest } from "../../../../src/adapters/venues/kraken/sign.js";

// venue-apis.md 2.2 (REPRODUCED).
const secret = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const docSign = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==";

test("documented AddOrder vector", () => {
  assert.equal(
    krakenSignature("/0/private/AddOrder", "1616492376594", "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25", secret),
    docSign,
  );
});

test("signer puts nonce first and produces the documented header", () => {
  const signed = signKrakenRequest(
    { method: "POST", path: "/0/private/AddOrder", query: [], body: "ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25" },
    { apiKey: "KEY", apiSecret: secret },
    "1616492376594",
    "https://api.kraken.com",
  );
  assert.equal(signed.url, "https://api.kraken.com/0/private/AddOrder");
  assert.equal(signed.body, "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25");
  assert.equal(signed.headers["API-Sign"], docSign);
  assert.equal(signed.headers["API-Key"], "KEY");
  assert.equal(signed.headers["Content-Type"], "application/x-www-form-urlencoded");
  assert.ok(signed.headers["User-Agent"]);
});

test("a request without parameters still carries and signs the nonce", () => {
  const signed = signKrakenRequest({ method: "POST", path: "/0/private/Balance", query: [], body: "" }, { apiKey: "KEY", apiSecret: secret }, "42", "https://api.kraken.com");
  assert.equal(signed.body, "nonce=42");
  assert.equal(signed.headers["API-Sign"], krakenSignature("/0/private/Balance", "42", "nonce=42", secret));
});

test("negative controls from the reference do not match", () => {
  const s = krakenSignature("/0/private/AddOrder", "1616492376594", "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25", secret);
  assert.notEqual(s, "zo+vrOtmhw2LH1Fh3GAqpXIqhgnLDTHJUiD6oiKNvJ4z8K6XEtgTTwr9ob8wbAF2rCRgTCD6KZSUz3JYQiekzg==");
  assert.notEqual(s, "zA0LsmBEQjAhiVXDC0d286hCa9i387Mf1ZKLsYKEAfzW+x3m5FeiAkR7eoNxQ7ykM1KedtbCWKAZ4wyKRSmgfQ==");
});

test("nonces strictly increase even within one millisecond or when the clock steps back", () => {
  const next = createKrakenNonceSource();
  const a = Number(next(1000));
  const b = Number(next(1000));
  const c = Number(next(900));
  const d = Number(next(5000));
  assert.ok(a < b && b < c && c < d);
  assert.equal(d, 5_000_000);
});
