import { test } from "node:test";
import assert from "node:assert/strict";
import { tracingChannel } from "node:diagnostics_channel";
import pino from "pino";
import type { DestinationStream, Logger, LoggerOptions } from "pino";
import { createAccessLineWriter, type AccessLine } from "../../../src/rpc/interceptors/access-line.js";
import { createLogger, redactCredentials } from "../../../src/shared/logger.js";

function capture(): DestinationStream & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

const base: AccessLine = {
  reqId: "ce00612c-09d3-80ed-bb24-000000000001",
  service: "trading.v1.TradingGateway",
  method: "PlaceOrder",
  protocol: "grpc",
  peer: "127.0.0.1:53786",
  code: "OK",
  durationMs: 3.335,
};

/** A logger as createLogger makes it (same log formatter), with pino's time fixed so lines compare whole. */
function loggerWith(extra: LoggerOptions = {}): { logger: Logger; out: ReturnType<typeof capture> } {
  const out = capture();
  const logger = pino({ level: "info", formatters: { log: redactCredentials }, timestamp: () => ',"time":42', ...extra }, out);
  return { logger, out };
}

/** What the writer wrote, what logger.info wrote for the same fields, and how often the writer fell back to logger.info. */
function both(logger: Logger, out: { lines: string[] }, line: AccessLine): { fast: string[]; pino: string[]; fallbacks: number } {
  const write = createAccessLineWriter(logger, redactCredentials);
  const info = logger.info.bind(logger);
  let fallbacks = 0;
  logger.info = ((...a: Parameters<typeof info>) => {
    fallbacks++;
    info(...a);
  }) as typeof logger.info;
  out.lines.length = 0;
  write(line);
  const fast = out.lines.splice(0);
  info({ ...line }, "rpc");
  return { fast, pino: out.lines.splice(0), fallbacks };
}

test("the access line is pino's line byte for byte, without going through logger.info", () => {
  const { logger, out } = loggerWith();
  const r = both(logger, out, base);
  assert.equal(r.fallbacks, 0);
  assert.equal(r.fast.length, 1);
  assert.deepEqual(r.fast, r.pino);
  assert.match(r.fast[0]!, /^\{"level":30,"time":42,"pid":\d+,"hostname":"[^"]*","reqId":"ce00612c/);
  // Durations as pino writes numbers: integers, fractions, exponents.
  for (const durationMs of [0, 12, 0.001, 1e-7, 123456.789]) assert.deepEqual(both(logger, out, { ...base, durationMs }).fast, both(logger, out, { ...base, durationMs }).pino);
});

test("a child logger's bindings and setBindings are in the line, as pino writes them", () => {
  const { logger, out } = loggerWith();
  const child = logger.child({ component: "rpc", n: 1 });
  assert.deepEqual(both(child, out, base).fast, both(child, out, base).pino);
  child.setBindings({ zone: "b" });
  const r = both(child, out, base);
  assert.equal(r.fallbacks, 0);
  assert.deepEqual(r.fast, r.pino);
  assert.match(r.fast[0]!, /"component":"rpc","n":1,"zone":"b","reqId"/);
});

test("values that need escaping, a missing peer and odd durations go through pino itself", () => {
  const { logger, out } = loggerWith();
  const odd: Partial<AccessLine>[] = [
    { reqId: 'r-"quoted"' },
    { reqId: "back\\slash" },
    { reqId: "tab\there" },
    { reqId: "é" },
    { reqId: "\ud800" },
    { peer: "[::1]:1\u007f" },
    { peer: undefined },
    { method: "Place\nOrder" },
    { service: "a\u2028b" },
    { protocol: "x\u0000" },
    { code: "O\"K" },
    { durationMs: Number.NaN },
    { durationMs: Number.POSITIVE_INFINITY },
  ];
  for (const change of odd) {
    const r = both(logger, out, { ...base, ...change });
    assert.equal(r.fallbacks, 1, JSON.stringify(change));
    assert.deepEqual(r.fast, r.pino, JSON.stringify(change));
  }
});

