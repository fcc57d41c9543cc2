import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { settings } from "../../src/config/env.js";
import { startChildGateway, stopChildGateway, type ChildGateway } from "../helpers/child-gateway.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * deploy/: the Prometheus rules and config (promtool when installed), the Grafana dashboard and
 * provisioning, and the compose file's structure (no Docker engine here to run it). Every metric
 * the rules and the dashboard name must be exported by a real gateway's /metrics.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const deploy = join(root, "deploy");
const read = (p: string) => readFileSync(join(deploy, p), "utf8");

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
const rules = (parse(read("prometheus/alerts.yml")) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read("grafana/dashboards/trading-gateway.json")) as {
  uid: string;
  panels: { id: number; type: string; title: string; datasource?: { uid: string }; targets?: { expr: string; datasource?: { uid: string } }[] }[];
};
const compose = parse(read("docker-compose.yml")) as {
  services: Record<string, { build?: { context: string; dockerfile: string }; image?: string; environment?: Record<string, string>; ports?: string[]; volumes?: string[]; depends_on?: Record<string, unknown> | string[]; command?: string[] }>;
  volumes?: Record<string, unknown>;
};

const PROMQL_WORDS = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
  "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
  "rate", "irate", "increase", "delta", "idelta", "histogram_quantile", "clamp_min", "clamp_max", "abs", "time", "vector", "scalar",
  "absent", "changes", "resets", "label_replace", "sort", "sort_desc", "round", "floor", "ceil", "avg_over_time", "max_over_time", "min_over_time",
]);
/** Metric names of a PromQL expression: identifiers left once strings, label matchers, ranges, grouping lists and function names are removed. */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const out: string[] = [];
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const name = m[0].replace(/\s*\($/, "");
    if (m[1] !== undefined || PROMQL_WORDS.has(name) || /^\d/.test(name)) continue;
    out.push(name);
  }
  return [...new Set(out)];
}

/** Series Prometheus makes itself, not the gateway. */
const PROMETHEUS_OWN = new Set(["up"]);

