import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createAuditSink } from "../../../src/adapters/audit/create-audit-sink.js";
import { createAuditFillArchive } from "../../../src/adapters/audit/audit-fill-archive.js";
import { createFillHub } from "../../../src/use-cases/fill-hub.js";
import type { Fill } from "../../../src/domain/order.js";
import { sampleEvent, sampleFill } from "./fixtures.js";

test("after a restart, a subscriber resuming from an old sequence gets the older fills from the JSONL log, then live ones", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fill-archive-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "audit.jsonl");

  // First life: 12 fills, audited (with other events in between), published after durability.
  const audit1 = await createAuditSink({ mode: "fsync", file, batchMaxMs: 0, rotateBytes: 4096 });
  for (let i = 1; i <= 12; i++) {
    await audit1.append([sampleEvent(i), { ts: i, type: "fill", requestId: `r${i}`, fill: sampleFill(BigInt(i)) }]);
  }
  await audit1.close();
  assert.ok(fs.readdirSync(dir).length > 1, "the log rotated into several segments");

  // Second life: the hub starts after the recovered sequence, with an empty ring.
  const audit2 = await createAuditSink({ mode: "fsync", file, batchMaxMs: 0, rotateBytes: 4096 });
  t.after(() => audit2.close());
  const hub = createFillHub({ retain: 4, subscriberBuffer: 10, startAfterSequence: 12n, readArchive: createAuditFillArchive(audit2.read) });
  t.after(() => hub.close());
  assert.equal(hub.nextSequence(), 13n);
  const publishDurably = async (f: Fill) => {
    await audit2.append([{ ts: 0, type: "fill", requestId: "x", fill: f }]);
    hub.publish(f);
  };
  await publishDurably(sampleFill(13n));

  const sub = hub.subscribe({ allowedAccounts: "any", afterSequence: 9n });
  const it = sub[Symbol.asyncIterator]();
  const got: bigint[] = [];
  for (let i = 0; i < 4; i++) got.push((await it.next()).value!.sequence);
  assert.deepEqual(got, [10n, 11n, 12n, 13n]);
  const live = it.next();
  await publishDurably(sampleFill(14n));
  assert.equal((await live).value!.sequence, 14n);
  sub.close();
});
