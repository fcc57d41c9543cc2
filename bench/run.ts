/**
 * `npm run bench`: the project's own benchmark. Starts the gateway as in
 * production (compiled JavaScript from dist/ when built, else tsx), pinned to
 * one CPU, and drives PlaceOrder over gRPC, gRPC-Web and Connect (binary and
 * JSON) from a load generator pinned to another CPU, closed loop and open loop
 * at the given rates. Every request's latency is kept (exact percentiles).
 * Prints a table and saves it, with the raw JSON lines and an SVG chart of
 * latency against offered load, under bench/results/ (git-ignored).
 *
 *   npm run bench -- --help
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, openSync, closeSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { protocols } from "./protocols.js";
import type { Protocol } from "./protocols.js";
import type { LoadSpec } from "./loadgen.js";
import { PEER as PEER_NAME, renderChart, renderTable } from "./report.js";
import type { RunResult } from "./report.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const goLoadgen = join(root, "..", "shared", "bench", ".build", "loadgen");
const peerServer = join(root, "..", "shared", "bench", "peer-grpc-js", "server.js");
const peerReady = () => existsSync(peerServer) && existsSync(join(dirname(peerServer), "node_modules", "@grpc", "grpc-js"));

const help = `usage: npm run bench -- [options]

  --protocols LIST     grpc,grpc-web,connect,connect-json            [all four]
  --rates LIST         0 = closed loop, R = open loop at R req/s       [0]
  --duration S         measured seconds per run                        [10]
  --warmup S           seconds of load before the window               [2]
  --conns N            HTTP/2 connections                              [4]
  --concurrency N      calls in flight (closed loop)                   [64]
  --timeout MS         per-call deadline sent to the server, 0 = none  [10000]
  --audit MODE         AUDIT_MODE: buffered | fsync | off              [buffered]
  --fast-path on|off   FAST_PATH of the gateway                        [on]
  --node-flags FLAGS   Node/V8 flags of the server, "" = none      [those of \`npm start\`]
  --log-level L        LOG_LEVEL of the server                         [info]
  --rate-limit-rps R   RATE_LIMIT_RPS (the interceptor stays in the chain) [1000000000]
  --grpc-loadgen W     go | node: who drives gRPC (go = ../shared/bench/.build/loadgen) [go if built]
  --server-cpu C       taskset CPU of the server                       [0]
  --loadgen-cpu C      taskset CPU of the load generator               [1]
  --build              run \`npm run build\` first (else dist/ if present and newer than src/, or tsx)
  --use-dist           run dist/ even if older than src/ (others are editing while you measure)
  --entry FILE         the server's entry module; dist/<entry>.js when built [src/main.ts]
  --server-cmd CMD     shell command starting the server instead (reads PORT, AUDIT_FILE, AUDIT_MODE)
  --port P             server port                                     [50171]
  --venue V  --symbol S  --type market|limit                           [paper, BTC-USD, market]
  --repeat N           run the whole sequence N times (rounds); closed-loop ratios to gRPC per round and their median [1]
  --peer auto|on|off   also run the grpc-js reference peer (../shared/bench/peer-grpc-js, on this Node, same
                       audit mode, driven over gRPC) in every round and rate, and print each protocol's
                       ratio to it per round: rps (closed loop), p99 (open loop), as compare.sh does
                       [auto: on when the peer is set up (../shared/bench/setup.sh)]
  --label TEXT         free text saved with the results
  --fill-latency       instead: venue fill -> StreamFills latency, push vs polling (bench/fill-latency.ts:
                       --fills N [1000] --batch N [50] --rate R/s [200] --poll-ms MS [1000] --venues [binance,kraken,alpaca,coinbase] --modes [push,poll])
`;

// The fill-latency mode is its own benchmark (bench/fill-latency.ts): venue push vs polling.
if (process.argv.includes("--fill-latency")) {
  const { main } = await import("./fill-latency.js");
  await main(process.argv.slice(2));
  process.exit(0);
}

const { values: a } = parseArgs({
  options: {
    protocols: { type: "string", default: protocols.join(",") },
    rates: { type: "string", default: "0" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    conns: { type: "string", default: "4" },
    concurrency: { type: "string", default: "64" },
    timeout: { type: "string", default: "10000" },
    audit: { type: "string", default: "buffered" },
    "fast-path": { type: "string", default: "on" },
    "node-flags": { type: "string" },
    "log-level": { type: "string", default: "info" },
    "rate-limit-rps": { type: "string", default: "1000000000" },
    "grpc-loadgen": { type: "string" },
    "server-cpu": { type: "string", default: "0" },
    "loadgen-cpu": { type: "string", default: "1" },
    build: { type: "boolean", default: false },
    "use-dist": { type: "boolean", default: false },
    "server-cmd": { type: "string" },
    entry: { type: "string", default: "src/main.ts" },
    port: { type: "string", default: "50171" },
    venue: { type: "string", default: "paper" },
    symbol: { type: "string", default: "BTC-USD" },
    type: { type: "string", default: "market" },
    label: { type: "string", default: "" },
    repeat: { type: "string", default: "1" },
    peer: { type: "string", default: "auto" },
    help: { type: "boolean", default: false },
  },
});
if (a.help) {
  process.stdout.write(help);
  process.exit(0);
}

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}
const num = (name: string, v: string, min = 0) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number >= ${min}, got "${v}"`);
  return n;
};
const chosen = a.protocols.split(",").map((s) => s.trim()) as Protocol[];
for (const p of chosen) if (!protocols.includes(p)) fail(`unknown protocol "${p}" (choose from ${protocols.join(", ")})`);
const rates = a.rates.split(",").map((s) => num("rates", s.trim()));
const durationMs = num("duration", a.duration, 1) * 1000;
const warmupMs = num("warmup", a.warmup) * 1000;
const conns = num("conns", a.conns, 1);
const concurrency = num("concurrency", a.concurrency, 1);
const timeoutMs = num("timeout", a.timeout);
const port = num("port", a.port, 1024);
// The gateway as in production: the same Node/V8 flags as `npm start` unless told otherwise.
const startScript = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
const nodeFlags =
  a["node-flags"] !== undefined ? a["node-flags"].split(/\s+/).filter((t) => t !== "") : startScript.split(/\s+/).filter((t) => t.startsWith("--"));
if (!["buffered", "fsync", "off", "none"].includes(a.audit)) fail("--audit must be buffered, fsync or off");
if (!["on", "off"].includes(a["fast-path"])) fail("--fast-path must be on or off");
if (a.type !== "market" && a.type !== "limit") fail("--type must be market or limit");
const grpcLoadgen = a["grpc-loadgen"] ?? (existsSync(goLoadgen) ? "go" : "node");
if (grpcLoadgen === "go" && !existsSync(goLoadgen)) fail(`${goLoadgen} is missing: run ../shared/bench/setup.sh`);
const hasTaskset = spawnSync("taskset", ["-c", a["server-cpu"], "true"]).status === 0;
if (!["auto", "on", "off"].includes(a.peer)) fail("--peer must be auto, on or off");
if (a.peer === "on" && !peerReady()) fail(`the grpc-js peer is not set up (${peerServer} and its node_modules): run ../shared/bench/setup.sh`);
// The peer serves gRPC only: every protocol of the gateway is compared with the peer's gRPC figure.
const withPeer = a.peer === "on" || (a.peer === "auto" && peerReady());

if (a.build) {
  let b;
  if (a.entry.startsWith("src/")) b = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  else {
    // An entry outside src/ (a variant kept under bench/): the production build plus that file.
    mkdirSync(join(root, "bench", "results"), { recursive: true });
    const cfg = join(root, "bench", "results", "tsconfig.bench.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        extends: "../../tsconfig.build.json",
        compilerOptions: { rootDir: "../..", outDir: "../../dist" },
        include: ["../../src", "../../gen", `../../${a.entry}`],
      }),
    );
    b = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", cfg], { cwd: root, stdio: "inherit" });
  }
  if (b.status !== 0) fail("the build failed");
}
const compiledEntry = join("dist", a.entry.replace(/\.ts$/, ".js"));
/** Newest modification time of the sources the build compiles. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}
let compiled = existsSync(join(root, compiledEntry));
if (compiled && a["server-cmd"] === undefined && !a["use-dist"]) {
  const sources = Math.max(newestSource(join(root, "src")), newestSource(join(root, "gen")));
  if (statSync(join(root, compiledEntry)).mtimeMs < sources) {
    process.stderr.write(`bench: ${compiledEntry} is older than the sources: running ${a.entry} with tsx (use --build to measure compiled code)\n`);
    compiled = false;
  }
}

function serverArgv(): { cmd: string; args: string[]; shown: string } {
  if (a["server-cmd"] !== undefined) return { cmd: "bash", args: ["-c", a["server-cmd"]], shown: a["server-cmd"] };
  const node = process.execPath;
  const args = compiled ? [...nodeFlags, compiledEntry] : [...nodeFlags, "--import", "tsx", a.entry];
  return { cmd: node, args, shown: `node ${args.join(" ")}` };
}

function pinned(cpu: string, cmd: string, args: string[]): [string, string[]] {
  return hasTaskset ? ["taskset", ["-c", cpu, cmd, ...args]] : [cmd, args];
}

const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
const outDir = join(root, "bench", "results");
mkdirSync(outDir, { recursive: true });
const base = join(outDir, `bench-${stamp}`);

function portOpen(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(p, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function readRssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m === null ? undefined : Number(m[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** The server currently running, killed with its process group if the benchmark exits early. */
let running: ChildProcess | undefined;
process.on("exit", () => {
  if (running !== undefined && alive(running)) {
    try {
      process.kill(-running.pid!, "SIGKILL");
    } catch {}
  }
});
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

