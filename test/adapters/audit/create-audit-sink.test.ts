import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createAuditSink } from "../../../src/adapters/audit/create-audit-sink.js";
import { encodeAuditEvent } from "../../../src/adapters/audit/audit-codec.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import { captureLogger, sampleEvent } from "./fixtures.js";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-factory-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function collect(it: AsyncIterable<AuditEvent>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

test("off: nothing recorded, callers answer at once, nothing to read", async () => {
  const { logger, records } = captureLogger();
  const audit = await createAuditSink({ mode: "off" }, { logger });
  assert.equal(audit.mode, "off");
  assert.equal(audit.append([sampleEvent(1)]), null);
  assert.deepEqual(await collect(audit.read()), []);
  assert.ok(records.some((r) => r.level === 40 && /audit log is off/.test(r.msg)), "running without audit is loud");
  await audit.close();
});

test("jsonl fsync (the default backend): repairs a crash tail at creation, reads back the log, appends durably", async (t) => {
  const file = path.join(tempDir(t), "data", "audit.jsonl");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encodeAuditEvent(sampleEvent(0)) + '{"ts":"20');
  const { logger, records } = captureLogger();
  const audit = await createAuditSink({ mode: "fsync", file, batchMaxLines: 4, batchMaxMs: 1, rotateBytes: 0 }, { logger });
  assert.ok(records.some((r) => /torn last line/.test(r.msg)));
  assert.deepEqual((await collect(audit.read())).map((e) => e.requestId), ["req-0"]);
  const p = audit.append([sampleEvent(1)]);
  assert.ok(p instanceof Promise);
  await p;
  await audit.close();
  assert.deepEqual((await collect(audit.read())).map((e) => e.requestId), ["req-0", "req-1"]);
  assert.ok(records.some((r) => r.msg === "audit log read" && r.events === 1), "recovery reports what it read");
});

test("jsonl with onCorrupt=fail refuses a damaged log", async (t) => {
  const file = path.join(tempDir(t), "audit.jsonl");
  fs.writeFileSync(file, "not json\n" + encodeAuditEvent(sampleEvent(0)));
  const audit = await createAuditSink({ mode: "buffered", file, onCorrupt: "fail" });
  await assert.rejects(collect(audit.read()), /audit\.jsonl:1/);
  await audit.close();
});

test("postgres backend without a URL is a clear start-up error", async () => {
  await assert.rejects(createAuditSink({ mode: "fsync", backend: "postgres" }), /AUDIT_PG_URL/);
});

test("stats expose the sink's counters for metrics", async (t) => {
  const file = path.join(tempDir(t), "audit.jsonl");
  const audit = await createAuditSink({ mode: "fsync", file });
  await audit.append([sampleEvent(1), sampleEvent(2)]);
  const s = audit.stats();
  assert.equal(s.lines, 2);
  assert.equal(s.fsyncs, s.batches);
  await audit.close();
});
