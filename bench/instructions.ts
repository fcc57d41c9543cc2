/**
 * Instructions per PlaceOrder, counted by valgrind's callgrind: a figure that does not drift with
 * the machine, unlike rps. Closed-loop A/B runs on this project's 2-vCPU VM move by 10-20% from
 * round to round, so a change worth 2-4% cannot be seen there; the same build counted twice here
 * differs by about 0.3%.
 *
 * It runs the compiled gateway under callgrind twice, as `npm start` runs it plus
 * `--single-threaded` (V8's helper threads would make the count depend on scheduling):
 *   1. start-up and one probe call, then stop;
 *   2. start-up, the probe, then RATE PlaceOrder/s over gRPC for SECONDS (the Go load generator
 *      of ../shared/bench, open loop), then stop;
 * and prints (run 2 - run 1) / calls answered. Under valgrind the server keeps up with about
 * 100-150 calls/s, so at the default 300/s requests queue and are answered in batches, much as at
 * saturation; load shedding is switched off so that every call is answered. The count includes
 * the JIT and the GC: compare builds with the same RATE and SECONDS, not with other settings.
 *
 * Read it as an A/B tool, not as a map of where native time goes: under valgrind V8's compiled
 * code runs with other weights than on the CPU. The audit encoder, for one, counts about 93,000
 * instructions per order (three lines) under callgrind but takes 4-7.5 us natively, and removing
 * it takes 19% off the count against about 6% of CPU samples in a native --cpu-prof. Confirm a
 * change with ../shared/bench/compare.sh.
 *
 *   node_modules/.bin/node --import tsx bench/instructions.ts [--dist DIR] [--rate 300]
 *     [--duration 20] [--repeat 1] [--subscriber on] [--base-ir N] [--port 50180]
 *
 * `--subscriber on` attaches one StreamOrderEvents subscriber (bench/event-subscriber.ts, run
 * outside valgrind) for the loaded run only (issue 20: what a subscriber costs per PlaceOrder).
 * The count then includes delivering every event to it. Run with RISK_LIMITS_FILE=bench/risk-limits.yaml.
 *
 * Needs valgrind (apt-get install valgrind), a build (npm run build) and ../shared/bench/setup.sh.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const root = resolve(import.meta.dirname, "..");
const dist = resolve(root, args.get("dist") ?? "dist");
const rate = Number(args.get("rate") ?? 300);
const seconds = Number(args.get("duration") ?? 20);
const repeat = Number(args.get("repeat") ?? 1);
const subscriber = args.get("subscriber") === "on";
const loadgen = resolve(root, "../shared/bench/.build/loadgen");
// --port: sessions sharing a machine must each use their own, or one counts the other's server.
const port = Number(args.get("port") ?? 50180);

if (spawnSync("valgrind", ["--version"]).status !== 0) throw new Error("valgrind not found: apt-get install valgrind");
if (spawnSync(loadgen, ["-h"]).error !== undefined) throw new Error(`${loadgen} not found: run ../shared/bench/setup.sh`);

/** Runs the server under callgrind, optionally drives load, stops it; returns total Ir and calls answered. */
async function run(load: boolean): Promise<{ ir: number; ok: number }> {
  const dir = mkdtempSync(join(tmpdir(), "gw-instr-"));
  const out = join(dir, "callgrind.out");
  const env = {
    ...process.env,
    PORT: String(port),
    AUDIT_FILE: join(dir, "audit.jsonl"),
    AUDIT_MODE: "buffered",
    RATE_LIMIT_RPS: "100000000",
    RATE_LIMIT_BURST: "100000000",
    METRICS_PORT: "0",
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: "0",
    // As npm run bench: the fixed paper prices, and the limits that let the load generator through.
    PAPER_MARKET: process.env["PAPER_MARKET"] ?? "fixed",
    RISK_LIMITS_FILE: process.env["RISK_LIMITS_FILE"] ?? join(root, "bench", "risk-limits.yaml"),
  };
  const node = join(root, "node_modules/.bin/node");
  if (spawnSync(loadgen, ["-addr", `127.0.0.1:${port}`, "-probe"]).status === 0) throw new Error(`something already answers on port ${port}: pass --port`);
  const server = spawn(
    "valgrind",
    ["--tool=callgrind", `--callgrind-out-file=${out}`, node, "--max-semi-space-size=8", "--v8-pool-size=1", "--single-threaded", join(dist, "src/main.js")],
    { env, stdio: "ignore" },
  );
  const exited = new Promise<void>((done) => server.once("exit", () => done()));
  try {
    // Valgrind's start-up on a loaded 2-core machine can take minutes.
    const deadline = Date.now() + 900_000;
    for (;;) {
      if (spawnSync(loadgen, ["-addr", `127.0.0.1:${port}`, "-probe"]).status === 0) break;
      if (Date.now() > deadline || server.exitCode !== null) throw new Error("the server did not answer its probe");
      await sleep(500);
    }
    let ok = 0;
    // Outside valgrind: only the gateway's side of the stream is counted.
    const sub = load && subscriber ? spawn(join(root, "node_modules/.bin/node"), ["--import", "tsx", join(root, "bench/event-subscriber.ts")], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "inherit"] }) : undefined;
    const subExited = sub !== undefined ? new Promise<void>((done) => sub.once("exit", () => done())) : undefined;
    if (sub !== undefined) await sleep(5000); // its tsx start-up, then its subscription, before the load
    if (load) {
      const lg = spawnSync(loadgen, ["-addr", `127.0.0.1:${port}`, "-rate", String(rate), "-duration", `${seconds}s`, "-warmup", "0s", "-timeout", "120s"], {
        encoding: "utf8",
      });
      const r = JSON.parse(lg.stdout) as { ok: number; sent: number; errors: Record<string, number> | null };
      if (r.ok !== r.sent) throw new Error(`only ${r.ok} of ${r.sent} calls answered OK: ${JSON.stringify(r.errors)}`);
      ok = r.ok;
    }
    if (sub !== undefined) {
      sub.kill("SIGTERM");
      await subExited;
    }
    server.kill("SIGINT");
    await exited;
    const summary = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, "utf8"));
    if (summary === null) throw new Error("no total in the callgrind output");
    return { ir: Number(summary[1]), ok };
  } finally {
    if (server.exitCode === null) server.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

// --base-ir N: reuse a start-up count from an earlier run of a build that differs only in code the load exercises.
const base = args.has("base-ir") ? { ir: Number(args.get("base-ir")), ok: 0 } : await run(false);
console.log(`start-up and one call: ${base.ir.toLocaleString("en")} instructions`);
for (let i = 1; i <= repeat; i++) {
  const loaded = await run(true);
  const perCall = (loaded.ir - base.ir) / loaded.ok;
  console.log(`run ${i}: ${loaded.ok} calls at ${rate}/s: ${Math.round(perCall).toLocaleString("en")} instructions per call`);
}
