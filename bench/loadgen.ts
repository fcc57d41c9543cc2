/**
 * The Node load generator of `npm run bench`, run as its own process (pinned
 * to its own CPU by bench/run.ts) so that it never competes with the server.
 * Speaks gRPC, gRPC-Web and Connect (binary and JSON) over raw node:http2 h2c.
 *
 * Input: one JSON argument (LoadSpec). Output: one JSON line on stdout, with
 * the same field names as the Go load generator of ../shared/bench.
 *
 * Closed loop: `concurrency` callers spread over `conns` connections, each
 * sending its next call when the previous one answers. Open loop: calls go out
 * on a fixed schedule (rate per second) whatever the answers, and latency is
 * measured from the SCHEDULED send time, so queueing (in the server or here)
 * counts; the load generator's own lateness is reported as send lag.
 */
import * as http2 from "node:http2";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { orderRequest, outcome, requestBody, requestHeaders } from "./protocols.js";
import type { OrderShape, Protocol } from "./protocols.js";
import { summarize } from "./stats.js";

export interface LoadSpec {
  readonly port: number;
  readonly protocol: Protocol;
  readonly conns: number;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** 0 = closed loop. */
  readonly rate: number;
  readonly timeoutMs: number;
  readonly order: OrderShape;
  /** Report this process's CPU use and RSS over the window (and an RSS sample per second). */
  readonly serverPid?: number;
  /** Send one call, check it, exit. */
  readonly probe?: boolean;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
const prefix = `b${randomBytes(4).toString("hex")}`;
let seq = 0;

const sessions: http2.ClientHttp2Session[] = [];
for (let i = 0; i < Math.max(1, spec.conns); i++) {
  const s = http2.connect(`http://127.0.0.1:${spec.port}`, { settings: { initialWindowSize: 1 << 20 } });
  s.on("error", () => {});
  sessions.push(s);
}

const headers = requestHeaders(spec.protocol, spec.timeoutMs);

/** One PlaceOrder; resolves with its outcome label. */
function call(session: http2.ClientHttp2Session): Promise<string> {
  const n = seq++;
  const body = requestBody(spec.protocol, orderRequest(spec.order, `${prefix}-${n}`, n));
  return new Promise((resolve) => {
    let req: http2.ClientHttp2Stream;
    try {
      req = session.request(headers);
    } catch {
      resolve("request-failed");
      return;
    }
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on("response", (h) => (resHeaders = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => {});
    req.on("close", () => {
      if (resHeaders[":status"] === undefined) resolve(`reset-${req.rstCode}`);
      else resolve(outcome(spec.protocol, resHeaders, trailers, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    });
    req.end(body);
  });
}

function procStat(pid: number): { cpuS: number; rssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime are fields 14..17 (1-based) of the full line.
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    const rssPages = Number(fields[21]);
    return { cpuS: ticks / 100, rssMb: (rssPages * 4096) / 1048576 };
  } catch {
    return undefined;
  }
}

async function probe(): Promise<void> {
  const r = await call(sessions[0]!);
  for (const s of sessions) s.close();
  if (r !== "ok") {
    console.error(`probe: PlaceOrder over ${spec.protocol} answered ${r}`);
    process.exitCode = 1;
  } else console.log(`probe: PlaceOrder over ${spec.protocol} OK`);
}

async function load(): Promise<void> {
  const t0 = performance.now();
  const windowStart = t0 + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  const lat: number[] = [];
  const lag: number[] = [];
  const rtt: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let sent = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let srv0: { cpuS: number; rssMb: number } | undefined;
  const rssSeries: [number, number][] = [];
  let rssTimer: NodeJS.Timeout | undefined;

  const startWindow = setTimeout(() => {
    cpu0 = process.cpuUsage();
    if (spec.serverPid !== undefined) {
      srv0 = procStat(spec.serverPid);
      rssTimer = setInterval(() => {
        const s = procStat(spec.serverPid!);
        if (s !== undefined) rssSeries.push([Math.round((performance.now() - windowStart) / 1000), Math.round(s.rssMb)]);
      }, 1000);
    }
  }, spec.warmupMs);

  const record = (scheduled: number, sentAt: number, r: string) => {
    const done = performance.now();
    if (done < windowStart || done > windowEnd) return;
    if (r === "ok") {
      ok++;
      lat.push((done - scheduled) * 1000);
      if (spec.rate > 0) {
        lag.push((sentAt - scheduled) * 1000);
        rtt.push((done - sentAt) * 1000);
      }
    } else errors[r] = (errors[r] ?? 0) + 1;
  };

  const inflight = new Set<Promise<void>>();
  if (spec.rate <= 0) {
    const workers: Promise<void>[] = [];
    for (let w = 0; w < spec.concurrency; w++) {
      const session = sessions[w % sessions.length]!;
      workers.push(
        (async () => {
          while (performance.now() < windowEnd) {
            const at = performance.now();
            sent++;
            record(at, at, await call(session));
          }
        })(),
      );
    }
    await Promise.all(workers);
  } else {
    const interval = 1000 / spec.rate;
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (now >= windowEnd) return resolve();
        while (t0 + i * interval <= now) {
          const scheduled = t0 + i * interval;
          const session = sessions[i % sessions.length]!;
          i++;
          sent++;
          const sentAt = performance.now();
          const p: Promise<void> = call(session).then((r) => {
            record(scheduled, sentAt, r);
            inflight.delete(p);
          });
          inflight.add(p);
        }
        // Timers fire about every millisecond at best: calls due in between
        // go out together, late; that lateness is charged to latency (it is
        // measured from the schedule) and reported as send lag.
        setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
      };
      tick();
    });
    await Promise.all(inflight);
  }
  clearTimeout(startWindow);
  if (rssTimer !== undefined) clearInterval(rssTimer);
  const cpu = process.cpuUsage(cpu0);
  const windowS = spec.durationMs / 1000;
  const srv1 = spec.serverPid !== undefined ? procStat(spec.serverPid) : undefined;
  for (const s of sessions) s.close();

  const l = summarize(lat);
  const out: Record<string, unknown> = {
    mode: spec.rate > 0 ? "open" : "closed",
    protocol: spec.protocol,
    target_rate: spec.rate,
    conns: spec.conns,
    concurrency: spec.concurrency,
    duration_s: windowS,
    warmup_s: spec.warmupMs / 1000,
    rps: ok / windowS,
    ok,
    sent,
    errors,
    p50_us: l.p50,
    p90_us: l.p90,
    p99_us: l.p99,
    p999_us: l.p999,
    max_us: l.max,
    mean_us: l.mean,
    loadgen_cpu: (cpu.user + cpu.system) / 1e6 / windowS,
  };
  if (spec.rate > 0) {
    const g = summarize(lag);
    const r = summarize(rtt);
    Object.assign(out, { send_lag_p50_us: g.p50, send_lag_p99_us: g.p99, send_lag_max_us: g.max, rtt_p50_us: r.p50, rtt_p99_us: r.p99 });
  }
  if (srv0 !== undefined && srv1 !== undefined) {
    out.server_cpu = (srv1.cpuS - srv0.cpuS) / windowS;
    out.server_rss_mb = srv1.rssMb;
    out.server_rss_series = rssSeries;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await (spec.probe === true ? probe() : load());
