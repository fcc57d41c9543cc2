import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createJsonlAuditSink, type AuditFileIo } from "../../../src/adapters/audit/jsonl-sink.js";
import { listSegmentsSync, readAuditLog } from "../../../src/adapters/audit/audit-reader.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import { captureLogger, sampleEvent } from "./fixtures.js";

function tempFile(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-sink-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "sub", "audit.jsonl");
}

/** Real node:fs underneath, but fsyncs are counted and can be held back until released. */
function spyIo() {
  const held: Array<() => void> = [];
  const s = { writes: 0, fsyncs: 0, hold: false, failNextWrite: undefined as NodeJS.ErrnoException | undefined, partialNextWrite: false };
  const io: AuditFileIo = {
    write(fd, buf, off, len, cb) {
      s.writes++;
      if (s.failNextWrite !== undefined) {
        const e = s.failNextWrite;
        s.failNextWrite = undefined;
        if (s.partialNextWrite) {
          // Half the batch reaches the file before the error: the sink must cut it off.
          fs.writeSync(fd, buf, off, Math.floor(len / 2));
        }
        return void setImmediate(() => cb(e, 0));
      }
      fs.write(fd, buf, off, len, null, cb);
    },
    fsync(fd, cb) {
      s.fsyncs++;
      const run = () => fs.fsync(fd, cb);
      if (s.hold) held.push(run);
      else run();
    },
  };
  return { io, s, release: () => held.splice(0).forEach((f) => f()), heldCount: () => held.length };
}

async function readAll(p: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of readAuditLog({ path: p })) out.push(e);
  return out;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test("fsync mode: N lines make one batch, one write and one fsync; callers resolve only after that fsync", async (t) => {
  const file = tempFile(t);
  const { io, s, release, heldCount } = spyIo();
  s.hold = true;
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxLines: 8, batchMaxMs: 60_000, io });
  t.after(async () => {
    s.hold = false;
    release();
    await sink.close();
  });
  let resolved = 0;
  const ps: Promise<void>[] = [];
  for (let i = 0; i < 8; i++) {
    const p = sink.append([sampleEvent(i)]);
    assert.ok(p !== null, "fsync mode returns a promise");
    ps.push(p.then(() => void resolved++));
  }
  await until(() => heldCount() === 1, "the fsync to start");
  assert.equal(s.writes, 1, "one write for the batch");
  assert.equal(s.fsyncs, 1, "one fsync for the batch");
  // The data is written but not yet durable: nobody may be answered.
  await new Promise((r) => setImmediate(r));
  assert.equal(resolved, 0, "no caller resolves before its fsync");
  s.hold = false;
  release();
  await Promise.all(ps);
  assert.equal(resolved, 8);
  assert.equal(sink.stats().batches, 1);
  assert.deepEqual(await readAll(file), Array.from({ length: 8 }, (_, i) => sampleEvent(i)));
});

test("fsync mode: callers of one batch share one promise", async (t) => {
  const file = tempFile(t);
  const { io, s } = spyIo();
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxLines: 3, batchMaxMs: 60_000, io });
  t.after(() => sink.close());
  const a = sink.append([sampleEvent(0)]);
  const b = sink.append([sampleEvent(1)]);
  assert.equal(a, b, "same batch, same promise");
  const c = sink.append([sampleEvent(2)]); // the third line closes the batch
  assert.equal(c, a);
  await c;
  assert.equal(s.fsyncs, 1);
  const d = sink.append([sampleEvent(3)]);
  assert.notEqual(d, a, "a new batch after the commit");
});

test("fsync mode: a partial batch commits when batchMaxMs expires; lines arriving during a commit form the next batch", async (t) => {
  const file = tempFile(t);
  const { io, s, release, heldCount } = spyIo();
  s.hold = true;
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxLines: 1000, batchMaxMs: 1, io });
  t.after(async () => {
    s.hold = false;
    release();
    await sink.close();
  });
  const first = [sink.append([sampleEvent(0)]), sink.append([sampleEvent(1), sampleEvent(2)])];
  await until(() => heldCount() === 1, "the timer-driven commit");
  // One commit in flight at a time: these wait for the next batch.
  const second = [sink.append([sampleEvent(3)]), sink.append([sampleEvent(4)])];
  assert.notEqual(second[0], first[0]);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(s.fsyncs, 1, "no second commit while the first is in flight");
  s.hold = false;
  release();
  await Promise.all([...first, ...second]);
  assert.ok(s.fsyncs <= 3, `${s.fsyncs} fsyncs for 2 waves of lines`);
  assert.equal(s.fsyncs, s.writes);
  assert.equal((await readAll(file)).length, 5);
});

