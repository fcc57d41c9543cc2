import assert from "node:assert/strict";
import { test } from "node:test";
import { compileRestJsonAuth, signRestJsonRequest as signCompiled } from "../../../../src/adapters/venues/rest-json/sign.js";
import type { RestJsonAuth } from "../../../../src/adapters/venues/rest-json/describe.js";

/** Header and no-auth rules compile without failing; the clock plays no part in them. */
function signRestJsonRequest(request: Parameters<typeof signCompiled>[0], auth: RestJsonAuth, credentials: Record<string, string>, baseUrl: string) {
  const compiled = compileRestJsonAuth(auth, credentials);
  assert.ok(compiled.ok);
  return signCompiled(request, compiled.value, baseUrl, 0);
}

const post = { method: "POST", path: "/orders", query: [], body: '{"qty":"1"}' } as const;

test("rest-json header auth: the credential, with its prefix, in the named header; the body as given", () => {
  const signed = signRestJsonRequest(
    post,
    { type: "header", header: "Authorization", credential: "token", prefix: "Bearer " },
    { token: "t-1", other: "x" },
    "https://venue.example/api/",
  );
  assert.deepEqual(signed, {
    method: "POST",
    url: "https://venue.example/api/orders",
    headers: { "Content-Type": "application/json", Authorization: "Bearer t-1" },
    body: '{"qty":"1"}',
  });
  // No prefix: the bare credential; a credential not configured: an empty value, never "undefined".
  assert.equal(signRestJsonRequest(post, { type: "header", header: "X-API-KEY", credential: "token" }, { token: "t-1" }, "https://v").headers["X-API-KEY"], "t-1");
  assert.equal(signRestJsonRequest(post, { type: "header", header: "X-API-KEY", credential: "token" }, {}, "https://v").headers["X-API-KEY"], "");
});

test("rest-json without auth: no credential header; a GET has no body and no content type", () => {
  const signed = signRestJsonRequest({ method: "GET", path: "/orders/1", query: [["a", "x y"]], body: "" }, { type: "none" }, { token: "t-1" }, "https://v");
  assert.deepEqual(signed, { method: "GET", url: "https://v/orders/1?a=x%20y", headers: {} });
  const form = signRestJsonRequest({ ...post, body: "qty=1", contentType: "application/x-www-form-urlencoded" }, { type: "none" }, {}, "https://v");
  assert.deepEqual(form.headers, { "Content-Type": "application/x-www-form-urlencoded" });
  assert.equal(form.body, "qty=1");
});
