import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { test } from "node:test";
import { coinbaseJwt, coinbaseJwtUri, signCoinbaseRequest } from "../../../../src/adapters/venues/coinbase/sign.js";

// No fixed vector exists (ECDSA is randomized): freeze clock and nonce,
// compare header and claims exactly, verify the signature with the public key.
const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = privateKey.export({ type: "sec1", format: "pem" }).toString();
const keyName = "organizations/org-1/apiKeys/key-1";

function decode(part: string): unknown {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

test("uri claim: METHOD host path, no scheme, no query", () => {
  assert.equal(coinbaseJwtUri("post", "https://api.coinbase.com", "/api/v3/brokerage/orders"), "POST api.coinbase.com/api/v3/brokerage/orders");
});

test("JWT header and claims are exact and the ES256 signature verifies", () => {
  const jwt = coinbaseJwt({ keyName, privateKeyPem: pem }, "POST api.coinbase.com/api/v3/brokerage/orders", 1_700_000_000_999, "abc123");
  const [h, c, s] = jwt.split(".");
  assert.deepEqual(decode(h!), { alg: "ES256", kid: keyName, nonce: "abc123", typ: "JWT" });
  assert.deepEqual(decode(c!), {
    sub: keyName,
    iss: "cdp",
    nbf: 1_700_000_000,
    exp: 1_700_000_120,
    uri: "POST api.coinbase.com/api/v3/brokerage/orders",
  });
  const sig = Buffer.from(s!, "base64url");
  assert.equal(sig.length, 64, "raw r||s, not DER");
  const pub = createPublicKey(privateKey);
  assert.ok(verify("sha256", Buffer.from(`${h}.${c}`), { key: pub, dsaEncoding: "ieee-p1363" }, sig));
  // A tampered claim does not verify.
  assert.ok(!verify("sha256", Buffer.from(`${h}.${c}x`), { key: pub, dsaEncoding: "ieee-p1363" }, sig));
});

test("request signer sets Bearer JWT bound to the request path", () => {
  const signed = signCoinbaseRequest(
    { method: "GET", path: "/api/v3/brokerage/orders/historical/batch", query: [["product_ids", "BTC-USD"]], body: "" },
    { keyName, key: privateKey },
    1_700_000_000_000,
    "n1",
    "https://api.coinbase.com",
  );
  assert.equal(signed.url, "https://api.coinbase.com/api/v3/brokerage/orders/historical/batch?product_ids=BTC-USD");
  const jwt = signed.headers["Authorization"]!.replace(/^Bearer /, "");
  const claims = decode(jwt.split(".")[1]!) as { uri: string };
  assert.equal(claims.uri, "GET api.coinbase.com/api/v3/brokerage/orders/historical/batch");
  assert.deepEqual(Object.keys(signed.headers), ["Authorization"], "a GET has no content type");
  assert.ok(!("body" in signed));
});

test("a POST sends its JSON body as given, as application/json", () => {
  const body = '{"client_order_id":"c-1","product_id":"BTC-USD","side":"BUY"}';
  const signed = signCoinbaseRequest({ method: "POST", path: "/api/v3/brokerage/orders", query: [], body }, { keyName, key: privateKey }, 1_700_000_000_000, "n2", "https://api.coinbase.com");
  assert.equal(signed.method, "POST");
  assert.equal(signed.url, "https://api.coinbase.com/api/v3/brokerage/orders");
  assert.equal(signed.body, body);
  assert.equal(signed.headers["Content-Type"], "application/json");
  assert.match(signed.headers["Authorization"]!, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
});