/** The grpc-js peer's runs, among the protocols': it answers gRPC. */
const PEER = PEER_NAME as Protocol;
/** The gateway's audit mode in the peer's words (none | buffered | fsync). */
const peerAudit = a.audit === "off" || a.audit === "none" ? "none" : a.audit;

/** The grpc-js peer, on the Node that runs this benchmark (ours), with the gateway's audit mode. */
function peerArgv(auditFile: string): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: [peerServer, "-addr", `127.0.0.1:${port}`, "-audit", peerAudit, "-audit-file", auditFile] };
}

async function startServer(logFile: string, auditFile: string, peer = false): Promise<ChildProcess> {
  if (await portOpen(port)) fail(`something already listens on 127.0.0.1:${port} (choose another --port)`);
  const { cmd, args } = peer ? peerArgv(auditFile) : serverArgv();
  const [c, cargs] = pinned(a["server-cpu"], cmd, args);
  const fd = openSync(logFile, "a");
  const child = spawn(c, cargs, {
    cwd: root,
    detached: true, // own process group: stopped as a whole
    stdio: ["ignore", fd, fd],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      AUDIT_FILE: auditFile,
      AUDIT_MODE: a.audit,
      FAST_PATH: a["fast-path"],
      LOG_LEVEL: a["log-level"],
      METRICS_PORT: "0",
      RATE_LIMIT_RPS: a["rate-limit-rps"],
      RATE_LIMIT_BURST: "1000000000",
      // The built-in risk limits would refuse the load (1,000 orders/s per account, LIMIT prices far
      // from the paper reference): this file relaxes exactly those, every check still runs.
      RISK_LIMITS_FILE: process.env["RISK_LIMITS_FILE"] ?? join(root, "bench", "risk-limits.yaml"),
      // The paper venue's moving market is for people watching the dashboard; the benchmark keeps
      // the fixed prices its earlier figures were taken with (same work per order, run to run).
      PAPER_MARKET: process.env["PAPER_MARKET"] ?? "fixed",
    },
  });
  closeSync(fd);
  running = child;
  const deadline = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (!alive(child)) fail(`the server exited before listening; see ${logFile}`);
    if (Date.now() > deadline) fail(`the server did not listen on ${port} within 30 s; see ${logFile}`);
    await wait(50);
  }
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (!alive(child)) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
  const t = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {}
  }, 5000);
  await exited;
  clearTimeout(t);
  running = undefined;
}

