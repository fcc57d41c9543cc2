import assert from "node:assert/strict";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { test } from "node:test";
import { inspect } from "node:util";
import { LazyResponseHeaders, NodeRequestHeaders } from "../../../src/server/fast-path/fast-path-call.js";

/** connect-node's nodeHeaderToWebHeader (node-universal-header.js, not exported), verbatim: what the lazy Headers must equal. */
function reference(nodeHeaders: IncomingHttpHeaders): Headers {
  const header = new Headers();
  for (const [k, v] of Object.entries(nodeHeaders)) {
    if (k.startsWith(":")) continue;
    if (v === undefined) continue;
    if (typeof v == "string") header.append(k, v);
    else if (typeof v == "number") header.append(k, String(v));
    else for (const e of v) header.append(k, e);
  }
  return header;
}

const lazy = (raw: IncomingHttpHeaders) => new NodeRequestHeaders(raw) as unknown as Headers;

/** What a call returned, or the error it threw (class and message). */
function outcome(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (e) {
    return { threw: (e as Error).constructor.name, message: (e as Error).message };
  }
}

const grpc: IncomingHttpHeaders = {
  ":method": "POST",
  ":scheme": "http",
  ":authority": "127.0.0.1:50051",
  ":path": "/trading.v1.TradingGateway/PlaceOrder",
  "content-type": "application/grpc",
  "user-agent": "grpc-go/1.70.0",
  te: "trailers",
  "grpc-timeout": "9999996u",
  "x-request-id": "rid-1",
  authorization: "Bearer k",
};
const raws: IncomingHttpHeaders[] = [
  grpc,
  {},
  { ...grpc, "set-cookie": ["a=1", "b=2"], "x-num": 5 as unknown as string },
  { ...grpc, "x-space": " padded ", "x-tab": "a\t", "x-empty": "" },
  { ...grpc, "x-nl": "a\nb", "x-nul": "a\u0000b" },
  { ...grpc, "x-wide": "日本" },
  Object.assign(Object.create(null) as IncomingHttpHeaders, grpc, { "x-undefined": undefined }),
];
const names = [
  "content-type",
  "Content-Type",
  "AUTHORIZATION",
  "x-request-id",
  "x-missing",
  "set-cookie",
  "x-num",
  "x-space",
  "x-tab",
  "x-empty",
  "x-nl",
  "x-nul",
  "x-wide",
  "x-undefined",
  ":path",
  "bad name",
  "",
  "te",
];

test("every Headers method is overridden, so none sees the headers unfilled", () => {
  const keys = [...Object.getOwnPropertyNames(Headers.prototype), ...Object.getOwnPropertySymbols(Headers.prototype)];
  const own = Headers.prototype as unknown as Record<string | symbol, unknown>;
  for (const cls of [NodeRequestHeaders, LazyResponseHeaders]) {
    const proto = cls.prototype as unknown as Record<string | symbol, unknown>;
    for (const k of keys) {
      if (k === "constructor" || k === Symbol.toStringTag) continue;
      assert.equal(typeof proto[k], "function", `${cls.name}.${String(k)}`);
      assert.notEqual(proto[k], own[k], `${cls.name} must override ${String(k)}`);
    }
  }
  assert.ok(lazy(grpc) instanceof Headers);
  assert.ok(new LazyResponseHeaders("application/grpc", undefined) instanceof Headers);
});

test("get and has answer as connect's Headers does, errors included", () => {
  for (const raw of raws) {
    for (const name of names) {
      const ref = (() => {
        try {
          return reference(raw);
        } catch (e) {
          return e as Error;
        }
      })();
      const l = lazy(raw);
      // A raw object connect's conversion rejects (NUL, CR, LF in a value; nghttp2 never delivers
      // one) must be rejected here too once anything fills it.
      const want = ref instanceof Error ? undefined : ref;
      if (want === undefined) {
        assert.throws(() => [...l], (e: Error) => e.constructor === (ref as Error).constructor);
        continue;
      }
      assert.deepEqual(outcome(() => l.get(name)), outcome(() => want.get(name)), `get(${JSON.stringify(name)}) on ${JSON.stringify(Object.keys(raw))}`);
      assert.deepEqual(outcome(() => lazy(raw).has(name)), outcome(() => want.has(name)), `has(${JSON.stringify(name)})`);
    }
  }
});

