import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileLockedError, acquireFileLock } from "../../../src/adapters/audit/file-lock.js";
import { createJsonlAuditSink } from "../../../src/adapters/audit/jsonl-sink.js";
import { readAuditLog } from "../../../src/adapters/audit/audit-reader.js";
import type { AuditEvent } from "../../../src/use-cases/audit-sink.js";
import { captureLogger, sampleEvent } from "./fixtures.js";

function tempFile(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-lock-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "audit.jsonl");
}

function writeLock(file: string, owner: { pid: number; host?: string; token?: string }): void {
  fs.writeFileSync(`${file}.lock`, JSON.stringify({ host: os.hostname(), token: "theirs", since: "2026-01-01T00:00:00Z", ...owner }) + "\n");
}

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  assert.equal(r.status, 0);
  return r.pid!;
}

test("the lock file holds our pid; a second open of the same log in this process is refused; release removes it", (t) => {
  const file = tempFile(t);
  const lock = acquireFileLock(file);
  const owner = JSON.parse(fs.readFileSync(`${file}.lock`, "utf8")) as { pid: number; host: string };
  assert.equal(owner.pid, process.pid);
  assert.equal(owner.host, os.hostname());
  assert.throws(() => acquireFileLock(file), (e: unknown) => e instanceof FileLockedError && /already open in this process/.test(e.message));
  lock.release();
  assert.equal(fs.existsSync(`${file}.lock`), false);
  lock.release(); // idempotent
  // Nothing but the lock was ever written beside the log (no temporary file left behind).
  assert.deepEqual(fs.readdirSync(path.dirname(file)), []);
  acquireFileLock(file).release();
});

test("a lock held by a live process stops start-up with a message naming the file, the pid and the way out", (t) => {
  const file = tempFile(t);
  // Our parent is alive and is not us: a real live pid on this host.
  writeLock(file, { pid: process.ppid });
  assert.throws(
    () => acquireFileLock(file),
    (e: unknown) =>
      e instanceof FileLockedError &&
      e.message.includes(`locked by pid ${process.ppid} on ${os.hostname()}`) &&
      e.message.includes("another gateway is using this audit log") &&
      e.message.includes(`delete ${path.resolve(file)}.lock`),
  );
  // Refused without touching the other process's lock.
  assert.equal((JSON.parse(fs.readFileSync(`${file}.lock`, "utf8")) as { pid: number }).pid, process.ppid);
});

test("a lock written on another host cannot be checked and is honoured", (t) => {
  const file = tempFile(t);
  writeLock(file, { pid: deadPid(), host: "some-other-host" });
  assert.throws(() => acquireFileLock(file), (e: unknown) => e instanceof FileLockedError && /another host/.test(e.message));
});

test("a stale lock (its process is gone) is taken over with a warning", (t) => {
  const file = tempFile(t);
  const gone = deadPid();
  writeLock(file, { pid: gone });
  const { logger, records } = captureLogger();
  const lock = acquireFileLock(file, { logger });
  const warn = records.find((r) => r.msg === "audit log: taking over a stale lock");
  assert.ok(warn !== undefined && warn.level === 40, "warned");
  assert.match(String(warn["reason"]), new RegExp(`pid ${gone} is not running`));
  assert.equal((JSON.parse(fs.readFileSync(`${file}.lock`, "utf8")) as { pid: number }).pid, process.pid);
  assert.equal(fs.existsSync(`${file}.lock.takeover`), false, "the takeover marker is removed");
  lock.release();
  assert.equal(fs.existsSync(`${file}.lock`), false);
});

test("a lock with our own pid that we do not hold is stale (a restarted container is pid 1 again)", (t) => {
  const file = tempFile(t);
  writeLock(file, { pid: 4242 });
  const { logger, records } = captureLogger();
  // isAlive would say yes (it is "us"); the pid alone must not keep the gateway down forever.
  const lock = acquireFileLock(file, { logger, pid: 4242, isAlive: () => true });
  assert.ok(records.some((r) => r.msg === "audit log: taking over a stale lock" && /earlier process with the same pid/.test(String(r["reason"]))));
  lock.release();
});

test("a garbled lock file is stale; a takeover in progress by another process is not raced", (t) => {
  const file = tempFile(t);
  fs.writeFileSync(`${file}.lock`, "not json");
  acquireFileLock(file).release();

  writeLock(file, { pid: deadPid() });
  fs.writeFileSync(`${file}.lock.takeover`, JSON.stringify({ pid: process.ppid, host: os.hostname(), token: "t", since: "now" }));
  assert.throws(() => acquireFileLock(file), (e: unknown) => e instanceof FileLockedError && /taking over the stale lock/.test(e.message) && /lock\.takeover/.test(e.message));
  assert.ok(fs.existsSync(`${file}.lock`), "the stale lock is left to the process taking it over");
});

test("release leaves a lock that is no longer ours (deleted by hand and taken by another gateway)", (t) => {
  const file = tempFile(t);
  const lock = acquireFileLock(file);
  fs.rmSync(`${file}.lock`);
  writeLock(file, { pid: process.ppid, token: "someone-else" });
  lock.release();
  assert.equal((JSON.parse(fs.readFileSync(`${file}.lock`, "utf8")) as { token: string }).token, "someone-else");
});

test("the JSONL sink holds the lock while open: a second sink on the same file fails without repairing (truncating) its tail", async (t) => {
  const file = tempFile(t);
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxMs: 0 });
  await sink.append([sampleEvent(1)]);
  // An incomplete last line as a live writer would have mid-batch: the refused opener must not cut it.
  fs.appendFileSync(file, '{"ts":"2026');
  const before = fs.readFileSync(file, "utf8");
  assert.throws(() => createJsonlAuditSink({ path: file, mode: "fsync" }), FileLockedError);
  assert.equal(fs.readFileSync(file, "utf8"), before);
  fs.truncateSync(file, Buffer.byteLength(before) - '{"ts":"2026'.length);
  await sink.close();
  assert.equal(fs.existsSync(`${file}.lock`), false, "released on close");
  const again = createJsonlAuditSink({ path: file, mode: "fsync", batchMaxMs: 0 });
  await again.append([sampleEvent(2)]);
  await again.close();
  const events: AuditEvent[] = [];
  for await (const e of readAuditLog({ path: file })) events.push(e);
  assert.deepEqual(events.map((e) => e.requestId), ["req-1", "req-2"]);
});

test("another process holding the log: a real second process is refused while it lives, and takes over after it is killed", async (t) => {
  const file = tempFile(t);
  const holder = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `const { createJsonlAuditSink } = await import(${JSON.stringify(path.resolve("src/adapters/audit/jsonl-sink.ts"))});
       createJsonlAuditSink({ path: ${JSON.stringify(file)}, mode: "fsync" });
       process.stdout.write("locked\\n");
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  t.after(() => holder.kill("SIGKILL"));
  const [chunk] = (await once(holder.stdout, "data")) as [Buffer];
  assert.equal(chunk.toString().trim(), "locked");
  assert.throws(() => createJsonlAuditSink({ path: file, mode: "fsync" }), (e: unknown) => e instanceof FileLockedError && e.message.includes(`pid ${holder.pid}`));
  // SIGKILL: no clean release; the lock stays behind and is stale.
  holder.kill("SIGKILL");
  await once(holder, "exit");
  assert.ok(fs.existsSync(`${file}.lock`));
  const { logger, records } = captureLogger();
  const sink = createJsonlAuditSink({ path: file, mode: "fsync", logger });
  assert.ok(records.some((r) => r.msg === "audit log: taking over a stale lock"));
  await sink.close();
});
