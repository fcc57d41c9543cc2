/**
 * What decoding the audit log costs per line, the larger part of a restart's replay: reads a JSONL
 * audit log once, then decodes every line with the decoder's fast readers and with valibot alone
 * (`createAuditDecoder({ validation })`), alternating for `--rounds`, and prints µs per line for
 * each, JSON.parse alone for scale, and the share of schema reads the fast readers took.
 *
 *   bench/startup.sh --load-seconds 15 --restarts 1 --keep-log /tmp/log    # a log to read
 *   node_modules/.bin/node --import tsx bench/audit-decode.ts --file /tmp/log/audit.jsonl [--rounds 3] [--dist dist]
 *
 * `--dist DIR` runs a compiled build's decoder (DIR/src/...) instead of the sources; a build from before
 * the fast readers decodes both rows with its one decoder.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { file: { type: "string" }, rounds: { type: "string", default: "3" }, dist: { type: "string" } } });
if (values.file === undefined) throw new Error("--file: a JSONL audit log");
const base = values.dist !== undefined ? pathToFileURL(resolve(values.dist, "src") + "/").href : new URL("../src/", import.meta.url).href;
const { createAuditDecoder } = await import(base + "adapters/audit/audit-codec.js");

const lines = readFileSync(values.file, "utf8").split("\n").filter((l) => l.length > 0);
const usPerLine = (ms: number): number => Number(((ms * 1000) / lines.length).toFixed(2));

function timed(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

const rows: Record<string, number[]> = { "JSON.parse": [], fast: [], valibot: [] };
let fastShare = 0;
for (let round = 0; round < Number(values.rounds); round++) {
  rows["JSON.parse"]!.push(usPerLine(timed(() => lines.forEach((l) => JSON.parse(l)))));
  for (const validation of ["fast", "valibot"] as const) {
    const decoder = createAuditDecoder({ validation });
    let refused = 0;
    rows[validation]!.push(usPerLine(timed(() => lines.forEach((l) => decoder.line(l).ok || refused++))));
    if (refused > 0) throw new Error(`${validation}: ${refused} lines refused`);
    // A build before the fast readers has no stats (and one decoder: both rows are it).
    const s = decoder.stats?.();
    if (validation === "fast" && s !== undefined) fastShare = s.fast / (s.fast + s.valibot);
  }
}
console.log(JSON.stringify({ lines: lines.length, usPerLine: rows, fastShareOfSchemaReads: Number(fastShare.toFixed(3)) }));