test("every other method sees the filled headers, and changes stick", () => {
  const ops: [string, (h: Headers) => unknown][] = [
    ["spread", (h) => [...h]],
    ["entries", (h) => [...h.entries()]],
    ["keys", (h) => [...h.keys()]],
    ["values", (h) => [...h.values()]],
    ["forEach", (h) => {
      const out: string[][] = [];
      h.forEach((v, k) => out.push([k, v]));
      return out;
    }],
    ["getSetCookie", (h) => h.getSetCookie()],
    ["set then get", (h) => (h.set("x-request-id", "new"), [h.get("x-request-id"), [...h]])],
    ["append then get", (h) => (h.append("x-request-id", "two"), [h.get("x-request-id"), [...h]])],
    ["delete then has", (h) => (h.delete("authorization"), [h.has("authorization"), [...h]])],
    ["inspect", (h) => inspect(h)],
  ];
  for (const raw of raws.slice(0, 4)) {
    for (const [name, op] of ops) {
      assert.deepEqual(op(lazy(raw)), op(reference(raw)), `${name} on ${JSON.stringify(Object.keys(raw))}`);
    }
  }
});

test("a get or has on a plain name reads node's object without building Headers", () => {
  // Filling walks the raw object's keys; a plain get reads one property.
  let walks = 0;
  const raw = new Proxy(grpc, {
    ownKeys(t) {
      walks++;
      return Reflect.ownKeys(t);
    },
  });
  const h = lazy(raw);
  assert.equal(h.get("x-request-id"), "rid-1");
  assert.equal(h.get("authorization"), "Bearer k");
  assert.equal(h.has("grpc-timeout"), true);
  assert.equal(h.get("x-missing"), null);
  assert.equal(walks, 0);
  assert.equal(h.get("Content-Type"), "application/grpc", "a name in capitals fills it");
  assert.equal(walks, 1);
  assert.equal(h.get("x-request-id"), "rid-1");
  h.forEach(() => {});
  assert.equal(walks, 1, "filled once");
});

test("LazyResponseHeaders behaves as the Headers it stands for, under random sequences of calls", () => {
  const names = ["x-request-id", "X-Request-Id", "content-type", "grpc-encoding", "x-a", "X-B", "set-cookie", "bad name", ":status", ""];
  const values = ["v1", "v2", " padded", "a\tb", "a\nb", "", "ünï", "日本", "x".repeat(300)];
  let seed = 12345;
  const r = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const ops: [string, (h: Headers, n: string, v: string) => unknown][] = [
    ["set", (h, n, v) => h.set(n, v)],
    ["get", (h, n) => h.get(n)],
    ["has", (h, n) => h.has(n)],
    ["delete", (h, n) => h.delete(n)],
    ["append", (h, n, v) => h.append(n, v)],
    ["entries", (h) => [...h]],
    ["getSetCookie", (h) => h.getSetCookie()],
  ];
  for (let run = 0; run < 400; run++) {
    const encoding = r() < 0.5 ? "gzip" : undefined;
    const lazy = new LazyResponseHeaders("application/grpc+proto", encoding) as unknown as Headers;
    const plain = new Headers({ "Content-Type": "application/grpc+proto" });
    if (encoding !== undefined) plain.set("Grpc-Encoding", encoding);
    const steps: string[] = [];
    const n = 1 + Math.floor(r() * 6);
    for (let i = 0; i < n; i++) {
      // Mostly the calls that keep the list (set, get, has, delete), sometimes one that fills it.
      const [name, op] = r() < 0.85 ? pick(ops.slice(0, 4)) : pick(ops);
      const hn = pick(names);
      const hv = pick(values);
      steps.push(`${name}(${JSON.stringify(hn)}, ${JSON.stringify(hv)})`);
      assert.deepEqual(outcome(() => op(lazy, hn, hv)), outcome(() => op(plain, hn, hv)), steps.join(" "));
    }
    const out: OutgoingHttpHeaders = {};
    if ((lazy as unknown as LazyResponseHeaders).appendTo(out)) assert.deepEqual(Object.entries(out), [...plain], `node headers after ${steps.join(" ")}`);
    assert.deepEqual([...lazy], [...plain], steps.join(" "));
  }
});

test("node's response header object is the same from the list as from Headers, sorted the same", () => {
  const lazy = new LazyResponseHeaders("application/grpc+proto", "gzip");
  const h = lazy as unknown as Headers;
  h.set("x-request-id", "r-1");
  h.set("X-Impl", "1");
  h.set("a-first", "0");
  const out: OutgoingHttpHeaders = { ":status": 200 };
  assert.equal(lazy.appendTo(out), true, "still a list");
  const plain = new Headers({ "content-type": "application/grpc+proto", "grpc-encoding": "gzip", "x-request-id": "r-1", "x-impl": "1", "a-first": "0" });
  assert.deepEqual(Object.entries(out), [[":status", 200], ...plain]);
  h.append("x-impl", "2");
  assert.equal(lazy.appendTo({}), false, "filled by append");
  assert.equal(h.get("x-impl"), "1, 2");
});