test("fsync mode: a failed write rejects its callers, is logged, leaves no torn line, and the next batch works", async (t) => {
  const file = tempFile(t);
  const { io, s } = spyIo();
  const { logger, records } = captureLogger();
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxLines: 2, batchMaxMs: 60_000, io, logger });
  t.after(() => sink.close());
  await sink.append([sampleEvent(0), sampleEvent(1)]);
  s.failNextWrite = Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
  s.partialNextWrite = true;
  await assert.rejects(sink.append([sampleEvent(2), sampleEvent(3)]) as Promise<void>, /no space/);
  assert.ok(records.some((r) => r.level === 50 && /audit log write failed/.test(r.msg)), "the failure is logged");
  await sink.append([sampleEvent(4), sampleEvent(5)]);
  const text = fs.readFileSync(file, "utf8");
  assert.ok(text.endsWith("\n"));
  assert.deepEqual((await readAll(file)).map((e) => e.requestId), ["req-0", "req-1", "req-4", "req-5"]);
  assert.equal(sink.stats().errors, 1);
});

test("buffered mode: append returns null, lines reach the file, close flushes", async (t) => {
  const file = tempFile(t);
  const { io, s } = spyIo();
  const sink = createJsonlAuditSink({ path: file, mode: "buffered", io });
  for (let i = 0; i < 100; i++) assert.equal(sink.append([sampleEvent(i)]), null);
  await sink.close();
  assert.equal(s.fsyncs, 0, "buffered mode never fsyncs per batch");
  assert.ok(s.writes < 100, `lines are coalesced (${s.writes} writes)`);
  assert.equal((await readAll(file)).length, 100);
  assert.throws(() => sink.append([sampleEvent(1)]), /closed/);
});

test("close flushes a pending fsync batch, and appends after close fail", async (t) => {
  const file = tempFile(t);
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxLines: 1000, batchMaxMs: 60_000 });
  const p = sink.append([sampleEvent(1)]);
  await sink.close();
  await p;
  assert.equal((await readAll(file)).length, 1);
  await assert.rejects(sink.append([sampleEvent(2)]) as Promise<void>, /closed/);
  await sink.close(); // idempotent
});

test("rotation: the file rolls over by size into numbered segments and the reader reads them all in order", async (t) => {
  const file = tempFile(t);
  const lineBytes = Buffer.byteLength(
    // every sampleEvent(i) for i < 10 has the same length
    (await import("../../../src/adapters/audit/audit-codec.js")).encodeAuditEvent(sampleEvent(1)),
  );
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxLines: 1, batchMaxMs: 0, rotateBytes: lineBytes * 3 });
  for (let i = 0; i < 10; i++) await sink.append([sampleEvent(i)]);
  await sink.close();
  const segs = listSegmentsSync(file);
  assert.equal(segs.length, 4, segs.map((x) => x.file).join(","));
  assert.deepEqual(segs.slice(0, 3).map((x) => path.basename(x.file)), ["audit.jsonl.000001", "audit.jsonl.000002", "audit.jsonl.000003"]);
  for (const sgm of segs.slice(0, 3)) assert.ok(fs.statSync(sgm.file).size <= lineBytes * 3);
  assert.deepEqual((await readAll(file)).map((e) => e.requestId), Array.from({ length: 10 }, (_, i) => `req-${i}`));
  // A restarted sink continues numbering after the existing segments.
  const again = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxLines: 1, batchMaxMs: 0, rotateBytes: lineBytes * 3 });
  for (let i = 10; i < 13; i++) await again.append([sampleEvent(i)]);
  await again.close();
  assert.equal(path.basename(listSegmentsSync(file).at(-2)!.file), "audit.jsonl.000004");
  assert.equal((await readAll(file)).length, 13);
});

test("buffered mode: a failed write is logged (nobody waits on it) and later lines still land on a clean line", async (t) => {
  const file = tempFile(t);
  const { io, s } = spyIo();
  const { logger, records } = captureLogger();
  const sink = createJsonlAuditSink({ path: file, mode: "buffered", io, logger });
  s.failNextWrite = Object.assign(new Error("EIO"), { code: "EIO" });
  s.partialNextWrite = true;
  assert.equal(sink.append([sampleEvent(0), sampleEvent(1)]), null);
  await until(() => records.some((r) => /audit log write failed/.test(r.msg)), "the failure to be logged");
  sink.append([sampleEvent(2)]);
  await sink.close();
  assert.deepEqual((await readAll(file)).map((e) => e.requestId), ["req-2"]);
});

