import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { credentialIdentity, loadVenuesFile, paperOnlyVenuesFile, parseVenuesFile, resolveCredentials } from "../../src/config/venues-file.js";

const minimal = { venues: [{ name: "binance", kind: "binance", baseUrl: "https://api.binance.com", credentials: { apiKey: { env: "BK" }, apiSecret: { file: "/run/secrets/bs" } } }] };

test("the contract fixture and a minimal file validate, with defaults", () => {
  const r = parseVenuesFile(minimal, "v.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error);
  assert.equal(r.value.pollIntervalMs, 1000);
  assert.equal(r.value.venues[0]!.timeoutMs, 2000);
  assert.deepEqual(r.value.venues[0]!.symbols, {});
  const fixture = new URL("../fixtures/venues/contract-venues.yaml", import.meta.url).pathname;
  const f = loadVenuesFile(fixture, (p) => readText(p).replace(/\$\{\w+\}/g, "http://127.0.0.1:1"));
  assert.ok(f.ok, f.ok ? "" : f.error);
  assert.deepEqual(f.value.venues.map((v) => v.kind), ["binance", "kraken", "alpaca", "coinbase", "rest-json"]);
});

test("YAML and JSON both load; syntax errors name the file", () => {
  const yaml = loadVenuesFile("/etc/venues.yaml", () => "venues:\n  - name: paper\n    kind: paper\n");
  assert.ok(yaml.ok);
  const json = loadVenuesFile("/etc/venues.json", () => JSON.stringify(minimal));
  assert.ok(json.ok);
  const broken = loadVenuesFile("/etc/venues.yaml", () => "venues: [ {");
  assert.ok(!broken.ok && broken.error.startsWith("/etc/venues.yaml: not valid YAML/JSON"));
  const missing = loadVenuesFile("/nope/venues.yaml");
  assert.ok(!missing.ok && missing.error === "/nope/venues.yaml: cannot read venue file (ENOENT)");
});

test("every mistake names the file and the offending field", () => {
  const cases: Array<[unknown, string]> = [
    [{ venues: [] }, "v.yaml: venues: must list at least one venue"],
    [{ venues: [{ ...minimal.venues[0], kind: "ftx" }] }, "v.yaml: venues[0].kind: must be one of paper, binance, kraken, alpaca, coinbase, rest-json"],
    [{ venues: [{ ...minimal.venues[0], baseUrl: "api.binance.com" }] }, "v.yaml: venues[0].baseUrl: must be an absolute URL"],
    [{ venues: [{ ...minimal.venues[0], timeoutMs: -5 }] }, "v.yaml: venues[0].timeoutMs:"],
    [{ venues: [{ ...minimal.venues[0], credentials: { apiKey: { env: "BK" } } }] }, "v.yaml: venues[0].credentials.apiSecret: required for kind binance"],
    [{ venues: [{ ...minimal.venues[0], credentials: { apiKey: { env: "B K" }, apiSecret: { env: "X" } } }] }, "v.yaml: venues[0].credentials.apiKey"],
    [{ venues: [{ ...minimal.venues[0], baseUrl: undefined }] }, "v.yaml: venues[0].baseUrl: required for kind binance"],
    [{ venues: [minimal.venues[0], minimal.venues[0]] }, 'v.yaml: venues[1].name: duplicate venue name "binance"'],
    [{ venues: [{ ...minimal.venues[0], colour: "red" }] }, "v.yaml: venues[0].colour:"],
    [{ venues: [{ name: "x", kind: "rest-json", baseUrl: "http://x" }] }, "v.yaml: venues[0].rules: required for kind rest-json"],
    [{ venues: [{ ...minimal.venues[0], recvWindowMs: 70000 }] }, "v.yaml: venues[0].recvWindowMs:"],
  ];
  for (const [content, prefix] of cases) {
    const r = parseVenuesFile(content, "v.yaml");
    assert.ok(!r.ok, JSON.stringify(content));
    assert.ok(r.error.startsWith(prefix), `${r.error}\n  should start with\n${prefix}`);
  }
});

test("rest-json rules are validated down to the field", () => {
  const base = new URL("../fixtures/venues/contract-venues.yaml", import.meta.url).pathname;
  const withUrls = (p: string) => readText(p).replace(/\$\{\w+\}/g, "http://127.0.0.1:1");
  const text = (mutate: (s: string) => string) => loadVenuesFile(base, (p) => mutate(withUrls(p)));
  const badStatus = text((s) => s.replace("done: FILLED", "done: COMPLETE"));
  assert.ok(!badStatus.ok && badStatus.error.includes("venues[4].rules.enums.status.done"), badStatus.ok ? "" : badStatus.error);
  const badField = text((s) => s.replace("amount: quantity", "amount: qty"));
  assert.ok(!badField.ok && badField.error.includes("venues[4].rules.place.fields.amount"), badField.ok ? "" : badField.error);
  const badQuery = text((s) => s.replace("/api/orders/by-client/{clientOrderId}", "/api/orders/{venueOrderId}"));
  assert.ok(!badQuery.ok && badQuery.error.includes("venues[4].rules.query.path"));
});

function readText(p: string): string {
  return readFileSync(p, "utf8");
}

test("credentials resolve from env and files; errors name the source, never a value", () => {
  const parsed = parseVenuesFile(minimal, "v.yaml");
  assert.ok(parsed.ok);
  const venue = parsed.value.venues[0]!;
  const r = resolveCredentials(venue, "v.yaml", { BK: "key-value" }, () => "secret-value\n");
  assert.ok(r.ok);
  assert.deepEqual(r.value, { apiKey: "key-value", apiSecret: "secret-value" });
  const noEnv = resolveCredentials(venue, "v.yaml", {}, () => "secret-value");
  assert.ok(!noEnv.ok && noEnv.error === "v.yaml: venue binance: credentials.apiKey: environment variable BK is not set");
  const noFile = resolveCredentials(venue, "v.yaml", { BK: "key-value" }, () => {
    throw Object.assign(new Error("secret-value"), { code: "EACCES" });
  });
  assert.ok(!noFile.ok && noFile.error === "v.yaml: venue binance: credentials.apiSecret: cannot read file /run/secrets/bs (EACCES)");
  assert.ok(!noFile.error.includes("key-value") && !noFile.error.includes("secret-value"));
  assert.equal(credentialIdentity(venue), "binance:env:BK");
});

test("built-in venues take rule overrides: deep-merged, validated, null removes", () => {
  const r = parseVenuesFile(
    {
      venues: [
        {
          ...minimal.venues[0],
          overrides: {
            enums: { status: { PENDING_NEW: null, TRADING_HALTED: "NEW" } },
            place: { fields: { selfTradePreventionMode: { value: "EXPIRE_TAKER" }, newOrderRespType: null } },
          },
        },
      ],
    },
    "v.yaml",
  );
  assert.ok(r.ok, r.ok ? "" : r.error);
  const rules = r.value.venues[0]!.rules!;
  assert.equal(rules.enums.status["TRADING_HALTED"], "NEW");
  assert.equal(rules.enums.status["PENDING_NEW"], undefined);
  assert.equal(rules.enums.status["FILLED"], "FILLED", "untouched entries stay");
  assert.deepEqual(rules.place.fields["selfTradePreventionMode"], { value: "EXPIRE_TAKER" });
  assert.equal(rules.place.fields["newOrderRespType"], undefined);
  const bad = parseVenuesFile({ venues: [{ ...minimal.venues[0], overrides: { enums: { status: { X: "DONE" } } } }] }, "v.yaml");
  assert.ok(!bad.ok && bad.error.startsWith("v.yaml: venues[0].overrides: enums.status.X:"), bad.ok ? "" : bad.error);
  const notForRestJson = parseVenuesFile({ venues: [{ ...minimal.venues[0], rules: {} }] }, "v.yaml");
  assert.ok(!notForRestJson.ok && notForRestJson.error.includes("venues[0].rules"));
});

test("without a venue file the gateway runs the paper venue only", () => {
  const f = paperOnlyVenuesFile();
  assert.deepEqual(f.venues.map((v) => [v.name, v.kind]), [["paper", "paper"]]);
  // It is a valid file in its own right.
  assert.ok(parseVenuesFile({ venues: f.venues }, f.path).ok);
});
