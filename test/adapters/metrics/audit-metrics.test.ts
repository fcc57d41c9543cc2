import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Registry } from "prom-client";
import { createJsonlAuditSink, type AuditFileIo } from "../../../src/adapters/audit/jsonl-sink.js";
import { createAuditMetrics } from "../../../src/adapters/metrics/metrics.js";
import { sampleEvent } from "../audit/fixtures.js";

async function value(registry: Registry, name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  assert.ok(m !== undefined, name);
  const v = (m.values as { value: number; metricName?: string }[]).find((x) => x.metricName === undefined || x.metricName === name || x.metricName === `${name}_sum`);
  return v?.value ?? 0;
}

test("audit metrics: committed lines and batches, batch sizes, commit time, failed commits", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-metrics-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let failNext = false;
  // Real writes and fsyncs, with one injected EIO.
  const io: AuditFileIo = {
    write: (fd, buf, off, len, cb) => {
      if (failNext) {
        failNext = false;
        return process.nextTick(cb, Object.assign(new Error("EIO"), { code: "EIO" }), 0);
      }
      fs.write(fd, buf, off, len, null, cb);
    },
    fsync: (fd, cb) => fs.fsync(fd, cb),
  };
  const registry = new Registry();
  const metrics = createAuditMetrics(registry);
  const sink = createJsonlAuditSink({ path: path.join(dir, "audit.jsonl"), mode: "fsync", batchMaxLines: 3, batchMaxMs: 60_000, io, observer: metrics });
  // Two full batches of 3 (batchMaxLines), the second one failing.
  await sink.append([sampleEvent(1), sampleEvent(2), sampleEvent(3)]);
  failNext = true;
  await assert.rejects(sink.append([sampleEvent(4), sampleEvent(5), sampleEvent(6)]) as Promise<void>, /EIO/);
  const last = sink.append([sampleEvent(7)]);
  await sink.close(); // commits the pending single line at once
  await last;
  assert.equal(await value(registry, "audit_events_total"), 4, "only committed lines count");
  assert.equal(await value(registry, "audit_batches_total"), 2);
  assert.equal(await value(registry, "audit_errors_total"), 1);
  assert.equal(await value(registry, "audit_batch_lines"), 4, "sum of observed batch sizes: 3 + 1");
  assert.ok((await value(registry, "audit_commit_seconds")) > 0, "write + fsync time is observed");
  const text = await registry.metrics();
  assert.match(text, /^audit_batch_lines_bucket\{le="1"\} 1$/m);
  assert.match(text, /^audit_batch_lines_bucket\{le="4"\} 2$/m);
  assert.equal(sink.stats().lines, 4, "the sink's own counters agree");
});

test("audit metrics made twice on one registry (a core rebuilt in the same process) share their series", async () => {
  const registry = new Registry();
  const a = createAuditMetrics(registry);
  const b = createAuditMetrics(registry);
  a.committed(2, 0.001);
  b.committed(3, 0.001);
  b.failed(1);
  assert.equal(await value(registry, "audit_events_total"), 5);
  assert.equal(await value(registry, "audit_errors_total"), 1);
});