test("buffered mode: a failed write is reported to onBackgroundError (cause and line count); fsync mode never calls it", async (t) => {
  const file = tempFile(t);
  const { io, s } = spyIo();
  const heard: { cause: unknown; lines: number }[] = [];
  const sink = createJsonlAuditSink({ path: file, mode: "buffered", io, onBackgroundError: (cause, lines) => heard.push({ cause, lines }) });
  sink.append([sampleEvent(0)]);
  await until(() => s.writes === 1, "the first write");
  assert.equal(heard.length, 0, "a good write is not reported");
  const enospc = Object.assign(new Error("ENOSPC"), { code: "ENOSPC" });
  s.failNextWrite = enospc;
  assert.equal(sink.append([sampleEvent(1), sampleEvent(2)]), null);
  await until(() => heard.length === 1, "the failure to be reported");
  assert.equal(heard[0]!.cause, enospc);
  assert.equal(heard[0]!.lines, 2);
  await sink.close();

  // fsync mode: the callers are rejected and name their orders; the hook stays quiet.
  const file2 = tempFile(t);
  const spy2 = spyIo();
  const quiet: unknown[] = [];
  const durable = createJsonlAuditSink({ path: file2, mode: "fsync", io: spy2.io, onBackgroundError: (c) => quiet.push(c) });
  spy2.s.failNextWrite = enospc;
  await assert.rejects(durable.append([sampleEvent(3)]) as Promise<void>, /ENOSPC/);
  await durable.close();
  assert.deepEqual(quiet, []);
});

