import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { VENUE_KINDS } from "../../src/adapters/venues/registry.js";
import type { TranslatorRules } from "../../src/adapters/venues/translator.js";
import { paperOnlyVenuesFile, resolveCredentials, resolveVenueCredentials } from "../../src/config/venues-file.js";
import { loadVenues as loadVenuesFile, parseVenues as parseVenuesFile } from "../helpers/venue-config.js";

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
  assert.deepEqual(f.value.venues.map((v) => v.kind), ["binance", "kraken", "alpaca", "coinbase", "rest-json", "rest-json"]);
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
    [{ venues: [{ ...minimal.venues[0], kind: "ftx" }] }, "v.yaml: venues.binance.kind: must be one of paper, binance, kraken, alpaca, coinbase, rest-json"],
    [{ venues: [{ ...minimal.venues[0], baseUrl: "api.binance.com" }] }, "v.yaml: venues.binance.baseUrl: must be an absolute URL"],
    [{ venues: [{ ...minimal.venues[0], timeoutMs: -5 }] }, "v.yaml: venues.binance.timeoutMs:"],
    [{ venues: [{ ...minimal.venues[0], credentials: { apiKey: { env: "BK" } } }] }, "v.yaml: venues.binance.credentials.apiSecret: required for kind binance"],
    [{ venues: [{ ...minimal.venues[0], credentials: { apiKey: { env: "B K" }, apiSecret: { env: "X" } } }] }, "v.yaml: venues.binance.credentials.apiKey"],
    [{ venues: [{ ...minimal.venues[0], baseUrl: undefined }] }, "v.yaml: venues.binance.baseUrl: required for kind binance"],
    [{ venues: [minimal.venues[0], minimal.venues[0]] }, 'v.yaml: venues[1].name: duplicate venue name "binance" (also venues[0])'],
    [{ venues: [{ ...minimal.venues[0], colour: "red" }] }, "v.yaml: venues.binance.colour: unknown field; the fields here are name, kind, baseUrl,"],
    [{ venues: [{ name: "x", kind: "rest-json", baseUrl: "http://x" }] }, "v.yaml: venues.x.rules: required for kind rest-json"],
    [{ venues: [{ ...minimal.venues[0], recvWindowMs: 70000 }] }, "v.yaml: venues.binance.recvWindowMs:"],
    [{ venues: [{ ...minimal.venues[0], auth: { type: "none" } }] }, "v.yaml: venues.binance.auth: only kind rest-json takes auth rules"],
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
  assert.ok(!badStatus.ok && badStatus.error.includes("venues.acme.rules.enums.status.done: must be one of"), badStatus.ok ? "" : badStatus.error);
  const badField = text((s) => s.replace("amount: quantity", "amount: qty"));
  assert.ok(!badField.ok && badField.error.includes("venues.acme.rules.place.fields.amount: must be one of symbol,"), badField.ok ? "" : badField.error);
  const typo = text((s) => s.replace("amount: quantity", "amount: quantiy"));
  assert.ok(!typo.ok && typo.error.endsWith("venues.acme.rules.place.fields.amount: must be one of symbol, side, type, timeInForce, quantity, price, stopPrice, clientOrderId, venueOrderId or a mapping {from|value, when, decimals}; did you mean quantity?"), typo.ok ? "" : typo.error);
  const badQuery = text((s) => s.replace("/api/orders/by-client/{clientOrderId}", "/api/orders/{venueOrderId}"));
  assert.ok(!badQuery.ok && badQuery.error.includes("venues.acme.rules.query.path"));
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
  assert.equal(venue.credentialIdentity, "binance:env:BK");
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
  const rules = r.value.venues[0]!.rules as TranslatorRules;
  assert.equal(rules.enums.status["TRADING_HALTED"], "NEW");
  assert.equal(rules.enums.status["PENDING_NEW"], undefined);
  assert.equal(rules.enums.status["FILLED"], "FILLED", "untouched entries stay");
  assert.deepEqual(rules.place.fields["selfTradePreventionMode"], { value: "EXPIRE_TAKER" });
  assert.equal(rules.place.fields["newOrderRespType"], undefined);
  const bad = parseVenuesFile({ venues: [{ ...minimal.venues[0], overrides: { enums: { status: { X: "DONE" } } } }] }, "v.yaml");
  assert.ok(!bad.ok && bad.error.startsWith("v.yaml: venues.binance.overrides: enums.status.X:"), bad.ok ? "" : bad.error);
  const notForRestJson = parseVenuesFile({ venues: [{ ...minimal.venues[0], rules: {} }] }, "v.yaml");
  assert.ok(!notForRestJson.ok && notForRestJson.error.includes("venues.binance.rules"));
});

