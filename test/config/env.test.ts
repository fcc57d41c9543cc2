import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultConfig, formatHelp, formatSettingsMarkdown, loadConfig, parseApiKeys, parseCli, redactPgUrl, settings } from "../../src/config/env.js";

const HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // sha256("test")

test("defaults are valid and typed", () => {
  const c = defaultConfig();
  assert.equal(c.host, "127.0.0.1");
  assert.equal(c.port, 50051);
  assert.equal(c.metricsPort, 9464);
  assert.equal(c.logFormat, "json");
  assert.equal(c.auditMode, "fsync");
  assert.equal(c.auditFile, "./data/audit.jsonl");
  assert.equal(c.fastPath, true);
  assert.deepEqual(c.apiKeys, []);
  assert.deepEqual(c.corsOrigins, []);
  assert.equal(c.tlsCertFile, undefined);
});

test("values are parsed; AUDIT_MODE=none means off; METRICS_PORT=off disables", () => {
  const r = loadConfig({ PORT: "6000", AUDIT_MODE: "none", METRICS_PORT: "off", FAST_PATH: "off", CORS_ORIGINS: "https://a.example, https://b.example", RATE_LIMIT_RPS: "2.5" });
  assert.ok(r.ok);
  assert.equal(r.value.port, 6000);
  assert.equal(r.value.auditMode, "off");
  assert.equal(r.value.metricsPort, undefined);
  assert.equal(r.value.fastPath, false);
  assert.deepEqual(r.value.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(r.value.rateLimitRps, 2.5);
});

test("every bad variable is reported at once, by name and with what it expects", () => {
  const r = loadConfig({ PORT: "70000", LOG_LEVEL: "loud", AUDIT_MODE: "sometimes", MAX_MESSAGE_BYTES: "1e6" });
  assert.ok(!r.ok);
  const byEnv = new Map(r.error.map((i) => [i.env, i.message]));
  assert.deepEqual([...byEnv.keys()].sort(), ["AUDIT_MODE", "LOG_LEVEL", "MAX_MESSAGE_BYTES", "PORT"]);
  assert.match(byEnv.get("PORT")!, /PORT="70000" is invalid: expected an integer 0\.\.65535/);
  assert.match(byEnv.get("LOG_LEVEL")!, /fatal\|error\|warn\|info/);
  assert.match(byEnv.get("AUDIT_MODE")!, /fsync\|buffered\|off/);
});

test("API_KEYS: hashes bound to accounts, * for all; malformed entries are named", () => {
  const ok = parseApiKeys(`${HASH}=acct1|acct2; ${"a".repeat(64)}=*`);
  assert.ok(ok.ok);
  assert.deepEqual([...(ok.value[0]!.accounts as Set<string>)], ["acct1", "acct2"]);
  assert.equal(ok.value[1]!.accounts, "any");
  const bad = loadConfig({ API_KEYS: "not-a-hash=acct1" });
  assert.ok(!bad.ok);
  assert.match(bad.error[0]!.message, /API_KEYS.*64-character hex SHA-256/);
  assert.ok(!parseApiKeys(`${HASH}=acct 1`).ok);
  assert.ok(!parseApiKeys(`${HASH}=a;${HASH}=b`).ok, "duplicate hash");
  assert.ok(!parseApiKeys(HASH).ok, "no accounts");
});

test("a non-loopback HOST with authentication off is refused unless ALLOW_INSECURE_PUBLIC", () => {
  const r = loadConfig({ HOST: "0.0.0.0" });
  assert.ok(!r.ok);
  assert.match(r.error[0]!.message, /HOST=0\.0\.0\.0.*API_KEYS.*ALLOW_INSECURE_PUBLIC/);
  assert.ok(loadConfig({ HOST: "0.0.0.0", ALLOW_INSECURE_PUBLIC: "true" }).ok);
  assert.ok(loadConfig({ HOST: "0.0.0.0", API_KEYS: `${HASH}=*` }).ok);
  assert.ok(loadConfig({ HOST: "::1" }).ok);
});

test("TLS files must come as a pair; a CA needs them", () => {
  assert.ok(!loadConfig({ TLS_CERT_FILE: "/c.pem" }).ok);
  assert.ok(!loadConfig({ TLS_CA_FILE: "/ca.pem" }).ok);
  assert.ok(loadConfig({ TLS_CERT_FILE: "/c.pem", TLS_KEY_FILE: "/k.pem", TLS_CA_FILE: "/ca.pem" }).ok);
});

test("--port overrides PORT; --help; unknown flags are errors", () => {
  const cli = parseCli(["--port", "7000"]);
  assert.ok(cli.ok);
  const r = loadConfig({ PORT: "6000" }, cli.value.overrides);
  assert.ok(r.ok);
  assert.equal(r.value.port, 7000);
  assert.deepEqual(parseCli(["--port=7001"]), { ok: true, value: { help: false, overrides: { PORT: "7001" } } });
  assert.equal(parseCli(["--help"]).ok && parseCli(["--help"]).ok, true);
  assert.ok(!parseCli(["--prot", "1"]).ok);
  assert.ok(!parseCli(["--port"]).ok);
});

test("--help and the README table list every setting with its default", () => {
  const help = formatHelp();
  const md = formatSettingsMarkdown();
  for (const s of Object.values(settings)) {
    assert.ok(help.includes(s.env), s.env);
    assert.ok(md.includes(`\`${s.env}\``), s.env);
  }
  assert.match(help, /PORT {2}\(default: "50051"/);
});

test("audit settings: defaults, and the postgres back-end needs AUDIT_PG_URL", () => {
  const c = defaultConfig();
  assert.equal(c.auditBackend, "jsonl");
  assert.equal(c.auditPgUrl, undefined);
  assert.equal(c.auditPgTable, "audit_log");
  assert.equal(c.auditOnCorrupt, "skip");
  assert.equal(c.auditBatchMs, 0, "commit as soon as no commit is in flight");
  assert.equal(c.idempotencyMaxEntries, 250_000, "bounded (~250 MB), and a de-dup window of ~17 s even at 15,000 orders/s");
  assert.equal(c.orderRetentionMs, c.idempotencyTtlMs, "a replayed order can still be looked up");

  const missing = loadConfig({ AUDIT_BACKEND: "postgres" });
  assert.ok(!missing.ok);
  assert.deepEqual(missing.error.map((i) => i.env), ["AUDIT_PG_URL"]);
  assert.match(missing.error[0]!.message, /AUDIT_PG_URL is required with AUDIT_BACKEND=postgres/);

  const good = loadConfig({ AUDIT_BACKEND: "Postgres", AUDIT_PG_URL: " postgres://gw@db:5432/trading ", AUDIT_PG_TABLE: "audit.log_v1", AUDIT_ON_CORRUPT: "fail" });
  assert.ok(good.ok);
  assert.equal(good.value.auditBackend, "postgres");
  assert.equal(good.value.auditPgUrl, "postgres://gw@db:5432/trading");
  assert.equal(good.value.auditPgTable, "audit.log_v1");
  assert.equal(good.value.auditOnCorrupt, "fail");

  // Reconnect back-off bounds after a lost database connection.
  assert.equal(c.auditPgReconnectMinMs, 100);
  assert.equal(c.auditPgReconnectMaxMs, 5000);
  const backoff = loadConfig({ AUDIT_PG_RECONNECT_MIN_MS: "2000", AUDIT_PG_RECONNECT_MAX_MS: "500" });
  assert.ok(!backoff.ok);
  assert.deepEqual(backoff.error.map((i) => i.env), ["AUDIT_PG_RECONNECT_MAX_MS"]);
  assert.match(backoff.error[0]!.message, /AUDIT_PG_RECONNECT_MAX_MS=500 is below AUDIT_PG_RECONNECT_MIN_MS=2000/);
  assert.ok(!loadConfig({ AUDIT_PG_RECONNECT_MIN_MS: "0" }).ok);
});

test("bad audit settings are named; a password in AUDIT_PG_URL is never echoed", () => {
  const r = loadConfig({
    AUDIT_BACKEND: "sqlite",
    AUDIT_PG_URL: "mysql://gw:s3cret@db/trading",
    AUDIT_PG_TABLE: 'x"; DROP TABLE y; --',
    AUDIT_ON_CORRUPT: "ignore",
  });
  assert.ok(!r.ok);
  const byEnv = new Map(r.error.map((i) => [i.env, i.message]));
  assert.deepEqual([...byEnv.keys()].sort(), ["AUDIT_BACKEND", "AUDIT_ON_CORRUPT", "AUDIT_PG_TABLE", "AUDIT_PG_URL"]);
  assert.match(byEnv.get("AUDIT_BACKEND")!, /expected jsonl\|postgres/);
  assert.match(byEnv.get("AUDIT_ON_CORRUPT")!, /expected skip\|fail/);
  assert.match(byEnv.get("AUDIT_PG_TABLE")!, /expected table or schema\.table/);
  assert.match(byEnv.get("AUDIT_PG_URL")!, /scheme mysql: is not postgres: or postgresql:/);
  for (const i of r.error) assert.ok(!i.message.includes("s3cret") && !String(i.value).includes("s3cret"), i.message);
  assert.match(byEnv.get("AUDIT_PG_URL")!, /gw:\*\*\*@db/);
  const unparsable = loadConfig({ AUDIT_PG_URL: "gw:s3cret@@ db" });
  assert.ok(!unparsable.ok);
  assert.ok(!unparsable.error[0]!.message.includes("s3cret"));
  assert.equal(redactPgUrl("postgresql://u:pw@h/db?sslpassword=k&sslmode=require"), "postgresql://u:***@h/db?sslpassword=***&sslmode=require");
});
