import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import type { VenueFileEntry } from "../../../../src/config/venues-file.js";
import { OrderType, Side, TimeInForce } from "../../../../src/domain/order.js";
import { createRestJsonDialect } from "../../../../src/adapters/venues/rest-json/index.js";
import { compileRestJsonAuth, formatTimestamp, parseTemplate, signRestJsonRequest } from "../../../../src/adapters/venues/rest-json/sign.js";
import type { RestJsonAuth } from "../../../../src/adapters/venues/rest-json/describe.js";
import type { TranslatorRules, UnsignedRequest } from "../../../../src/adapters/venues/translator.js";
import { makeOrder } from "../make-order.js";
import { loadVenues } from "../../../helpers/venue-config.js";

/**
 * HMAC signing described by rules alone: the venue file says what is signed
 * and where it goes, and the result must equal the venues' own vectors
 * (/work/shared/reference/venue-apis.md: Binance B1/B2 REPRODUCED from its
 * docs; Coinbase Exchange and OKX SELF-COMPUTED, regression only).
 */

/** Enough translator rules for a one-venue file; `place` is what each case signs. */
function venueFile(place: string, auth: string, baseUrl: string): string {
  return `venues:
  - name: v
    kind: rest-json
    baseUrl: ${baseUrl}
    credentials:
      apiKey: { env: K }
      apiSecret: { env: S }
      passphrase: { env: P }
    auth: ${auth}
    rules:
      place: ${place}
      cancel: { method: DELETE, path: /order, encoding: query, fields: { origClientOrderId: clientOrderId } }
      query: { method: GET, path: /order, encoding: query, fields: { origClientOrderId: clientOrderId } }
      enums:
        side: { BUY: BUY, SELL: SELL }
        type: { LIMIT: LIMIT }
        timeInForce: { GTC: GTC }
        status: { NEW: NEW }
      answer: { venueOrderId: orderId, status: status }
`;
}

/** A rest-json entry: its options as the rest-json schema (src/adapters/venues/rest-json/config.ts) validated them. */
type RestJsonEntry = VenueFileEntry & { readonly rules?: TranslatorRules; readonly auth?: RestJsonAuth };

function venueOf(text: string): RestJsonEntry {
  const r = loadVenues("v.yaml", () => text);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.value.venues[0]!;
}

/** Translate and sign one place request the way the adapter does (the dialect), at a fixed time. */
function signPlace(venue: RestJsonEntry, credentials: Record<string, string>, nowMs: number, over: Parameters<typeof makeOrder>[0] = {}, venueSymbol = "LTCBTC") {
  const dialect = createRestJsonDialect({
    name: venue.name,
    baseUrl: venue.baseUrl!,
    symbols: {},
    timeoutMs: 1000,
    limiterKey: "k",
    rules: venue.rules!,
    auth: venue.auth!,
    credentials,
  });
  const order = makeOrder({ side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, quantity: "1", price: "0.1", ...over });
  const req = dialect.translate("place", { order, venueSymbol });
  assert.ok(req.ok, JSON.stringify(req));
  const signed = dialect.sign(req.value, venue.baseUrl!, nowMs);
  assert.ok(signed.ok);
  return signed.value;
}

const binance = {
  apiKey: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
  apiSecret: "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
  passphrase: "-",
};
const binanceAuth = `
      type: hmac
      secret: apiSecret
      algorithm: sha256
      encoding: hex
      payload: "{query}{body}"
      query: { recvWindow: "5000", timestamp: "{timestamp}" }
      signatureParam: signature
      headers: { X-MBX-APIKEY: "{credential.apiKey}" }`;
const binancePlace = "{ method: POST, path: /api/v3/order, encoding: query, fields: { symbol: symbol, side: side, type: type, timeInForce: timeInForce, quantity: quantity, price: price } }";

test("Binance B1 (documented vector) described by rules alone: the documented wire form and signature", () => {
  const venue = venueOf(venueFile(binancePlace, binanceAuth, "https://api.binance.com"));
  const signed = signPlace(venue, binance, 1499827319559);
  assert.equal(
    signed.url,
    "https://api.binance.com/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
  );
  assert.deepEqual(signed.headers, { "X-MBX-APIKEY": binance.apiKey });
  assert.equal(signed.method, "POST");
  assert.equal(signed.body, undefined);
});