test("without a venue file the gateway runs the paper venue only", () => {
  const f = paperOnlyVenuesFile(VENUE_KINDS);
  assert.deepEqual(f.venues.map((v) => [v.name, v.kind]), [["paper", "paper"]]);
  // It is a valid file in its own right (the identity is computed, not written).
  assert.ok(parseVenuesFile({ venues: f.venues.map(({ credentialIdentity: _, ...v }) => v) }, f.path).ok);
});

const load = (text: string) => loadVenuesFile("/etc/gw/venues.yaml", () => text);
const errorOf = (text: string): string => {
  const r = load(text);
  assert.ok(!r.ok, `should be refused:\n${text}`);
  return r.error;
};

test("an unknown field names the file, the venue, the field and the nearest valid field", () => {
  const venue = "venues:\n  - name: binance-main\n    kind: binance\n    baseUrl: https://api.binance.com\n    credentials: { apiKey: { env: BK }, apiSecret: { env: BS } }\n";
  const cases: Array<[string, string]> = [
    // Case-insensitive match first, then edit distance.
    ["    baseURL: https://api.binance.com\n", "/etc/gw/venues.yaml: venues.binance-main.baseURL: unknown field; did you mean baseUrl?"],
    ["    timeout: 500\n", "/etc/gw/venues.yaml: venues.binance-main.timeout: unknown field; did you mean timeoutMs?"],
    ["    symbol: { BTC-USDT: BTCUSDT }\n", "/etc/gw/venues.yaml: venues.binance-main.symbol: unknown field; did you mean symbols?"],
    ["    rateLimit: { capacity: 10, refilPerSecond: 1 }\n", "/etc/gw/venues.yaml: venues.binance-main.rateLimit.refilPerSecond: unknown field; did you mean refillPerSecond?"],
    ["    kind: Binance\n", "/etc/gw/venues.yaml: venues.binance-main.kind: must be one of paper, binance, kraken, alpaca, coinbase, rest-json; did you mean binance?"],
    // Nothing close: the valid fields are listed instead.
    ["    colour: red\n", "/etc/gw/venues.yaml: venues.binance-main.colour: unknown field; the fields here are name, kind, baseUrl, credentials, symbols, timeoutMs, connections, rateLimit, recvWindowMs, rules, auth, errors, weights, stream, paper, adoptExternalOrders, externalAccount, exclusiveKey, streamUrl, userStream, streamPollIntervalMs, overrides"],
  ];
  for (const [line, expected] of cases) {
    const text = line.startsWith("    kind:") ? venue.replace("    kind: binance\n", line) : venue + line;
    assert.equal(errorOf(text), expected);
  }
  // Inside a credential source (one mapping, so the typo is found, not "matches no option").
  assert.equal(
    errorOf(venue.replace("apiKey: { env: BK }", "apiKey: { enV: BK }")),
    "/etc/gw/venues.yaml: venues.binance-main.credentials.apiKey.enV: unknown field; did you mean env?",
  );
  assert.equal(errorOf(venue.replace("apiKey: { env: BK }", "apiKey: { env: BK, file: /k }")), "/etc/gw/venues.yaml: venues.binance-main.credentials.apiKey: must be {env: NAME} or {file: PATH}");
  // A misspelt required field is reported as the typo, not as the missing field.
  assert.equal(errorOf("venues: [{ nmae: paper, kind: paper }]"), "/etc/gw/venues.yaml: venues[0].nmae: unknown field; did you mean name?");
  // Top level, and inside rest-json rules (a union: the message comes from the field that failed).
  assert.equal(errorOf("pollIntervalMS: 500\nvenues: [{ name: paper, kind: paper }]"), "/etc/gw/venues.yaml: pollIntervalMS: unknown field; did you mean pollIntervalMs?");
  const fixture = readText(new URL("../fixtures/venues/contract-venues.yaml", import.meta.url).pathname).replace(/\$\{\w+\}/g, "http://127.0.0.1:1");
  assert.equal(
    errorOf(fixture.replace("limit: { from: price,", "limit: { form: price,")),
    "/etc/gw/venues.yaml: venues.acme.rules.place.fields.limit.form: unknown field; did you mean from?",
  );
  assert.equal(errorOf(fixture.replace("method: POST", "methd: POST")), "/etc/gw/venues.yaml: venues.acme.rules.place.methd: unknown field; did you mean method?");
  assert.equal(
    errorOf(fixture.replace("auth: { type: header,", "auth: { type: Header,")),
    "/etc/gw/venues.yaml: venues.acme.auth.type: must be one of none, header, hmac; did you mean header?",
  );
  // Two venues with one name: positions, since the name does not say which.
  assert.match(errorOf("venues: [{ name: p, kind: paper }, { name: p, kind: paper, colour: red }]"), /^\/etc\/gw\/venues\.yaml: venues\[1\]\.colour: unknown field/);
});