function runLoadgen(protocol: Protocol, rate: number, serverPid: number, probe: boolean): Promise<string> {
  // The peer (PEER) is driven like the gateway's gRPC.
  if (protocol === PEER) protocol = "grpc";
  let cmd: string;
  let args: string[];
  if (protocol === "grpc" && grpcLoadgen === "go") {
    cmd = goLoadgen;
    args = probe
      ? ["-addr", `127.0.0.1:${port}`, "-probe", "-type", a.type, "-venue", a.venue, "-symbol", a.symbol]
      : [
          "-addr", `127.0.0.1:${port}`, "-conns", String(conns), "-concurrency", String(concurrency),
          "-duration", `${durationMs}ms`, "-warmup", `${warmupMs}ms`, "-rate", String(rate), "-type", a.type,
          "-venue", a.venue, "-symbol", a.symbol, "-timeout", `${timeoutMs}ms`, "-server-pid", String(serverPid),
        ];
  } else {
    const spec: LoadSpec = {
      port, protocol, conns, concurrency, durationMs, warmupMs, rate, timeoutMs,
      order: { venue: a.venue, symbol: a.symbol, type: a.type as "market" | "limit" },
      serverPid,
      probe,
    };
    cmd = process.execPath;
    args = ["--import", "tsx", join(root, "bench", "loadgen.ts"), JSON.stringify(spec)];
  }
  const [c, cargs] = pinned(a["loadgen-cpu"], cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(c, cargs, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`load generator failed (${code}): ${err.trim() || out.trim()}`)),
    );
  });
}