test("Binance B2 (documented vector): a non-ASCII symbol is percent-encoded before signing", () => {
  const venue = venueOf(venueFile(binancePlace, binanceAuth, "https://api.binance.com"));
  const signed = signPlace(venue, binance, 1499827319559, {}, "１２３４５６");
  assert.ok(signed.url.includes("?symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY"), signed.url);
  assert.ok(signed.url.endsWith("&signature=e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"), signed.url);
});

const coinbaseSecret = Buffer.from(Array.from({ length: 64 }, (_, i) => i)).toString("base64");
const coinbaseAuth = `
      type: hmac
      secret: apiSecret
      secretEncoding: base64
      algorithm: sha256
      encoding: base64
      timestampUnit: s
      payload: "{timestamp}{method}{pathAndQuery}{body}"
      headers:
        CB-ACCESS-KEY: "{credential.apiKey}"
        CB-ACCESS-SIGN: "{signature}"
        CB-ACCESS-TIMESTAMP: "{timestamp}"
        CB-ACCESS-PASSPHRASE: "{credential.passphrase}"`;

test("Coinbase Exchange scheme (self-computed vectors): base64 key, base64 signature, timestamp in seconds, headers", () => {
  const place = "{ method: POST, path: /orders, encoding: json, fields: { price: { from: price, decimals: 1 }, size: { from: quantity, decimals: 1 }, side: side, product_id: symbol } }";
  const text = venueFile(place, coinbaseAuth, "https://api.exchange.coinbase.com").replace("side: { BUY: BUY, SELL: SELL }", "side: { BUY: buy, SELL: sell }");
  const venue = venueOf(text);
  const credentials = { apiKey: "cb-key", apiSecret: coinbaseSecret, passphrase: "cb-pass" };
  const signed = signPlace(venue, credentials, 1_700_000_000_123, { quantity: "1", price: "1" }, "BTC-USD");
  // prehash 1700000000POST/orders{"price":"1.0","size":"1.0","side":"buy","product_id":"BTC-USD"}
  assert.equal(signed.body, '{"price":"1.0","size":"1.0","side":"buy","product_id":"BTC-USD"}');
  assert.deepEqual(signed.headers, {
    "Content-Type": "application/json",
    "CB-ACCESS-KEY": "cb-key",
    "CB-ACCESS-SIGN": "9BFKo+O+iyq1orpEz9FK6MtOYrhEc4O2o7Bq4XtL5pE=",
    "CB-ACCESS-TIMESTAMP": "1700000000",
    "CB-ACCESS-PASSPHRASE": "cb-pass",
  });
  // prehash 1700000000GET/orders?status=open: the query is part of the signed path.
  const auth = compileRestJsonAuth(venue.auth!, credentials);
  assert.ok(auth.ok);
  const get: UnsignedRequest = { method: "GET", path: "/orders", query: [["status", "open"]], body: "" };
  const signedGet = signRestJsonRequest(get, auth.value, "https://api.exchange.coinbase.com", 1_700_000_000_999);
  assert.equal(signedGet.url, "https://api.exchange.coinbase.com/orders?status=open");
  assert.equal(signedGet.headers["CB-ACCESS-SIGN"], "pZPTGrSfkT3y7IlU0d5lAr+PFB58dY+pM/jsgCdUE54=");
  assert.equal(signedGet.headers["Content-Type"], undefined);
});

