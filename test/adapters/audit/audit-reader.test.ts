import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { encodeAuditEvent } from "../../../src/adapters/audit/audit-codec.js";
import { AuditLogCorruptError, readAuditLog, type AuditReadStats } from "../../../src/adapters/audit/audit-reader.js";
import { createJsonlAuditSink } from "../../../src/adapters/audit/jsonl-sink.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import { captureLogger, sampleEvent } from "./fixtures.js";

function tempFile(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-reader-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "audit.jsonl");
}

async function collect(it: AsyncIterable<AuditEvent>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => encodeAuditEvent(sampleEvent(from + i))).join("");

test("a torn last line is skipped with a warning, repaired, and the next start appends on a clean line", async (t) => {
  const file = tempFile(t);
  const torn = encodeAuditEvent(sampleEvent(3)).slice(0, 57); // crash in the middle of write(2)
  fs.writeFileSync(file, lines(0, 3) + torn);
  const { logger, records } = captureLogger();
  const stats: AuditReadStats = { segments: 0, events: 0, corruptLines: 0, tornBytes: 0 };
  const events = await collect(readAuditLog({ path: file, logger, repair: true, stats }));
  assert.deepEqual(events.map((e) => e.requestId), ["req-0", "req-1", "req-2"]);
  assert.equal(stats.tornBytes, 57);
  const warn = records.find((r) => r.level === 40 && /torn last line/.test(r.msg));
  assert.ok(warn, "a warning names the torn line");
  assert.equal(warn.file, file);
  assert.equal(warn.line, 4);
  assert.ok(fs.readFileSync(file, "utf8").endsWith("}\n"), "file truncated to the last complete line");

  // Next start: the sink appends, and everything reads back cleanly.
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxMs: 0 });
  await sink.append([sampleEvent(4)]);
  await sink.close();
  const after = captureLogger();
  const again = await collect(readAuditLog({ path: file, logger: after.logger }));
  assert.deepEqual(again.map((e) => e.requestId), ["req-0", "req-1", "req-2", "req-4"]);
  assert.equal(after.records.filter((r) => r.level >= 40).length, 0, "no warnings on the second start");
});

test("the sink repairs a torn tail by itself at start-up (even without a reader pass)", async (t) => {
  const file = tempFile(t);
  fs.writeFileSync(file, lines(0, 2) + '{"ts":"2026-01-0');
  const { logger, records } = captureLogger();
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxMs: 0, logger });
  assert.ok(records.some((r) => r.level === 40 && /torn last line/.test(r.msg)));
  await sink.append([sampleEvent(2)]);
  await sink.close();
  const all = await collect(readAuditLog({ path: file }));
  assert.deepEqual(all.map((e) => e.requestId), ["req-0", "req-1", "req-2"]);
});

test("a tail of NUL bytes (file size extended, data blocks never written) is treated as torn", async (t) => {
  const file = tempFile(t);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(lines(0, 2)), Buffer.alloc(4096)]));
  const events = await collect(readAuditLog({ path: file, repair: true }));
  assert.equal(events.length, 2);
  assert.equal(fs.statSync(file).size, Buffer.byteLength(lines(0, 2)));
});

test("a corrupt line in the middle is reported with file:line and skipped; onCorrupt=fail stops with the same position", async (t) => {
  const file = tempFile(t);
  fs.writeFileSync(file, lines(0, 2) + "{garbage}\n" + lines(2, 4));
  const { logger, records } = captureLogger();
  const stats: AuditReadStats = { segments: 0, events: 0, corruptLines: 0, tornBytes: 0 };
  const events = await collect(readAuditLog({ path: file, logger, stats }));
  assert.deepEqual(events.map((e) => e.requestId), ["req-0", "req-1", "req-2", "req-3"]);
  assert.equal(stats.corruptLines, 1);
  const warn = records.find((r) => /corrupt line/.test(r.msg));
  assert.ok(warn);
  assert.equal(warn.file, file);
  assert.equal(warn.line, 3);
  await assert.rejects(collect(readAuditLog({ path: file, onCorrupt: "fail" })), (e: unknown) => {
    assert.ok(e instanceof AuditLogCorruptError);
    assert.equal(e.line, 3);
    assert.match(e.message, /audit\.jsonl:3: not JSON/);
    return true;
  });
});

test("a live read ignores an in-progress last line silently and never truncates", async (t) => {
  const file = tempFile(t);
  const content = lines(0, 2) + '{"ts":';
  fs.writeFileSync(file, content);
  const { logger, records } = captureLogger();
  const events = await collect(readAuditLog({ path: file, logger, live: true, repair: true }));
  assert.equal(events.length, 2);
  assert.equal(records.length, 0);
  assert.equal(fs.readFileSync(file, "utf8"), content);
});

test("lines spanning read chunks, a missing log, and empty lines", async (t) => {
  const file = tempFile(t);
  assert.deepEqual(await collect(readAuditLog({ path: file })), [], "no log yet = no events");
  // > 1 MiB so that lines cross the reader's chunk boundary.
  const big = Array.from({ length: 3000 }, (_, i) => encodeAuditEvent(sampleEvent(i, { requestId: `req-${i}-${"x".repeat(300)}` }))).join("\n");
  fs.writeFileSync(file, big);
  fs.appendFileSync(file, "\n");
  const events = await collect(readAuditLog({ path: file }));
  assert.equal(events.length, 3000);
  assert.equal(events[2999]!.ts, sampleEvent(2999).ts);
});
