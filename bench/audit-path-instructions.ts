/**
 * Instructions per filled market order on the audit path alone, in process: the three audit
 * events of a paper market order (order_received, the fill line, order_filled) appended through
 * the ListOrders index (recordingAudit) and the order-event numbering with its position deriver,
 * into a sink that keeps nothing. No network, no server, no timers: unlike bench/instructions.ts
 * the count does not move with what else runs on the machine, so it can A/B these parts while
 * another session loads the cores.
 *
 * The orders are made and appended by bench/audit-path-child.mjs (plain JavaScript, run by node
 * alone). Counts a compiled build (--dist, default dist/) under callgrind, as bench/instructions.ts
 * does,
 * at two order counts, and prints both totals and the difference per order (the steady state:
 * start-up and most of the JIT warm-up cancel). Two builds' totals at the lower count differ by
 * what the warm-up costs as well.
 *
 *   node_modules/.bin/node --import tsx bench/audit-path-instructions.ts [--dist DIR] [--from 5000] [--to 25000]
 *
 * Needs valgrind and a build (npm run build).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const root = resolve(import.meta.dirname, "..");

{
  const dist = resolve(root, args.get("dist") ?? "dist");
  const from = Number(args.get("from") ?? 5000);
  const to = Number(args.get("to") ?? 25000);
  const a = count(dist, from);
  const b = count(dist, to);
  console.log(`${from} orders: ${a.toLocaleString("en")} instructions; ${to} orders: ${b.toLocaleString("en")}`);
  console.log(`per order: ${Math.round((b - a) / (to - from)).toLocaleString("en")} (steady state)`);
}

/** Total instructions of one child run under callgrind. */
function count(dist: string, orders: number): number {
  const dir = mkdtempSync(join(tmpdir(), "gw-audit-path-"));
  const out = join(dir, "callgrind.out");
  try {
    const node = join(root, "node_modules/.bin/node");
    const r = spawnSync(
      "valgrind",
      // The child is plain JavaScript: a TypeScript loader's work under valgrind would swamp the count.
      ["-q", "--tool=callgrind", `--callgrind-out-file=${out}`, node, "--max-semi-space-size=8", "--v8-pool-size=1", "--single-threaded", join(root, "bench/audit-path-child.mjs"), dist, String(orders)],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    if (r.status !== 0) throw new Error(`the child run failed (${r.status})`);
    const summary = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, "utf8"));
    if (summary === null) throw new Error("no total in the callgrind output");
    return Number(summary[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