test("OKX scheme (self-computed vector): ISO timestamp, UTF-8 key, the query in the signed path", () => {
  const auth: RestJsonAuth = {
    type: "hmac",
    secret: "apiSecret",
    algorithm: "sha256",
    encoding: "base64",
    timestampUnit: "iso",
    payload: "{timestamp}{method}{pathAndQuery}{body}",
    headers: { "OK-ACCESS-KEY": "{credential.apiKey}", "OK-ACCESS-SIGN": "{signature}", "OK-ACCESS-TIMESTAMP": "{timestamp}", "OK-ACCESS-PASSPHRASE": "{credential.passphrase}" },
  };
  const compiled = compileRestJsonAuth(auth, { apiKey: "okx-key", apiSecret: "22582BD0CFF14C41EDBF1AB98506286D", passphrase: "okx-pass" });
  assert.ok(compiled.ok, compiled.ok ? "" : compiled.error);
  const signed = signRestJsonRequest({ method: "GET", path: "/api/v5/account/balance", query: [["ccy", "BTC"]], body: "" }, compiled.value, "https://www.okx.com", Date.parse("2020-12-08T09:08:57.715Z"));
  assert.equal(signed.headers["OK-ACCESS-SIGN"], "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY=");
  assert.equal(signed.headers["OK-ACCESS-TIMESTAMP"], "2020-12-08T09:08:57.715Z");
});

test("Bybit v5 scheme (self-computed vector): timestamp + key + recv window + query, hex", () => {
  const auth: RestJsonAuth = {
    type: "hmac",
    secret: "apiSecret",
    algorithm: "sha256",
    encoding: "hex",
    payload: "{timestamp}{credential.apiKey}5000{query}{body}",
    headers: { "X-BAPI-API-KEY": "{credential.apiKey}", "X-BAPI-TIMESTAMP": "{timestamp}", "X-BAPI-SIGN": "{signature}", "X-BAPI-RECV-WINDOW": "5000" },
  };
  const compiled = compileRestJsonAuth(auth, { apiKey: "XXXXXXXXXX", apiSecret: "YYYYYYYYYY" });
  assert.ok(compiled.ok, compiled.ok ? "" : compiled.error);
  const signed = signRestJsonRequest(
    { method: "GET", path: "/v5/order/realtime", query: [["category", "option"], ["symbol", "BTC-29JUL22-25000-C"]], body: "" },
    compiled.value,
    "https://api.bybit.com",
    1658384314791,
  );
  assert.equal(signed.headers["X-BAPI-SIGN"], "37813c67fafb3017e92354eb88f218e7e52a98f9f5eb74cfcf0b21f17edb143b");
  assert.equal(signed.url, "https://api.bybit.com/v5/order/realtime?category=option&symbol=BTC-29JUL22-25000-C");
});

test("templates: {path} includes the base URL's path, {nonce} is the given nonce, µs timestamps, sha512, a base64 signature parameter is percent-encoded", () => {
  const auth: RestJsonAuth = {
    type: "hmac",
    secret: "s",
    secretEncoding: "hex",
    algorithm: "sha512",
    encoding: "base64",
    timestampUnit: "us",
    payload: "{method} {path} {query} {body} {timestamp} {nonce} {credential.k}",
    query: { ts: "{timestamp}", n: "{nonce}" },
    signatureParam: "sig",
    headers: { "X-Payload-Check": "{method}|{path}|{pathAndQuery}|{nonce}" },
  };
  const compiled = compileRestJsonAuth(auth, { s: "00ff10", k: "key-1" });
  assert.ok(compiled.ok, compiled.ok ? "" : compiled.error);
  assert.equal(compiled.value.usesNonce, true);
  const req: UnsignedRequest = { method: "POST", path: "/orders", query: [["a", "x y"]], body: '{"q":"1"}', contentType: "application/json" };
  const signed = signRestJsonRequest(req, compiled.value, "https://venue.test/api/v2/", 1_000, "77");
  const query = "a=x%20y&ts=1000000&n=77";
  const expected = createHmac("sha512", Buffer.from("00ff10", "hex"))
    .update(`POST /api/v2/orders ${query} {"q":"1"} 1000000 77 key-1`)
    .digest("base64");
  assert.equal(signed.url, `https://venue.test/api/v2/orders?${query}&sig=${encodeURIComponent(expected)}`);
  assert.equal(signed.headers["X-Payload-Check"], `POST|/api/v2/orders|/api/v2/orders?${query}|77`);
  assert.equal(signed.headers["Content-Type"], "application/json");
  assert.equal(signed.body, '{"q":"1"}');
  assert.equal(formatTimestamp(1_700_000_000_999, "s"), "1700000000");
  assert.equal(formatTimestamp(1_700_000_000_999, "ms"), "1700000000999");
});

