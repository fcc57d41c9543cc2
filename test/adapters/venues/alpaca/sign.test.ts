import assert from "node:assert/strict";
import { test } from "node:test";
import { signAlpacaRequest } from "../../../../src/adapters/venues/alpaca/sign.js";

const creds = { keyId: "AKID", secretKey: "SECRET" };

test("Alpaca: key id and secret travel as headers; a JSON body is sent as given, with its content type", () => {
  const body = '{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day"}';
  const signed = signAlpacaRequest({ method: "POST", path: "/v2/orders", query: [], body }, creds, "https://paper-api.alpaca.markets/");
  assert.deepEqual(signed, {
    method: "POST",
    url: "https://paper-api.alpaca.markets/v2/orders",
    headers: { "APCA-API-KEY-ID": "AKID", "APCA-API-SECRET-KEY": "SECRET", "Content-Type": "application/json" },
    body,
  });
  const form = signAlpacaRequest({ method: "POST", path: "/v2/orders", query: [], body: "a=1", contentType: "application/x-www-form-urlencoded" }, creds, "https://x");
  assert.equal(form.headers["Content-Type"], "application/x-www-form-urlencoded");
});

test("Alpaca: without a body, no body and no content type; the query is percent-encoded", () => {
  const signed = signAlpacaRequest(
    { method: "GET", path: "/v2/orders:by_client_order_id", query: [["client_order_id", "c 1/2"]], body: "" },
    creds,
    "https://paper-api.alpaca.markets",
  );
  assert.deepEqual(signed, {
    method: "GET",
    url: "https://paper-api.alpaca.markets/v2/orders:by_client_order_id?client_order_id=c%201%2F2",
    headers: { "APCA-API-KEY-ID": "AKID", "APCA-API-SECRET-KEY": "SECRET" },
  });
  assert.ok(!("body" in signed));
});
