import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger, redactCredentials } from "../../src/shared/logger.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ level: "info", format: "json", destination }) };
}

test("credentials are redacted at the top of a line and one level down", () => {
  const { lines, logger } = capture();
  const headers = { authorization: "Bearer sk-live-123", "content-type": "application/grpc" };
  logger.info({ authorization: "Bearer sk-live-456", headers, upstream: { authorization: "Basic c2VjcmV0" }, n: 1 }, "call");
  logger.child({ reqId: "r1" }).warn({ headers }, "child");
  const text = JSON.stringify(lines);
  assert.doesNotMatch(text, /sk-live|c2VjcmV0/);
  assert.equal(lines[0]!["authorization"], "[redacted]");
  assert.deepEqual(lines[0]!["headers"], { authorization: "[redacted]", "content-type": "application/grpc" });
  assert.deepEqual(lines[0]!["upstream"], { authorization: "[redacted]" });
  assert.equal(lines[0]!["n"], 1);
  assert.equal(lines[1]!["reqId"], "r1");
  assert.deepEqual(lines[1]!["headers"], { authorization: "[redacted]", "content-type": "application/grpc" });
  // The caller's objects are left as they were.
  assert.equal(headers.authorization, "Bearer sk-live-123");
});

test("a line with nothing to hide is passed through without a copy", () => {
  const line = { reqId: "r", service: "trading.v1.TradingGateway", method: "PlaceOrder", code: "OK", durationMs: 0.4, peer: { ip: "127.0.0.1" } };
  assert.equal(redactCredentials(line), line);
  const withSecret = { ...line, headers: { authorization: "x" } };
  const out = redactCredentials(withSecret);
  assert.notEqual(out, withSecret);
  assert.equal(out["peer"], line.peer, "untouched values are shared, not copied");
  assert.deepEqual(withSecret.headers, { authorization: "x" });
});
