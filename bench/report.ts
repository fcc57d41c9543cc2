/** Tables and the latency chart of `npm run bench`. */

/** One run, as the load generators print it (field names of ../shared/bench's Go loadgen). */
export interface RunResult {
  protocol: string;
  /** Which repetition of the whole sequence (--repeat); ratios compare runs of the same round. */
  round?: number;
  loadgen?: string;
  mode: string;
  target_rate: number;
  rps: number;
  ok: number;
  errors?: Record<string, number>;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  loadgen_cpu: number;
  server_cpu?: number;
  server_rss_mb?: number;
  send_lag_p99_us?: number;
  rss_series?: [number, number][];
}

const ms = (us: number | undefined) => (us === undefined || Number.isNaN(us) ? "-" : (us / 1000).toFixed(2));
const f2 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(2));

/**
 * Server CPU time per answered call: on a shared, noisy machine a server that
 * gets less CPU serves less, but its cost per call moves much less.
 */
const cpuPerCall = (r: RunResult) =>
  r.server_cpu === undefined || r.rps <= 0 ? "-" : String(Math.round((r.server_cpu / r.rps) * 1e6));

/** The protocol name of the grpc-js reference peer's runs (`npm run bench -- --peer`): it answers gRPC. */
export const PEER = "grpc-js";

const median = (v: readonly number[]) => [...v].sort((p, q) => p - q)[Math.floor((v.length - 1) / 2)]!;
const list = (v: readonly number[]) => v.map((x) => x.toFixed(2)).join(", ");

/**
 * The gateway's runs against the peer's of the same round and rate, as ../shared/bench/compare.sh
 * compares them: closed loop, rps ÷ the peer's (higher is better); open loop, p99 ÷ the peer's
 * (lower is better). Undefined without a peer run to compare with.
 */
function peerRatio(results: readonly RunResult[], r: RunResult): number | undefined {
  const p = results.find((x) => x.protocol === PEER && x.target_rate === r.target_rate && x.round === r.round);
  if (p === undefined) return undefined;
  if (r.target_rate === 0) return p.rps > 0 && r.rps > 0 ? r.rps / p.rps : undefined;
  return p.p99_us > 0 && r.rps > 0 ? r.p99_us / p.p99_us : undefined;
}

/**
 * One row per run. "÷ gRPC" divides a closed-loop rps by the gRPC closed-loop
 * rps of the same sitting (the protocol targets are ratios, never absolutes).
 */
export function renderTable(results: readonly RunResult[]): string {
  const rounds = [...new Set(results.map((r) => r.round))];
  const hasPeer = results.some((r) => r.protocol === PEER);
  const grpcClosedOf = (round: number | undefined) =>
    results.find((r) => r.protocol === "grpc" && r.target_rate === 0 && r.round === round)?.rps;
  const rows = [
    `| protocol | loop | offered/s | rps | ÷ gRPC |${hasPeer ? " ÷ grpc-js |" : ""} p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | server CPU | CPU µs/call | RSS MB | RSS 10 s / last | loadgen CPU | send lag p99 ms | errors |`,
    `|---|---|--:|--:|--:|${hasPeer ? "--:|" : ""}--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|`,
  ];
  for (const r of results) {
    const closed = r.target_rate === 0;
    const grpcClosed = grpcClosedOf(r.round);
    const ratio = closed && grpcClosed !== undefined && grpcClosed > 0 && r.protocol !== PEER ? (r.rps / grpcClosed).toFixed(2) : "";
    const toPeer = hasPeer ? ` ${peerRatio(results, r)?.toFixed(2) ?? ""} |` : "";
    const errs = Object.entries(r.errors ?? {}).map(([k, v]) => `${k}=${v}`).join(" ") || "0";
    const series = r.rss_series ?? [];
    const at10 = series.find(([s]) => s >= 10)?.[1];
    const last = series.at(-1);
    const rssTrend = at10 !== undefined && last !== undefined ? `${at10} / ${last[1]} (${last[0]} s)` : "-";
    rows.push(
      `| ${r.round !== undefined && rounds.length > 1 ? `r${r.round} ` : ""}${r.protocol === PEER ? "grpc-js (peer)" : r.protocol}${r.loadgen === "go" ? " (go loadgen)" : ""} | ${closed ? "closed" : "open"} | ${closed ? "max" : r.target_rate} | ` +
        `${Math.round(r.rps).toLocaleString("en-US")} | ${ratio} |${toPeer} ${ms(r.p50_us)} | ${ms(r.p90_us)} | ${ms(r.p99_us)} | ` +
        `${ms(r.p999_us)} | ${ms(r.max_us)} | ${f2(r.server_cpu)} | ${cpuPerCall(r)} | ${r.server_rss_mb === undefined ? "-" : Math.round(r.server_rss_mb)} | ` +
        `${rssTrend} | ${f2(r.loadgen_cpu)} | ${ms(r.send_lag_p99_us)} | ${errs} |`,
    );
  }
  // Per-round ratios and their median, as ../shared/bench/compare.sh does: the
  // machine drifts between rounds, a ratio within a round much less.
  const lines: string[] = [];
  // Against the peer: every protocol, every rate, per round and the median (one round: its ratio).
  if (hasPeer) {
    for (const proto of [...new Set(results.map((r) => r.protocol))].filter((x) => x !== PEER)) {
      for (const rate of [...new Set(results.map((r) => r.target_rate))]) {
        const ratios = rounds
          .map((round) => results.find((r) => r.protocol === proto && r.target_rate === rate && r.round === round))
          .map((r) => (r === undefined ? undefined : peerRatio(results, r)))
          .filter((x): x is number => x !== undefined);
        if (ratios.length === 0) continue;
        lines.push(
          `${proto} ÷ grpc-js per round, ${rate === 0 ? "closed loop, rps (higher is better)" : `open loop ${rate}/s, p99 (lower is better)`}: ${list(ratios)} (median ${median(ratios).toFixed(2)})`,
        );
      }
    }
  }
  if (rounds.length > 1) {
    for (const proto of [...new Set(results.map((r) => r.protocol))]) {
      if (proto === "grpc" || proto === PEER) continue;
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      for (const round of rounds) {
        const g = results.find((r) => r.protocol === "grpc" && r.target_rate === 0 && r.round === round);
        const x = results.find((r) => r.protocol === proto && r.target_rate === 0 && r.round === round);
        if (g === undefined || x === undefined || g.rps <= 0 || x.rps <= 0) continue;
        ratios.push(x.rps / g.rps);
        // The same ratio from CPU cost per call (gRPC's ÷ this protocol's): it
        // holds up when another process steals CPU from one run and not the other.
        if (g.server_cpu !== undefined && x.server_cpu !== undefined) {
          cpuRatios.push(g.server_cpu / g.rps / (x.server_cpu / x.rps));
        }
      }
      if (ratios.length === 0) continue;
      lines.push(
        `${proto} ÷ gRPC per round: rps ${list(ratios)} (median ${median(ratios).toFixed(2)})` +
          (cpuRatios.length > 0 ? `; by CPU per call ${list(cpuRatios)} (median ${median(cpuRatios).toFixed(2)})` : ""),
      );
    }
  }
  const summary = lines.length > 0 ? `\n${lines.join("\n")}\n` : "";
  const warn = results.some((r) => r.loadgen_cpu > 0.9)
    ? "\nwarning: a load generator used > 0.9 CPU: it may be the bottleneck of that run.\n"
    : "";
  return `${rows.join("\n")}\n${summary}${warn}`;
}

