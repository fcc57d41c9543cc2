import assert from "node:assert/strict";
import { test } from "node:test";
import { fillTemplate, restJsonStreamMessages, templateProblems, type RestJsonStreamRules } from "../../../../src/adapters/venues/rest-json/stream.js";
import type { TranslatorRules } from "../../../../src/adapters/venues/translator.js";
import { OrderStatus } from "../../../../src/domain/order.js";
import { parseVenues } from "../../../helpers/venue-config.js";

const rules = {
  place: { method: "POST", path: "/o", encoding: "json", fields: {} },
  cancel: { method: "DELETE", path: "/o/{venueOrderId}", encoding: "query", fields: {} },
  query: { method: "GET", path: "/o/{clientOrderId}", encoding: "query", fields: {} },
  enums: { side: { BUY: "bid", SELL: "ask" }, type: { LIMIT: "lmt" }, timeInForce: { GTC: "gtc" }, status: { open: "NEW", partial: "PARTIALLY_FILLED", done: "FILLED" } },
  answer: { root: "order", venueOrderId: "id", status: "state", filledQuantity: "executed", averagePrice: "avgPrice" },
} as unknown as TranslatorRules;
const stream: RestJsonStreamRules = {
  subscribe: ['{"op":"auth","key":"{credential.apiKey}","ts":{timestamp}}'],
  then: [{ when: { path: "op", equals: "authed" }, send: ['{"op":"subscribe"}'] }],
  subscribed: { path: "op", equals: "subscribed" },
  refused: { path: "op", equals: "error", reasonPath: "reason" },
  events: { when: { path: "topic", equals: "orders" }, order: "data", clientOrderId: "clientId" },
};

test("frame templates: credentials JSON-escaped, timestamp in ms; unknown variables and credentials are named, JSON braces are not variables", () => {
  assert.equal(fillTemplate(stream.subscribe[0]!, { apiKey: 'k"1' }, 1700), '{"op":"auth","key":"k\\"1","ts":1700}');
  assert.equal(templateProblems(stream.subscribe[0]!, ["apiKey"]), undefined);
  assert.match(templateProblems('{"k":"{credential.nope}"}', ["apiKey"]) ?? "", /no credential named "nope"/);
  assert.match(templateProblems('{"k":"{nonce}"}', ["apiKey"]) ?? "", /unknown variable \{nonce\}/);
});

test("frames by the rules: follow-up send, subscribed, refused, order events read with the answer rules (totals only -> cumulativeOnly)", () => {
  const m = (f: unknown) => restJsonStreamMessages(JSON.stringify(f), stream, rules, { apiKey: "k" }, 5);
  assert.deepEqual(m({ op: "authed" }), [{ kind: "send", frames: ['{"op":"subscribe"}'] }]);
  assert.deepEqual(m({ op: "subscribed" }), [{ kind: "subscribed" }]);
  assert.deepEqual(m({ op: "error", reason: "bad key" }), [{ kind: "error", reason: "venue refused: bad key", auth: true }]);
  assert.deepEqual(m({ topic: "orders", data: { id: "v1", clientId: "c1", state: "partial", executed: "0.4", avgPrice: "101" } }), [
    { kind: "order", event: { venueOrderId: "v1", venueClientOrderId: "c1", update: { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "v1", filledQuantity: "0.4", averageFillPrice: "101", fills: [] }, eventTimeMs: 0, cumulativeOnly: true } },
  ]);
  assert.equal(m({ topic: "orders", data: [{ id: "a", state: "open" }, { id: "b", state: "done", executed: "1" }] }).length, 2);
  assert.deepEqual(m({ topic: "orders", data: { id: "x", state: "sideways" } }), [{ kind: "ignored" }]);
  assert.deepEqual(m({ topic: "trades" }), [{ kind: "ignored" }]);
  assert.deepEqual(restJsonStreamMessages("{", stream, rules, {}, 0), [{ kind: "ignored" }]);
});

test("venue file: stream rules need a streamUrl and the other way round; built-in kinds refuse stream rules", () => {
  const entry = (over: Record<string, unknown>) => ({ venues: [{ name: "acme", kind: "rest-json", baseUrl: "http://127.0.0.1:1", credentials: { apiKey: { env: "K" } }, auth: { type: "header", header: "X-K", credential: "apiKey" }, rules, ...over }] });
  const noUrl = parseVenues(entry({ stream }), "/v.yaml");
  assert.ok(!noUrl.ok && /streamUrl: required with stream rules/.test(noUrl.error), noUrl.ok ? "" : noUrl.error);
  const noRules = parseVenues(entry({ streamUrl: "ws://127.0.0.1:2/ws" }), "/v.yaml");
  assert.ok(!noRules.ok && /stream: required with streamUrl/.test(noRules.error), noRules.ok ? "" : noRules.error);
  const badCred = parseVenues(entry({ streamUrl: "ws://127.0.0.1:2/ws", stream: { ...stream, subscribe: ['{"k":"{credential.secret}"}'] } }), "/v.yaml");
  assert.ok(!badCred.ok && /stream\.subscribe\.0: no credential named "secret"/.test(badCred.error), badCred.ok ? "" : badCred.error);
  assert.ok(parseVenues(entry({ streamUrl: "ws://127.0.0.1:2/ws", stream }), "/v.yaml").ok);
  const builtIn = parseVenues({ venues: [{ name: "a", kind: "alpaca", baseUrl: "https://paper-api.alpaca.markets", credentials: { keyId: { env: "A" }, secretKey: { env: "B" } }, stream }] }, "/v.yaml");
  assert.ok(!builtIn.ok && /only kind rest-json takes stream rules/.test(builtIn.error), builtIn.ok ? "" : builtIn.error);
});
