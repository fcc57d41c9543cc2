import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own (initdb into a temp dir, on a free port), for tests that
 * stop and start the server: the machine's shared server is never touched. The server refuses to
 * run as root, so it runs as the `postgres` user.
 */
export interface PrivatePostgres {
  readonly url: string;
  readonly port: number;
  /** pg_ctl stop: `fast` ends sessions cleanly (57P01), `immediate` is a crash (recovery on start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stops it (if running) and removes its files. */
  destroy(): Promise<void>;
}

function findBin(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!fs.existsSync(base)) return undefined;
  for (const v of fs.readdirSync(base).sort().reverse()) {
    const bin = path.join(base, v, "bin");
    if (fs.existsSync(path.join(bin, "initdb")) && fs.existsSync(path.join(bin, "pg_ctl"))) return bin;
  }
  return undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    return {
      uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
      gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
    };
  } catch {
    return undefined;
  }
}

/** Why a private cluster cannot be made here (a skip reason), or undefined. */
export function privatePostgresUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (to run initdb/pg_ctl as the postgres user)";
  if (findBin() === undefined) return "no /usr/lib/postgresql/*/bin/initdb";
  if (postgresUser() === undefined) return "no postgres user";
  return undefined;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = findBin()!;
  const user = postgresUser()!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "private-pg-"));
  fs.chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, "data");
  const port = await freePort();
  const as = { uid: user.uid, gid: user.gid, env: { PATH: process.env["PATH"] ?? "", LANG: "C" } };
  await run(path.join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"], as);
  // fsync off: a scratch cluster; the test is about connections, not the server's durability.
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  let running = false;
  const start = async (): Promise<void> => {
    await run(path.join(bin, "pg_ctl"), ["-D", data, "-o", opts, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"], as);
    running = true;
  };
  const stop = async (mode: "fast" | "immediate" = "fast"): Promise<void> => {
    await run(path.join(bin, "pg_ctl"), ["-D", data, "-m", mode, "-w", "-t", "60", "stop"], as);
    running = false;
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async destroy() {
      if (running) await stop("immediate").catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