async function runOne(protocol: Protocol, rate: number): Promise<RunResult> {
  const name = `${protocol}-${rate > 0 ? `open${rate}` : "closed"}`;
  const logFile = `${base}.logs/${name}.log`;
  mkdirSync(dirname(logFile), { recursive: true });
  const auditFile = join(tmpdir(), `bench-audit-${stamp}-${name}.jsonl`);
  const server = await startServer(logFile, auditFile, protocol === PEER);
  const rss: [number, number][] = [];
  try {
    await runLoadgen(protocol, 0, server.pid!, true).catch((e: Error) =>
      fail(`${protocol} probe: ${e.message}; see ${logFile}`),
    );
    const t0 = Date.now() + warmupMs;
    const sampler = setInterval(() => {
      const mb = readRssMb(server.pid!);
      const s = Math.round((Date.now() - t0) / 1000);
      if (mb !== undefined && s >= 0) rss.push([s, Math.round(mb)]);
    }, 1000);
    const line = await runLoadgen(protocol, rate, server.pid!, false).finally(() => clearInterval(sampler));
    const r = JSON.parse(line) as RunResult;
    r.protocol = protocol;
    r.loadgen = (protocol === "grpc" || protocol === PEER) && grpcLoadgen === "go" ? "go" : "node";
    r.rss_series = rss;
    if (!alive(server)) process.stderr.write(`bench: warning: the server exited during ${name}; see ${logFile}\n`);
    return r;
  } finally {
    await stopServer(server);
    rmSync(auditFile, { force: true });
  }
}

const { shown } = serverArgv();
const settings =
  `${chosen.join(", ")}; rates ${rates.map((r) => (r === 0 ? "closed" : `${r}/s`)).join(", ")}; ${durationMs / 1000} s after ` +
  `${warmupMs / 1000} s warmup; ${conns} conns, ${concurrency} in flight; audit ${a.audit}; FAST_PATH=${a["fast-path"]}; ` +
  `server: ${shown} (${compiled || a["server-cmd"] !== undefined ? "as built" : "tsx, not compiled"}) on CPU ${a["server-cpu"]}` +
  `${hasTaskset ? "" : " (taskset missing: NOT pinned)"}; load generator on CPU ${a["loadgen-cpu"]} (gRPC: ${grpcLoadgen})` +
  (withPeer ? `; the grpc-js peer (${peerServer}) on ${process.execPath} (Node ${process.versions.node}), audit ${peerAudit}` : "; no grpc-js peer");
process.stderr.write(`bench: ${settings}\n`);

const repeat = num("repeat", a.repeat, 1);
const results: RunResult[] = [];
for (let round = 1; round <= repeat; round++) {
  for (const rate of rates) {
    // Alternate the order between rounds so no protocol always runs first (warmer, or cooler, machine);
    // the peer goes first in odd rounds, last in even ones, as compare.sh's does.
    const sequence: Protocol[] = withPeer ? [PEER, ...chosen] : [...chosen];
    for (const protocol of round % 2 === 1 ? sequence : [...sequence].reverse()) {
      process.stderr.write(`bench: ${repeat > 1 ? `round ${round}: ` : ""}${protocol} ${rate > 0 ? `open loop ${rate}/s` : "closed loop"} ...`);
      const r = await runOne(protocol, rate);
      r.round = round;
      results.push(r);
      writeFileSync(`${base}.jsonl`, `${JSON.stringify(r)}\n`, { flag: "a" });
      const errs = Object.values(r.errors ?? {}).reduce((x, y) => x + y, 0);
      process.stderr.write(
        ` ${Math.round(r.rps)} rps, p99 ${(r.p99_us / 1000).toFixed(2)} ms, server CPU ${(r.server_cpu ?? NaN).toFixed(2)}, errors ${errs}\n`,
      );
    }
  }
}

const table = renderTable(results);
const header = `# npm run bench, ${stamp}${a.label ? ` (${a.label})` : ""}\n\n${settings}\n\n`;
writeFileSync(`${base}.md`, header + table);
process.stdout.write(`\n${table}\n`);
const chart = renderChart(results);
if (chart !== undefined) {
  writeFileSync(`${base}.svg`, chart);
  process.stdout.write(`chart: ${base}.svg\n`);
}
process.stdout.write(`saved: ${base}.md, ${base}.jsonl\n`);
