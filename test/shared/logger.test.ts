import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { pbkdf2 } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { Writable } from "node:stream";
import { test } from "node:test";
import { coalesceLines, createLogger, redactCredentials } from "../../src/shared/logger.js";

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

function fakeBoom() {
  const writes: string[] = [];
  const calls: string[] = [];
  const fake = {
    write: (s: string) => (writes.push(s), true),
    flush: (cb?: () => void) => (calls.push("flush"), cb?.()),
    flushSync: () => calls.push("flushSync"),
  };
  return { writes, calls, boom: fake as unknown as Parameters<typeof coalesceLines>[0] };
}

test("coalesceLines hands the lines of a short window to sonic-boom as one write, in order", async (t) => {
  // Mocked setTimeout: the window ends exactly when the test says, however slow the machine.
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { writes, calls, boom } = fakeBoom();
  const dest = coalesceLines(boom, { maxDelayMs: 10 });
  dest.write("a\n");
  dest.write("b\n");
  await new Promise((r) => setImmediate(r));
  dest.write("c\n");
  await new Promise((r) => setImmediate(r));
  t.mock.timers.tick(9);
  assert.deepEqual(writes, [], "nothing is handed over before the window ends");
  t.mock.timers.tick(1);
  assert.deepEqual(writes, ["a\nb\nc\n"]);
  dest.write("d\n");
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 1, "the next line waits for a window of its own");
  t.mock.timers.tick(10);
  assert.deepEqual(writes, ["a\nb\nc\n", "d\n"], "a lone line goes as it is");
  dest.write("e\n");
  t.mock.timers.tick(5);
  await new Promise<void>((r) => dest.flush(() => r()));
  assert.deepEqual(writes.at(-1), "e\n", "flush hands over what is pending first");
  assert.deepEqual(calls, ["flush"]);
  // The window flush cut short is over: a line written now waits a full window of its own.
  dest.write("e2\n");
  t.mock.timers.tick(5);
  assert.equal(writes.length, 3);
  t.mock.timers.tick(5);
  assert.deepEqual(writes.at(-1), "e2\n");
  dest.write("f\n");
  dest.flushSync();
  assert.deepEqual(writes.at(-1), "f\n");
  assert.deepEqual(calls, ["flush", "flushSync"]);
});

test("coalesceLines: a burst past maxChars goes at the end of its turn, without waiting for the window", async () => {
  const { writes, boom } = fakeBoom();
  const dest = coalesceLines(boom, { maxDelayMs: 60_000, maxChars: 100 });
  dest.write(`${"x".repeat(60)}\n`);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [], "under maxChars: waits");
  dest.write(`${"y".repeat(60)}\n`);
  assert.deepEqual(writes, [], "not in the middle of the turn");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [`${"x".repeat(60)}\n${"y".repeat(60)}\n`]);
  // After the burst, a small line waits for its window again.
  dest.write("z\n");
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 1);
  dest.flushSync();
  assert.deepEqual(writes.at(-1), "z\n");
});

test("coalesceLines.flushSync writes the pending lines before it returns, even with sonic-boom idle", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-flush-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "out.log");
  const boom = pino.destination({ dest: file, sync: false });
  await new Promise((r) => boom.once("ready", r));
  const dest = coalesceLines(boom, { maxDelayMs: 60_000 });
  dest.write("one\n");
  dest.write("two\n");
  // Keep libuv's thread pool busy, so that an asynchronous fs.write (what sonic-boom's write()
  // starts when idle) could not land before the file is read below.
  const busy = Array.from({ length: 8 }, () => new Promise((r) => pbkdf2("x", "y", 200_000, 32, "sha256", r)));
  dest.flushSync();
  assert.equal(fs.readFileSync(file, "utf8"), "one\ntwo\n");
  await Promise.all(busy);
  boom.end();
});

test("lines logged just before a crash or process.exit are written", async () => {
  const logger = new URL("../../src/shared/logger.ts", import.meta.url).href;
  const run = (body: string) =>
    new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", `import { createLogger } from ${JSON.stringify(logger)};\nconst log = createLogger({ level: "info", format: "json" });\n${body}`], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out }));
    });
  const crash = await run(`log.info("one"); log.error("two"); throw new Error("boom");`);
  assert.equal(crash.code, 1);
  assert.deepEqual(crash.out.trim().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg), ["one", "two"]);
  const exit = await run(`log.info("bye"); process.exit(3);`);
  assert.equal(exit.code, 3);
  assert.match(exit.out, /"msg":"bye"/);
  // Nothing left to do: the process ends by itself, and the line still waiting for its window is written.
  const idle = await run(`log.info("last");`);
  assert.equal(idle.code, 0);
  assert.match(idle.out, /"msg":"last"/);
});
