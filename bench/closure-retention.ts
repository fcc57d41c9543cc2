/**
 * The smallest known reproduction of what Node 24 promotes per scavenge: no server, no network,
 * one short-lived object graph per millisecond, each dead as soon as the function that made it
 * returns. It prints what V8's --trace-gc-nvp reports for the scavenges after one full GC.
 *
 * Why it exists: on Node 24 (V8 13.6) a closure that captures a local and is *assigned* to a
 * property (`this.f = () => o`, `h.f = ...`, `h[k] = ...`, even on a dictionary object, and even
 * if the property is cleared again at once) keeps what it captured alive through scavenges until
 * the next full GC. The same closure in an object literal (`{ f: () => o }`), kept in a local, or
 * made with `bind` does not; Node 22 (V8 12.4) shows none of it. Node 24.15.0 changed Writable's
 * per-stream write callback from `onwrite.bind(undefined, stream)` to `(er) => onwrite(stream,
 * er)` (nodejs/node#62087), so since then every `Writable` (each HTTP/2 stream, each socket)
 * does this, and a finished stream takes everything it references to the old generation with it.
 * docs/performance.md, "GC flags and the latency tail", has the figures.
 *
 *   node_modules/.bin/node --import tsx bench/closure-retention.ts [--node PATH]
 *     [--pattern assigned|literal|bind|writable]... [--duration 8]
 */
import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const self = fileURLToPath(import.meta.url);

function capture(o: object, er: number): number {
  return Object.keys(o).length + er;
}

class Assigned {
  f: ((er: number) => number) | null = null;
  constructor(o: object) {
    this.f = (er) => capture(o, er);
  }
}

/** One short-lived graph: 20 small objects reachable only from `o`, which only the closure captures. */
const patterns: Record<string, () => unknown> = {
  assigned: () => new Assigned({ b: Array.from({ length: 20 }, () => ({})) }),
  literal: () => {
    const o = { b: Array.from({ length: 20 }, () => ({})) };
    return { f: (er: number) => capture(o, er) };
  },
  bind: () => ({ f: capture.bind(undefined, { b: Array.from({ length: 20 }, () => ({})) }) }),
  writable: () => new Writable({ write: (_c, _e, cb) => cb() }),
};

function child(pattern: string, seconds: number): void {
  const make = patterns[pattern];
  if (make === undefined) throw new Error(`unknown pattern ${pattern}`);
  const start = performance.now();
  let made = 0;
  let seeded = false;
  const pump = (): void => {
    const now = performance.now() - start;
    // One graph per elapsed millisecond, so every runtime sees the same rate.
    for (; made < Math.floor(now); made++) make();
    if (!seeded && now > 3000) {
      seeded = true;
      (globalThis as { gc?: () => void }).gc?.();
      process.stdout.write("seeded\n");
    }
    if (now < seconds * 1000) setTimeout(pump, 1);
  };
  pump();
}

function main(): void {
  const { values } = parseArgs({
    options: {
      role: { type: "string", default: "main" },
      node: { type: "string", default: process.execPath },
      pattern: { type: "string", multiple: true, default: Object.keys(patterns) },
      duration: { type: "string", default: "8" },
    },
  });
  const seconds = Number(values.duration);
  if (values.role !== "main") return child(values.role, seconds);
  const version = spawnSync(values.node, ["-v"], { encoding: "utf8" }).stdout.trim();
  const pin = spawnSync("taskset", ["-V"]).status === 0;
  for (const pattern of values.pattern) {
    const args = ["--experimental-strip-types", "--no-warnings", "--trace-gc-nvp", "--max-semi-space-size=8", "--expose-gc", self, `--role=${pattern}`, `--duration=${seconds}`];
    const run = pin ? spawnSync("taskset", ["-c", "0", values.node, ...args], { encoding: "utf8" }) : spawnSync(values.node, args, { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`${pattern}: exited ${String(run.status)}: ${run.stderr}`);
    const after = run.stdout.slice(Math.max(0, run.stdout.indexOf("seeded\n")));
    const lines = after.split("\n").filter((l) => l.includes(" gc=s "));
    const mean = (k: string) => lines.reduce((a, l) => a + Number(new RegExp(`\\b${k}=([\\d.]+)`).exec(l)?.[1] ?? "0"), 0) / Math.max(1, lines.length);
    process.stdout.write(
      `node ${version} ${pattern.padEnd(8)}: ${lines.length} scavenges after the full GC, ` +
        `promoted ${(mean("promoted") / 1024).toFixed(0)} KB and pause ${mean("pause").toFixed(2)} ms per scavenge (mean)\n`,
    );
  }
}

main();
