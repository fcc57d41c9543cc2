/**
 * deploy/ha (docker compose + Envoy) and deploy/k8s are not run in CI (no Docker engine, no
 * cluster): their structure is checked here, so a renamed port, service or label breaks a test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";

const root = path.resolve(import.meta.dirname, "../..");
// merge: the compose file shares one replica definition through a YAML merge key (<<).
const load = (f: string) => parse(readFileSync(path.join(root, f), "utf8"), { merge: true }) as Record<string, any>;

test("deploy/ha/docker-compose.yml: PostgreSQL, two gateway replicas on one table, Envoy", () => {
  const c = load("deploy/ha/docker-compose.yml");
  const s = c["services"];
  assert.ok(s["postgres"]?.healthcheck, "postgres has a health check");
  const gateways = Object.keys(s).filter((k) => k.startsWith("gateway"));
  assert.ok(gateways.length >= 2, "two or more gateway replicas");
  const urls = new Set<string>();
  const tables = new Set<string>();
  for (const g of gateways) {
    const e = s[g].environment;
    assert.equal(e.AUDIT_BACKEND, "postgres");
    assert.notEqual(e.HA, "off");
    urls.add(e.AUDIT_PG_URL);
    tables.add(e.AUDIT_PG_TABLE);
    assert.equal(s[g].depends_on.postgres.condition, "service_healthy");
    assert.match(JSON.stringify(s[g].healthcheck.test), /healthz/, "Docker's check is liveness (a standby is not ready by design)");
    assert.equal(e.PORT, "50051");
  }
  assert.equal(urls.size, 1, "one database");
  assert.equal(tables.size, 1, "one table: one group");
  assert.ok(s["envoy"], "a proxy");
  assert.ok(s["envoy"].volumes.some((v: string) => v.startsWith("./envoy.yaml:")));
});

test("deploy/ha/envoy.yaml: every replica upstream, HTTP/2, gRPC health check on TradingGateway", () => {
  const e = load("deploy/ha/envoy.yaml");
  const compose = load("deploy/ha/docker-compose.yml");
  const cluster = e["static_resources"].clusters.find((c: any) => c.name === "gateway");
  assert.ok(cluster);
  const hosts = cluster.load_assignment.endpoints.flatMap((x: any) => x.lb_endpoints.map((l: any) => l.endpoint.address.socket_address));
  const gateways = Object.keys(compose["services"]).filter((k) => k.startsWith("gateway"));
  assert.deepEqual(hosts.map((h: any) => h.address).sort(), gateways.sort());
  for (const h of hosts) assert.equal(h.port_value, 50051);
  assert.ok(cluster.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_options !== undefined);
  const hc = cluster.health_checks[0];
  assert.equal(hc.grpc_health_check.service_name, TradingGateway.typeName);
  const route = e["static_resources"].listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route;
  assert.equal(route.cluster, "gateway");
  assert.match(route.retry_policy.retry_on, /unavailable/);
  const ports = (compose["services"].envoy.ports as string[]).map((p) => p.split(":")[0]);
  assert.ok(ports.includes(String(e["static_resources"].listeners[0].address.socket_address.port_value)));
});

test("deploy/k8s: Deployment with 2+ replicas and a gRPC readiness probe on TradingGateway, Service and PodDisruptionBudget select its pods", () => {
  const docs = ["deployment.yaml", "service.yaml", "pdb.yaml"].flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(root, "deploy/k8s", f), "utf8")).map((d) => d.toJS() as Record<string, any>),
  );
  const dep = docs.find((d) => d["kind"] === "Deployment")!;
  const svc = docs.find((d) => d["kind"] === "Service")!;
  const pdb = docs.find((d) => d["kind"] === "PodDisruptionBudget")!;
  assert.ok(dep && svc && pdb);
  assert.ok(dep["spec"].replicas >= 2);
  const labels = dep["spec"].template.metadata.labels;
  const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  assert.ok(matches(dep["spec"].selector.matchLabels));
  assert.ok(matches(svc["spec"].selector), "the Service selects the Deployment's pods");
  assert.ok(matches(pdb["spec"].selector.matchLabels), "the PodDisruptionBudget selects the Deployment's pods");
  assert.ok(pdb["spec"].maxUnavailable === 1 || pdb["spec"].minAvailable >= 1);
  const c = dep["spec"].template.spec.containers[0];
  const grpcPort = c.ports.find((p: any) => p.name === "grpc").containerPort;
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env["AUDIT_BACKEND"], "postgres");
  assert.equal(String(grpcPort), env["PORT"]);
  assert.equal(c.readinessProbe.grpc.port, grpcPort, "the readiness probe asks the RPC port");
  assert.equal(c.readinessProbe.grpc.service, TradingGateway.typeName);
  const metricsPort = c.ports.find((p: any) => p.name === "metrics").containerPort;
  assert.equal(String(metricsPort), env["METRICS_PORT"]);
  assert.equal(c.livenessProbe.httpGet.path, "/healthz");
  assert.ok(svc["spec"].ports.some((p: any) => p.targetPort === "grpc" || p.targetPort === grpcPort));
});