test("rules that cannot sign are refused, naming the field; key errors never show the key", () => {
  const base: RestJsonAuth = { type: "hmac", secret: "apiSecret", algorithm: "sha256", encoding: "hex", payload: "{timestamp}{body}", headers: { "X-SIGN": "{signature}" } };
  const creds = { apiKey: "k", apiSecret: "not base64!" };
  const refused: Array<[Partial<RestJsonAuth>, string]> = [
    [{ payload: "{timestamp}{bdy}" }, "auth.payload: unknown variable {bdy}; did you mean {body}?"],
    [{ payload: "{timestamp" }, 'auth.payload: "{" without "}" at character 1'],
    [{ payload: "{xyzzy}" }, "auth.payload: unknown variable {xyzzy}; the variables are {method}, {path}, {query}, {pathAndQuery}, {body}, {timestamp}, {nonce}, {signature}, {credential.NAME}"],
    [{ payload: "{signature}" }, "auth.payload: {signature} cannot be used here (only in headers; or set signatureParam)"],
    [{ headers: { "X-KEY": "{credential.apiKy}", "X-SIGN": "{signature}" } }, 'auth.headers.X-KEY: {credential.apiKy}: no credential named "apiKy" (the venue\'s credentials: apiKey, apiSecret)'],
    [{ headers: { "X-KEY": "{credential.apiKey}" } }, "auth.signatureParam: the signature goes nowhere: set signatureParam or use {signature} in a header"],
    [{ query: { ts: "{query}" } }, "auth.query.ts: {query} cannot be used here"],
    [{ secret: "hunter2" }, "auth.secret: must name one of the venue's credentials (apiKey, apiSecret); the secret itself never goes in this file"],
    [{ secretEncoding: "base64" }, "credentials.apiSecret: is not valid base64 (auth.secretEncoding says how the HMAC key is written)"],
  ];
  for (const [change, expected] of refused) {
    const r = compileRestJsonAuth({ ...base, ...change } as RestJsonAuth, creds);
    assert.ok(!r.ok, JSON.stringify(change));
    assert.equal(r.error, expected);
    assert.ok(!r.error.includes("not base64!"), "the key's value is never in a message");
  }
  assert.deepEqual(parseTemplate("a{method}b{credential.x}"), {
    ok: true,
    value: [
      { kind: "text", text: "a" },
      { kind: "variable", name: "method" },
      { kind: "text", text: "b" },
      { kind: "credential", name: "x" },
    ],
  });
});

test("the venue file checks HMAC rules against the credentials it names", () => {
  const withAuth = (auth: string) => loadVenues("v.yaml", () => venueFile(binancePlace, auth, "https://api.binance.com"));
  const cases: Array<[string, string]> = [
    [binanceAuth.replace("secret: apiSecret", "secret: apiScret"), "v.yaml: venues.v.auth.secret: must name one of the venue's credentials (apiKey, apiSecret, passphrase); the secret itself never goes in this file"],
    [binanceAuth.replace("{credential.apiKey}", "{credential.key}"), 'v.yaml: venues.v.auth.headers.X-MBX-APIKEY: {credential.key}: no credential named "key" (the venue\'s credentials: apiKey, apiSecret, passphrase)'],
    [binanceAuth.replace("{timestamp}", "{timestmp}"), "v.yaml: venues.v.auth.query.timestamp: unknown variable {timestmp}; did you mean {timestamp}?"],
    [binanceAuth.replace("algorithm: sha256", "algorithm: SHA-256"), "v.yaml: venues.v.auth.algorithm: must be one of sha256, sha384, sha512; did you mean sha256?"],
    [binanceAuth.replace("encoding: hex", "encoding: hexadecimal"), "v.yaml: venues.v.auth.encoding: must be one of hex, base64"],
    [binanceAuth.replace("signatureParam:", "signatureParm:"), "v.yaml: venues.v.auth.signatureParm: unknown field; did you mean signatureParam?"],
    [binanceAuth.replace("payload:", "playload:"), "v.yaml: venues.v.auth.playload: unknown field; did you mean payload?"],
  ];
  for (const [auth, expected] of cases) {
    const r = withAuth(auth);
    assert.ok(!r.ok, auth);
    assert.equal(r.error.split("\n")[0], expected);
  }
});