test("buffered mode: a deleted audit file is noticed by a later batch (checked at most every 100 ms) and reported, and every batch after it too", async (t) => {
  const file = tempFile(t);
  const heard: unknown[] = [];
  const sink = createJsonlAuditSink({ path: file, mode: "buffered", onBackgroundError: (cause) => heard.push(cause) });
  t.after(() => sink.close());
  assert.equal(sink.append([sampleEvent(0)]), null);
  fs.unlinkSync(file);
  // Batches keep coming (each answered at once); one of them, within the check interval, finds the file gone.
  let n = 1;
  const deadline = Date.now() + 5000;
  while (heard.length === 0) {
    if (Date.now() > deadline) assert.fail("the deleted file was never noticed");
    sink.append([sampleEvent(n++)]);
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal((heard[0] as Error).name, "AuditFileVanishedError");
  const before = heard.length;
  sink.append([sampleEvent(n++)]);
  await until(() => heard.length > before, "the next batch to be refused too");
});

test("buffered mode: a throwing onBackgroundError does not stop later batches", async (t) => {
  const file = tempFile(t);
  const { io, s } = spyIo();
  const sink = createJsonlAuditSink({
    path: file,
    mode: "buffered",
    io,
    onBackgroundError: () => {
      throw new Error("listener bug");
    },
  });
  s.failNextWrite = Object.assign(new Error("EIO"), { code: "EIO" });
  sink.append([sampleEvent(0)]);
  await until(() => sink.stats().errors === 1, "the failure");
  sink.append([sampleEvent(1)]);
  await sink.close();
  assert.deepEqual((await readAll(file)).map((e) => e.requestId), ["req-1"]);
});

test("an append that cannot be encoded throws and leaves none of its lines; reused batch buffers keep every later line intact", async (t) => {
  const file = tempFile(t);
  const { io, s } = spyIo();
  const sink = createJsonlAuditSink({ path: file, mode: "buffered", io });
  assert.equal(sink.append([sampleEvent(0)]), null);
  assert.throws(() => sink.append([sampleEvent(1), sampleEvent(2, { ts: Number.NaN })]), RangeError);
  // Lines of varying length over many batches: a recycled buffer must never leak an earlier batch's bytes.
  let n = 3;
  // Each round's batch is written before the next round starts, so the sink's two or three
  // buffers are reused many times over.
  for (let round = 0; round < 40; round++) {
    const before = sink.stats().batches;
    for (let i = 0; i < (round % 5) + 1; i++, n++) sink.append([sampleEvent(n, { requestId: `req-${n}-${"z".repeat((n * 37) % 300)}` })]);
    await until(() => sink.stats().batches > before, `round ${round}'s batch`);
  }
  await sink.close();
  assert.ok(s.writes >= 40, `one batch per round at least (${s.writes} writes)`);
  const got = await readAll(file);
  const want = [0, ...Array.from({ length: n - 3 }, (_, i) => i + 3)];
  assert.deepEqual(
    got.map((e) => e.requestId.split("-").slice(0, 2).join("-")),
    want.map((i) => `req-${i}`),
  );
  for (const e of got.slice(1)) {
    const i = Number(e.requestId.split("-")[1]);
    assert.equal(e.requestId, `req-${i}-${"z".repeat((i * 37) % 300)}`);
  }
});

// Issue 18 item 1: a log file deleted or replaced under a running gateway used to take
// acknowledged orders into an inode nobody reads at the next start.
test("the audit file deleted while open: the next batch is refused (logged, naming where the open file is), later ones too; no new file is made", async (t) => {
  const file = tempFile(t);
  const { logger, records } = captureLogger();
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", logger });
  t.after(() => sink.close());
  await sink.append([sampleEvent(0)]);
  fs.unlinkSync(file);
  await assert.rejects(sink.append([sampleEvent(1)]) as Promise<void>, (e: Error) => e.name === "AuditFileVanishedError" && /deleted/.test(e.message));
  const logged = records.find((r) => r.level === 50 && /is no longer the file this gateway writes/.test(r.msg));
  assert.ok(logged !== undefined, "an error line says so");
  assert.match(String(logged["openFile"]), new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
  assert.match(String(logged["nowAt"]), /\(deleted\)$/);
  // Sticky: the sink never opens a fresh file by itself, even once a file is back at the path.
  fs.writeFileSync(file, "");
  await assert.rejects(sink.append([sampleEvent(2)]) as Promise<void>, /no longer the file/);
  assert.equal(fs.readFileSync(file, "utf8"), "", "nothing went into the new file");
  // Every line is still in the open (deleted) file: the operator's copy, as the README says.
  const copy = path.join(path.dirname(file), "copied.jsonl");
  fs.copyFileSync(String(logged["openFile"]), copy);
  assert.deepEqual((await readAll(copy)).map((e) => e.requestId), ["req-0", "req-1", "req-2"]);
  assert.equal(sink.stats().errors, 2);
});

test("the audit file renamed and replaced while open (buffered too): refused, reported, the replacement is never written or rotated", async (t) => {
  for (const mode of ["fsync", "buffered"] as const) {
    const file = tempFile(t);
    const { logger, records } = captureLogger();
    const heard: unknown[] = [];
    // One sample line is 669 bytes: the second line fits, the third would rotate. Buffered mode
    // checks every batch here (its default interval is tested above).
    const sink = createJsonlAuditSink({ path: file, mode, logger, rotateBytes: 1500, bufferedCheckMs: 0, onBackgroundError: (cause) => heard.push(cause) });
    const p0 = sink.append([sampleEvent(0)]);
    if (p0 !== null) await p0;
    await until(() => sink.stats().batches === 1, "the first batch");
    const moved = `${file}.moved`;
    fs.renameSync(file, moved);
    fs.writeFileSync(file, "someone else's file\n");
    const p1 = sink.append([sampleEvent(1)]);
    if (mode === "fsync") await assert.rejects(p1 as Promise<void>, /renamed or replaced/);
    else await until(() => heard.length === 1, "the background failure");
    if (mode === "buffered") assert.match(String(heard[0]), /renamed or replaced/);
    const logged = records.find((r) => r.level === 50 && /is no longer the file this gateway writes/.test(r.msg));
    assert.equal(logged?.["nowAt"], moved, `${mode}: the log line says where the open file is now`);
    // Over rotateBytes: a rotation would rename the replacement into a segment; it must not happen.
    const p2 = sink.append([sampleEvent(2), sampleEvent(3)]);
    if (p2 !== null) await assert.rejects(p2, /no longer the file/);
    await sink.close();
    assert.equal(fs.readFileSync(file, "utf8"), "someone else's file\n");
    assert.deepEqual(listSegmentsSync(file).filter((s) => Number.isFinite(s.index)), []);
    assert.equal(sink.stats().rotations, 0);
    assert.deepEqual((await readAll(moved)).map((e) => e.requestId), ["req-0", "req-1", "req-2", "req-3"]);
  }
});

test("rotation: the check follows the new active file, and a rotation never renames a file that is not the sink's", async (t) => {
  // One sample line is 669 bytes: with 1500, the third line rotates, the fifth rotates again.
  const a = tempFile(t);
  const sinkA = createJsonlAuditSink({ path: a, mode: "fsync", rotateBytes: 1500 });
  t.after(() => sinkA.close());
  for (let i = 0; i < 3; i++) await sinkA.append([sampleEvent(i)]);
  assert.equal(sinkA.stats().rotations, 1, "and no false alarm on the new file");
  fs.unlinkSync(a);
  await assert.rejects(sinkA.append([sampleEvent(9)]) as Promise<void>, /deleted/);

  const b = tempFile(t);
  const sinkB = createJsonlAuditSink({ path: b, mode: "fsync", rotateBytes: 1500 });
  t.after(() => sinkB.close());
  for (let i = 0; i < 4; i++) await sinkB.append([sampleEvent(i)]);
  fs.renameSync(b, `${b}.moved`);
  fs.writeFileSync(b, "theirs\n");
  // This batch is due to rotate first: the rotation sees the path is not its file and stands down.
  await assert.rejects(sinkB.append([sampleEvent(9)]) as Promise<void>, /renamed or replaced/);
  assert.equal(sinkB.stats().rotations, 1);
  assert.equal(fs.readFileSync(b, "utf8"), "theirs\n");
  assert.deepEqual((await readAll(`${b}.moved`)).map((e) => e.requestId), ["req-2", "req-3", "req-9"]);
});