test("nothing is written below the logger's level, and a level change applies at once", () => {
  const { logger, out } = loggerWith({ level: "warn" });
  const write = createAccessLineWriter(logger, redactCredentials);
  write(base);
  assert.equal(out.lines.length, 0);
  logger.level = "info";
  write(base);
  assert.equal(out.lines.length, 1);
  logger.level = "silent";
  write(base);
  assert.equal(out.lines.length, 1);
});

test("a logger whose output the writer cannot reproduce gets every line through logger.info", () => {
  const custom: [string, LoggerOptions][] = [
    ["mixin", { mixin: () => ({ extra: 1 }) }],
    ["logMethod hook", { hooks: { logMethod(args, method) { method.apply(this, args); } } }],
    ["streamWrite hook", { hooks: { streamWrite: (s) => s.replace("rpc", "RPC") } }],
    ["nested key", { nestedKey: "payload" }],
    ["message key", { messageKey: "message" }],
    ["message prefix", { msgPrefix: "[gw] " }],
    ["serializer", { serializers: { peer: (p: string) => `peer:${p}` } }],
    ["other log formatter", { formatters: { log: (o) => ({ ...o, added: true }) } }],
    ["level formatter", { formatters: { log: redactCredentials, level: (label) => ({ severity: label }) } }],
  ];
  for (const [name, options] of custom) {
    const { logger, out } = loggerWith(options);
    const r = both(logger, out, base);
    assert.deepEqual(r.fast, r.pino, name);
    if (name !== "level formatter") assert.equal(r.fallbacks, 1, name);
  }
  // A stream that wants metadata (pino.multistream) is told about every line by pino.
  const out = capture();
  const logger = pino({ level: "info", formatters: { log: redactCredentials }, timestamp: () => ',"time":42' }, pino.multistream([{ stream: out }]));
  const r = both(logger, out, base);
  assert.equal(r.fallbacks, 1);
  assert.deepEqual(r.fast, r.pino);
});

test("while someone traces pino's asJson, lines go through pino so the trace sees them", () => {
  const { logger, out } = loggerWith();
  const seen: unknown[] = [];
  const handlers = { start: (m: unknown) => void seen.push(m), end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
  tracingChannel("pino_asJson").subscribe(handlers);
  try {
    const r = both(logger, out, base);
    assert.equal(r.fallbacks, 1);
    assert.deepEqual(r.fast, r.pino);
    assert.equal(seen.length, 2);
  } finally {
    tracingChannel("pino_asJson").unsubscribe(handlers);
  }
});

test("with the production logger the line carries the real time and goes to its destination", () => {
  const out = capture();
  const logger = createLogger({ level: "info", format: "json", destination: out });
  const before = Date.now();
  createAccessLineWriter(logger, redactCredentials)(base);
  assert.equal(out.lines.length, 1);
  const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  assert.ok(typeof line["time"] === "number" && line["time"] >= before && line["time"] <= Date.now());
  assert.deepEqual({ ...line, time: 0, pid: 0, hostname: "" }, { level: 30, time: 0, pid: 0, hostname: "", ...base, msg: "rpc" });
  assert.ok(out.lines[0]!.endsWith("}\n"));
});

test("with tracing on, the trace id is in the line, after durationMs, byte for byte as pino writes it", () => {
  const { logger, out } = loggerWith();
  const traced = { ...base, traceId: "0af7651916cd43dd8448eb211c80319c" };
  const r = both(logger, out, traced);
  assert.equal(r.fallbacks, 0);
  assert.deepEqual(r.fast, r.pino);
  assert.match(r.fast[0]!, /"durationMs":3\.335,"traceId":"0af7651916cd43dd8448eb211c80319c","msg":"rpc"/);
  // Without a trace id the line is as before: no traceId key at all.
  assert.doesNotMatch(both(logger, out, base).fast[0]!, /traceId/);
});