test("an empty file, or one without venues, says venues is required and shows the shape", () => {
  const example = "the file lists the venues to enable, e.g. venues: [{ name: paper, kind: paper }]";
  assert.equal(errorOf(""), `/etc/gw/venues.yaml: venues: is required (the file is empty): ${example}`);
  assert.equal(errorOf("# venues to come\n"), `/etc/gw/venues.yaml: venues: is required (the file is empty): ${example}`);
  assert.equal(errorOf("pollIntervalMs: 500\n"), `/etc/gw/venues.yaml: venues: is required: ${example}`);
  assert.equal(errorOf("venue: [{ name: paper, kind: paper }]\n"), "/etc/gw/venues.yaml: venue: unknown field; did you mean venues?");
  assert.equal(errorOf("- name: paper\n  kind: paper\n"), "/etc/gw/venues.yaml: (root): must be a mapping with a venues list, e.g. venues: [{ name: paper, kind: paper }]");
  assert.equal(errorOf("venues: []\n"), "/etc/gw/venues.yaml: venues: must list at least one venue");
});

test("decimal settings take YAML/JSON numbers as exact decimal strings; bad ones name the field", () => {
  const paper = (options: string) => `venues:\n  - name: sim\n    kind: paper\n    paper: ${options}\n`;
  const r = load(paper("{ feeRate: 0.001, referencePrices: { BTC-USD: 1e6, ETH-USD: 0.1, SOL-USD: '150.50', X: 0.12345678901234567891 }, liquidity: { BTC-USD: 100, ETH-USD: 0 } }"));
  assert.ok(r.ok, r.ok ? "" : r.error);
  assert.deepEqual(r.value.venues[0]!.paper, {
    feeRate: "0.001",
    // More digits than a double holds: the file's digits, not 0.12345678901234568.
    referencePrices: { "BTC-USD": "1000000", "ETH-USD": "0.1", "SOL-USD": "150.50", X: "0.12345678901234567891" },
    liquidity: { "BTC-USD": "100", "ETH-USD": "0" },
  });
  const json = loadVenuesFile("v.json", () => JSON.stringify({ venues: [{ name: "sim", kind: "paper", paper: { feeRate: 0.0005, referencePrices: { A: 65000.5 } } }] }));
  assert.ok(json.ok, json.ok ? "" : json.error);
  assert.deepEqual(json.value.venues[0]!.paper, { feeRate: "0.0005", referencePrices: { A: "65000.5" } });
  const refused: Array<[string, string]> = [
    ["{ feeRate: -0.1 }", "venues.sim.paper.feeRate: must not be negative, got -0.1"],
    ["{ feeRate: '-0.1' }", 'venues.sim.paper.feeRate: must not be negative, got "-0.1"'],
    ["{ feeRate: .nan }", 'venues.sim.paper.feeRate: must be a finite decimal such as "100", 0.5 or 0, got NaN'],
    ["{ referencePrices: { A: .inf } }", 'venues.sim.paper.referencePrices.A: must be a finite decimal such as "100" or 0.5, got Infinity'],
    ["{ referencePrices: { A: 0 } }", "venues.sim.paper.referencePrices.A: must be greater than zero, got 0"],
    ["{ referencePrices: { A: 'lots' } }", 'venues.sim.paper.referencePrices.A: must be a decimal such as "100" or 0.5, got "lots"'],
    ["{ feeRate: true }", 'venues.sim.paper.feeRate: must be a decimal such as "100", 0.5 or 0, got true'],
    ["{ feeRates: 0.001 }", "venues.sim.paper.feeRates: unknown field; did you mean feeRate?"],
  ];
  for (const [options, expected] of refused) assert.equal(errorOf(paper(options)), `/etc/gw/venues.yaml: ${expected}`);
  // Integer settings stay numbers; a number a double cannot hold is refused, not rounded.
  assert.match(errorOf("venues: [{ name: sim, kind: paper, timeoutMs: 12345678901234567890 }]"), /venues\.sim\.timeoutMs: Invalid type: Expected number but received "12345678901234567890"/);
});

