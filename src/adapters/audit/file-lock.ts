import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";

/**
 * An exclusive lock on the audit log: `<file>.lock`, created with O_EXCL ("wx") and holding the
 * owner's pid, host name and a random token. Two gateways appending to one file would interleave
 * batches and the second one's start-up repair could truncate the first one's in-progress line,
 * so the second one must not start.
 *
 * A lock left by a process that is gone (crash, SIGKILL) is stale and is taken over with a
 * warning; taking over goes through a short-lived `<file>.lock.takeover` (also O_EXCL) so two
 * gateways starting at once after a crash cannot both take the stale lock. A lock held by a live
 * process, or written on another host (its pid cannot be checked from here), stops start-up with a
 * message naming the lock file and its owner.
 *
 * The lock is advisory: only gateways honour it. It is released (the file removed, if it is
 * still ours) by release(); a crashed process leaves it behind, to be taken over next time.
 */
export interface FileLock {
  readonly path: string;
  /** Removes the lock file if it still holds our token. Idempotent. */
  release(): void;
}

/** Start-up refused: another live process holds the lock (or it cannot be checked). */
export class FileLockedError extends Error {
  override readonly name = "FileLockedError";
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: string;
}

export interface FileLockDeps {
  readonly logger?: Logger;
  /** Whether a pid is alive on this host (tests). Default: process.kill(pid, 0). */
  readonly isAlive?: (pid: number) => boolean;
  /** Our pid and host (tests). */
  readonly pid?: number;
  readonly host?: string;
}

/**
 * Locks held by this process, by lock path. Process-wide on purpose: a lock whose pid is ours but
 * that we do not hold is a stale one left by an earlier process that had the same pid (pid 1 in a
 * container restarted on the same volume), and the only way to tell is to know what we hold.
 */
const heldHere = new Set<string>();

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user: alive.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(file: string): LockOwner | undefined | "unreadable" {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === "string" && typeof o.token === "string") {
      return { pid: o.pid, host: o.host, token: o.token, since: typeof o.since === "string" ? o.since : "?" };
    }
  } catch {
    // fall through
  }
  // Garbled: written by hand, or by the O_EXCL fallback of a process that died before writing.
  return "unreadable";
}

/**
 * Creates `file` holding `text`, only if it does not exist; false if it does. The text is written
 * to a private temporary file first and hard-linked into place (link(2) fails with EEXIST like
 * O_EXCL), so the lock never exists empty: a reader never mistakes a lock being created for a
 * garbled, stale one. Where hard links are not supported, O_EXCL create + write.
 */
function createExclusive(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  fs.writeFileSync(tmp, text, { flag: "wx", mode: 0o644 });
  try {
    const fd = fs.openSync(tmp, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let fd: number;
  try {
    fd = fs.openSync(file, "wx", 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function describe(o: LockOwner): string {
  return `pid ${o.pid} on ${o.host} since ${o.since}`;
}

/**
 * Takes the lock for `target` (the lock file is `target + ".lock"`). Synchronous: it runs once
 * at start-up, before the log is repaired or opened. Throws FileLockedError when another live
 * gateway holds it.
 */
export function acquireFileLock(target: string, deps: FileLockDeps = {}): FileLock {
  const lockPath = path.resolve(`${target}.lock`);
  const takeoverPath = `${lockPath}.takeover`;
  const pid = deps.pid ?? process.pid;
  const host = deps.host ?? os.hostname();
  const isAlive = deps.isAlive ?? defaultIsAlive;
  const logger = deps.logger;
  if (heldHere.has(lockPath)) {
    throw new FileLockedError(`${target} is already open in this process (lock ${lockPath})`);
  }
  const me: LockOwner = { pid, host, token: randomUUID(), since: new Date().toISOString() };
  const text = JSON.stringify(me) + "\n";
  const hint = `If no gateway is using ${target}, delete ${lockPath} and start again.`;

  /** Why `owner` does not hold the lock any more, or undefined if it may. */
  const staleReason = (owner: LockOwner | "unreadable"): string | undefined => {
    if (owner === "unreadable") return "unreadable lock file";
    if (owner.host !== host) return undefined;
    if (owner.pid === pid) return `pid ${pid} is this process, which did not take it: left by an earlier process with the same pid`;
    return isAlive(owner.pid) ? undefined : `pid ${owner.pid} is not running`;
  };

  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(lockPath, text)) {
      heldHere.add(lockPath);
      return makeLock(lockPath, me.token);
    }
    const owner = readOwner(lockPath);
    if (owner === undefined) continue; // released meanwhile: try again
    const reason = staleReason(owner);
    if (reason === undefined) {
      const who = owner === "unreadable" ? "another process" : describe(owner);
      const where = owner !== "unreadable" && owner.host !== host ? ` (another host: its pid cannot be checked from ${host})` : "";
      throw new FileLockedError(`${target} is locked by ${who}${where}: another gateway is using this audit log. ${hint}`);
    }
    // Stale. Serialise takeovers so two starting gateways cannot both take it.
    if (!createExclusive(takeoverPath, text)) {
      const t = readOwner(takeoverPath);
      const tWho = t === undefined || t === "unreadable" ? "another process" : describe(t);
      throw new FileLockedError(
        `${target}: ${tWho} is taking over the stale lock ${lockPath} right now (${takeoverPath} exists). ` +
          `If no gateway is starting, delete ${takeoverPath} and start again.`,
      );
    }
    try {
      // Still the same stale owner? Anyone who took it meanwhile went through wx and is live.
      const again = readOwner(lockPath);
      const same =
        again === owner ||
        (again !== undefined && again !== "unreadable" && owner !== "unreadable" && again.token === owner.token);
      if (!same) continue;
      logger?.warn({ lock: lockPath, previous: owner === "unreadable" ? owner : describe(owner), reason }, "audit log: taking over a stale lock");
      fs.rmSync(lockPath, { force: true });
      if (createExclusive(lockPath, text)) {
        heldHere.add(lockPath);
        return makeLock(lockPath, me.token);
      }
    } finally {
      fs.rmSync(takeoverPath, { force: true });
    }
  }
  throw new FileLockedError(`${target}: could not take the lock ${lockPath} (it keeps changing hands). ${hint}`);
}

function makeLock(lockPath: string, token: string): FileLock {
  let released = false;
  return {
    path: lockPath,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(lockPath);
      const owner = readOwner(lockPath);
      // Someone deleted ours by hand and another gateway took it: that one is not ours to remove.
      if (owner !== undefined && owner !== "unreadable" && owner.token === token) fs.rmSync(lockPath, { force: true });
    },
  };
}
