import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { decodeConnectGrpcMessage, encodeGrpcMessage, setGrpcStatus } from "../../src/server/grpc-status.js";

test("grpc-message: only bytes outside 0x20-0x7E and % are percent-encoded (UTF-8, upper-case hex)", () => {
  assert.equal(encodeGrpcMessage("invalid request: client_order_id, quantity; x"), "invalid request: client_order_id, quantity; x");
  assert.equal(encodeGrpcMessage(`a/b?c#d&e=f+g$h@i[j]"k'l~`), `a/b?c#d&e=f+g$h@i[j]"k'l~`);
  assert.equal(encodeGrpcMessage("100% sure"), "100%25 sure");
  assert.equal(encodeGrpcMessage("%3A stays literal"), "%253A stays literal");
  assert.equal(encodeGrpcMessage("naïve 東京"), "na%C3%AFve %E6%9D%B1%E4%BA%AC");
  assert.equal(encodeGrpcMessage("tab\tline\nend\x7f"), "tab%09line%0Aend%7F");
  assert.equal(encodeGrpcMessage("🚀"), "%F0%9F%9A%80");
  assert.equal(encodeGrpcMessage("lone \ud800"), "lone %EF%BF%BD");
  assert.equal(encodeGrpcMessage(""), "");
});

test("grpc-message: every decoder reads the text back exactly (grpc-js's decodeURI, connect's decodeURIComponent)", () => {
  // Seeded, so a failure repeats: random strings over ASCII, Latin-1, the BMP and astral planes.
  let seed = 18;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pick = () => {
    const r = rand();
    if (r < 0.5) return String.fromCharCode(Math.floor(rand() * 0x80));
    if (r < 0.7) return String.fromCharCode(0x80 + Math.floor(rand() * 0x780));
    if (r < 0.9) return String.fromCharCode(0x800 + Math.floor(rand() * (0xd800 - 0x800)));
    return String.fromCodePoint(0x10000 + Math.floor(rand() * 0xfffff));
  };
  for (let i = 0; i < 5000; i++) {
    let s = "";
    const n = Math.floor(rand() * 24);
    for (let j = 0; j < n; j++) s += pick();
    const e = encodeGrpcMessage(s);
    assert.match(e, /^[\x20-\x7e]*$/, JSON.stringify(s));
    assert.doesNotMatch(e.replace(/%[0-9A-F]{2}/g, ""), /%/, JSON.stringify(s));
    assert.equal(decodeURI(e), s, JSON.stringify(s));
    assert.equal(decodeURIComponent(e), s, JSON.stringify(s));
    // What the edge does with connect's own encoding: back to the text, then the spec's form.
    assert.equal(encodeGrpcMessage(decodeConnectGrpcMessage(encodeURIComponent(s))), e);
  }
});

test("setGrpcStatus writes connect's status fields, with grpc-message as the spec says", () => {
  const h = setGrpcStatus(new Headers({ "grpc-status": "0" }), new ConnectError("bad: a, b; 100%", Code.InvalidArgument, { "x-meta": "1" }));
  assert.deepEqual(Object.fromEntries(h), { "grpc-message": "bad: a, b; 100%25", "grpc-status": "3", "x-meta": "1" });
  assert.deepEqual(Object.fromEntries(setGrpcStatus(new Headers(), undefined)), { "grpc-status": "0" });
});