test("resolveVenueCredentials: every venue's secrets become values before any venue is built; the first missing one is named", () => {
  const parsed = parseVenuesFile(minimal, "/etc/venues.yaml");
  assert.ok(parsed.ok);
  const r = resolveVenueCredentials(parsed.value, { BK: "key-value" }, () => "secret-value\n");
  assert.ok(r.ok, r.ok ? "" : r.error);
  assert.deepEqual(r.value.venues[0]!.credentials, { apiKey: "key-value", apiSecret: "secret-value" });
  assert.equal(r.value.venues[0]!.credentialIdentity, "binance:env:BK", "the identity names the source, never the value");
  const missing = resolveVenueCredentials(parsed.value, {}, () => "secret-value");
  assert.ok(!missing.ok && missing.error === "/etc/venues.yaml: venue binance: credentials.apiKey: environment variable BK is not set");
});

test("each kind's options belong to it: another kind's option is refused naming the kind that takes it", () => {
  const errorFor = (extra: Record<string, unknown>, kind = minimal.venues[0]) => {
    const r = parseVenuesFile({ venues: [{ ...kind, ...extra }] }, "v.yaml");
    return r.ok ? "" : r.error;
  };
  assert.equal(errorFor({ paper: { feeRate: "0.001" } }), "v.yaml: venues.binance.paper: only kind paper takes paper options");
  assert.equal(errorFor({ errors: { messagePath: "msg" } }), "v.yaml: venues.binance.errors: only kind rest-json takes errors (built-in kinds read errors as their venue documents)");
  assert.equal(errorFor({ weights: { place: 1, cancel: 1, query: 1 } }), "v.yaml: venues.binance.weights: only kind rest-json takes weights (built-in kinds use their venue's documented weights)");
  const paper = { name: "sim", kind: "paper" };
  assert.equal(errorFor({ recvWindowMs: 5000 }, paper as never), "v.yaml: venues.sim.recvWindowMs: only kind binance takes recvWindowMs");
  assert.equal(errorFor({ overrides: {} }, paper as never), "v.yaml: venues.sim.overrides: kind paper has no built-in translator rules to override");
});