/**
 * p50 and p99 latency against offered load, one line per protocol, for the
 * open-loop runs (log scale for latency). Undefined with fewer than two rates.
 */
export function renderChart(results: readonly RunResult[]): string | undefined {
  const open = results.filter((r) => r.target_rate > 0 && Number.isFinite(r.p99_us));
  const byProto = new Map<string, RunResult[]>();
  for (const r of open) byProto.set(r.protocol, [...(byProto.get(r.protocol) ?? []), r]);
  if (![...byProto.values()].some((v) => v.length >= 2)) return undefined;
  const W = 720, H = 420, L = 70, R = 160, T = 30, B = 50;
  const maxRate = Math.max(...open.map((r) => r.target_rate));
  const lat = open.flatMap((r) => [r.p50_us, r.p99_us]).filter((x) => x > 0);
  const lo = Math.log10(Math.max(10, Math.min(...lat) / 1.5));
  const hi = Math.log10(Math.max(...lat) * 1.5);
  const x = (rate: number) => L + ((W - L - R) * rate) / maxRate;
  const y = (us: number) => T + (H - T - B) * (1 - (Math.log10(Math.max(us, 10)) - lo) / (hi - lo));
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18">PlaceOrder latency vs offered load (open loop); solid p99, dashed p50</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">offered load (requests/s)</text>`,
  ];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    const us = 10 ** e;
    parts.push(`<line x1="${L}" y1="${y(us)}" x2="${W - R}" y2="${y(us)}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${y(us) + 4}" text-anchor="end">${us >= 1000 ? `${us / 1000} ms` : `${us} µs`}</text>`);
  }
  for (const rate of [...new Set(open.map((r) => r.target_rate))]) {
    parts.push(`<text x="${x(rate)}" y="${H - B + 16}" text-anchor="middle">${rate}</text>`);
  }
  let i = 0;
  for (const [proto, runs] of byProto) {
    const c = colors[i % colors.length]!;
    const sorted = [...runs].sort((p, q) => p.target_rate - q.target_rate);
    const path = (k: "p50_us" | "p99_us") => sorted.map((r) => `${x(r.target_rate)},${y(r[k])}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${path("p99_us")}"/>`);
    parts.push(`<polyline fill="none" stroke="${c}" stroke-dasharray="4 3" points="${path("p50_us")}"/>`);
    parts.push(`<text x="${W - R + 10}" y="${T + 16 * (i + 1)}" fill="${c}">${proto}</text>`);
    i++;
  }
  parts.push("</svg>");
  return parts.join("\n");
}
