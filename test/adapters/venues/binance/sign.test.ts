import assert from "node:assert/strict";
import { test } from "node:test";
import { binanceSignature, signBinanceRequest } from "../../../../src/adapters/venues/binance/sign.js";
import { encodeParams } from "../../../../src/adapters/venues/translator.js";

// Documented keys and vectors: venue-apis.md 1.2 (all REPRODUCED).
const creds = {
  apiKey: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
  apiSecret: "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
};
const base: Array<[string, string]> = [
  ["side", "BUY"],
  ["type", "LIMIT"],
  ["timeInForce", "GTC"],
  ["quantity", "1"],
  ["price", "0.1"],
];

test("B1: query-string request signs to the documented signature and wire form", () => {
  const signed = signBinanceRequest(
    { method: "POST", path: "/api/v3/order", query: [["symbol", "LTCBTC"], ...base], body: "" },
    creds,
    1499827319559,
    "https://api.binance.com",
    5000,
  );
  assert.equal(
    signed.url,
    "https://api.binance.com/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
  );
  assert.deepEqual(signed.headers, { "X-MBX-APIKEY": creds.apiKey }, "no body, no content type");
  assert.ok(!("body" in signed));
});

test("B2: non-ASCII symbol is percent-encoded before signing", () => {
  const signed = signBinanceRequest(
    { method: "POST", path: "/api/v3/order", query: [["symbol", "１２３４５６"], ...base], body: "" },
    creds,
    1499827319559,
    "https://api.binance.com",
  );
  assert.ok(signed.url.includes("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&"));
  assert.ok(signed.url.endsWith("&signature=e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"));
});

test("B3: query + body are concatenated without separator", () => {
  assert.equal(
    binanceSignature(
      "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
      creds.apiSecret,
    ),
    "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
  );
  // And through the request signer: body parameters, signature over query+body.
  const signed = signBinanceRequest(
    {
      method: "POST",
      path: "/api/v3/order",
      query: [["symbol", "LTCBTC"], ["side", "BUY"], ["type", "LIMIT"], ["timeInForce", "GTC"]],
      body: "quantity=1&price=0.1",
      contentType: "application/x-www-form-urlencoded",
    },
    creds,
    1499827319559,
    "https://api.binance.com",
  );
  // recvWindow/timestamp go into the query, so the signed string differs from B3; recompute independently.
  const query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&recvWindow=5000&timestamp=1499827319559";
  assert.equal(signed.url, `https://api.binance.com/api/v3/order?${query}&signature=${binanceSignature(`${query}quantity=1&price=0.1`, creds.apiSecret)}`);
  assert.equal(signed.headers["Content-Type"], "application/x-www-form-urlencoded");
  // The signed body is the body sent: a signer that dropped it would send an order without quantity and price.
  assert.equal(signed.body, "quantity=1&price=0.1");
  assert.equal(signed.method, "POST");
});

test("BW1/BW2: WebSocket API vectors exercise the same HMAC", () => {
  assert.equal(
    binanceSignature(
      "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT",
      creds.apiSecret,
    ),
    "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24",
  );
  assert.equal(
    binanceSignature(
      "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=0.10000000&quantity=1.00000000&recvWindow=5000&side=BUY&symbol=１２３４５６&timeInForce=GTC&timestamp=1645423376532&type=LIMIT",
      creds.apiSecret,
    ),
    "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd",
  );
});

test("encodeParams percent-encodes reserved characters", () => {
  assert.equal(encodeParams([["a", "x y&z=/"], ["b", "(!)"]]), "a=x%20y%26z%3D%2F&b=%28%21%29");
});

test("a body without a content type of its own is sent as a form", () => {
  const signed = signBinanceRequest({ method: "POST", path: "/api/v3/order", query: [], body: "quantity=1" }, creds, 1, "https://api.binance.com");
  assert.equal(signed.headers["Content-Type"], "application/x-www-form-urlencoded");
  assert.equal(signed.body, "quantity=1");
});