let gw: ChildGateway;
let exported: Set<string>;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "gw-deploy-"));
  gw = await startChildGateway({ METRICS_PORT: "0", AUDIT_FILE: join(dir, "audit.jsonl"), PAPER_MARKET: "walk" });
  const line = (await waitFor(() => gw.logs().find((l) => typeof l["msg"] === "string" && l["msg"].startsWith("metrics listening")), { timeoutMs: 20_000, what: "the metrics listener" }))!;
  const res = await fetch(`http://127.0.0.1:${line["port"] as number}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  exported = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    exported.add(name!);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(name + suffix);
    if (type === "summary") for (const suffix of ["_sum", "_count"]) exported.add(name + suffix);
  }
});
after(async () => {
  if (gw !== undefined) await stopChildGateway(gw);
  rmSync(dir, { recursive: true, force: true });
});

test("the PromQL metric-name extraction finds metrics and skips functions, labels and grouping", () => {
  assert.deepEqual(metricNames('sum by (reason) (rate(a_total{x="b_total"}[5m])) / ignoring (reason) group_left clamp_min(sum(rate(c_total[1m])), 0.001) > 0.2'), ["a_total", "c_total"]);
  assert.deepEqual(metricNames("histogram_quantile(0.99, sum by (le) (rate(h_seconds_bucket[5m])))"), ["h_seconds_bucket"]);
  assert.deepEqual(metricNames("time() - g_timestamp_seconds"), ["g_timestamp_seconds"]);
});

test("every metric the alert rules and the dashboard name is on a running gateway's /metrics", () => {
  assert.ok(exported.has("grpc_server_handled_total") && exported.size > 20, `scraped ${exported.size} metrics`);
  const used = new Map<string, string>();
  for (const r of rules) for (const n of metricNames(r.expr)) used.set(n, `alert ${r.alert}`);
  for (const p of dashboard.panels) for (const t of p.targets ?? []) for (const n of metricNames(t.expr)) used.set(n, `panel "${p.title}"`);
  assert.ok(used.size >= 15, `only ${used.size} metrics referenced`);
  const missing = [...used].filter(([n]) => !exported.has(n) && !PROMETHEUS_OWN.has(n)).map(([n, where]) => `${n} (${where})`);
  assert.deepEqual(missing, [], "metrics referenced but not exported");
});

test("the alert rules cover what an operator must hear about, each with a severity and a summary", () => {
  const byName = new Map(rules.map((r) => [r.alert, r]));
  const expectations: [string, RegExp][] = [
    ["VenueDown", /gateway_venue_up/],
    ["VenueDegraded", /venue_requests_total/],
    ["AuditWriteFailures", /audit_errors_total/],
    ["GatewayLatencyP99High", /histogram_quantile\(0\.99.*grpc_server_handling_seconds_bucket/],
    ["OrderRejectRateHigh", /sum by \(reason\).*gateway_order_rejects_total/s],
    ["TradingStateNotActive", /trading_state\)? > 0/],
    ["StreamSubscribersDropped", /gateway_stream_subscribers_dropped_total/],
  ];
  for (const [name, re] of expectations) {
    const r = byName.get(name);
    assert.ok(r, `alert ${name} is missing`);
    assert.match(r.expr, re, name);
  }
  for (const r of rules) {
    assert.ok(r.labels?.["severity"] !== undefined, `${r.alert} has no severity`);
    assert.ok(r.annotations?.["summary"] !== undefined, `${r.alert} has no summary`);
  }
});

test("promtool accepts the rules and the Prometheus config (when promtool is installed)", (t) => {
  const which = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  if (which.error !== undefined) {
    t.skip("promtool is not installed (apt-get install prometheus): the rules were checked by the parse tests only");
    return;
  }
  const r = spawnSync("promtool", ["check", "rules", join(deploy, "prometheus/alerts.yml")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const c = spawnSync("promtool", ["check", "config", join(deploy, "prometheus/prometheus.yml")], { encoding: "utf8" });
  assert.equal(c.status, 0, c.stdout + c.stderr);
});

test("Prometheus scrapes the gateway's metrics listener as compose names it", () => {
  const prom = parse(read("prometheus/prometheus.yml")) as { rule_files: string[]; scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] };
  const job = prom.scrape_configs.find((j) => j.job_name === "trading-gateway");
  assert.ok(job);
  assert.equal(job.metrics_path ?? "/metrics", "/metrics");
  const port = compose.services["gateway"]!.environment!["METRICS_PORT"];
  assert.deepEqual(job.static_configs.flatMap((s) => s.targets), [`gateway:${port}`]);
  // The alerts rule (GatewayDown) uses this job name.
  assert.ok(rules.some((r) => r.expr.includes(`job="${job.job_name}"`)));
  assert.deepEqual(prom.rule_files, ["alerts.yml"]);
  assert.ok(compose.services["prometheus"]!.volumes!.includes("./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"));
});

test("the Grafana dashboard is valid and provisioned against the compose Prometheus", () => {
  assert.equal(dashboard.uid, "trading-gateway");
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
  const ds = parse(read("grafana/provisioning/datasources/prometheus.yml")) as { datasources: { uid: string; type: string; url: string }[] };
  const uid = ds.datasources[0]!.uid;
  assert.equal(ds.datasources[0]!.type, "prometheus");
  assert.equal(ds.datasources[0]!.url, "http://prometheus:9090");
  for (const p of dashboard.panels.filter((x) => x.type !== "row")) {
    assert.equal(p.datasource?.uid, uid, p.title);
    assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
  }
  const prov = parse(read("grafana/provisioning/dashboards/trading-gateway.yml")) as { providers: { options: { path: string } }[] };
  const grafanaVolumes = compose.services["grafana"]!.volumes!;
  assert.ok(grafanaVolumes.includes(`./grafana/dashboards:${prov.providers[0]!.options.path}:ro`), "the dashboards folder is mounted where the provider reads");
  assert.ok(grafanaVolumes.includes("./grafana/provisioning:/etc/grafana/provisioning:ro"));
  // The panels the issue names.
  const titles = dashboard.panels.map((p) => p.title).join("|");
  for (const t of ["Trading state", "Venues", "Audit write failures", "RPC latency p50 / p99", "Rejects /s by reason", "Stream subscribers"]) assert.ok(titles.includes(t), t);
});

test("docker-compose.yml: gateway from the Dockerfile, PostgreSQL, Prometheus, Grafana and Jaeger, wired to each other", () => {
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ["gateway", "grafana", "jaeger", "postgres", "prometheus"]);
  const g = s["gateway"]!;
  assert.ok(g.build !== undefined);
  assert.ok(existsSync(join(deploy, g.build.context, g.build.dockerfile)), "the gateway is built from the repository's Dockerfile");
  const env = g.environment!;
  // Every variable given to the gateway is a setting it knows (a typo would be ignored silently).
  const known = new Set(Object.values(settings).map((x) => x.env));
  for (const k of Object.keys(env)) assert.ok(known.has(k), `${k} is not a gateway setting`);
  // Audit log in the compose PostgreSQL, with its credentials.
  assert.equal(env["AUDIT_BACKEND"], "postgres");
  const pg = s["postgres"]!.environment!;
  assert.equal(env["AUDIT_PG_URL"], `postgres://${pg["POSTGRES_USER"]}:${pg["POSTGRES_PASSWORD"]}@postgres:5432/${pg["POSTGRES_DB"]}`);
  assert.deepEqual(Object.keys(g.depends_on as Record<string, unknown>).sort(), ["jaeger", "postgres"]);
  // Traces to Jaeger's OTLP/HTTP receiver.
  assert.equal(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://jaeger:4318");
  assert.equal(s["jaeger"]!.environment!["COLLECTOR_OTLP_ENABLED"], "true");
  // A public HOST needs API_KEYS or the explicit opt-out, or the gateway refuses to start.
  assert.ok(env["HOST"] !== "0.0.0.0" || env["API_KEYS"] !== undefined || env["ALLOW_INSECURE_PUBLIC"] === "true");
  // The ports the gateway listens on are the ones published, and every published port is on loopback.
  assert.ok(g.ports!.includes(`127.0.0.1:50051:50051`) && g.ports!.includes(`127.0.0.1:${env["METRICS_PORT"]}:${env["METRICS_PORT"]}`));
  for (const [name, svc] of Object.entries(s)) for (const p of svc.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name} publishes ${p} beyond loopback`);
  // Bind mounts exist; named volumes are declared; dependencies name services.
  for (const [name, svc] of Object.entries(s)) {
    for (const v of svc.volumes ?? []) {
      const src = v.split(":")[0]!;
      if (src.startsWith(".")) assert.ok(existsSync(join(deploy, src)), `${name}: ${src} does not exist`);
      else assert.ok(compose.volumes !== undefined && src in compose.volumes, `${name}: volume ${src} is not declared`);
    }
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const d of deps) assert.ok(d in s, `${name} depends on unknown ${d}`);
    assert.ok(svc.image !== undefined || svc.build !== undefined, `${name} has no image`);
  }
  assert.ok(s["prometheus"]!.command!.includes("--config.file=/etc/prometheus/prometheus.yml"));
});
