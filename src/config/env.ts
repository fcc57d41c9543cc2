/**
 * Every setting of the gateway comes from the environment and is described
 * once, in the `settings` table below: name, default, description and the
 * valibot schema that turns the string into a typed value. The table drives
 * parsing, `--help` and the README settings table, so adding a setting is
 * adding one row. Config is read once, by src/main.ts; nothing reads
 * process.env at import time.
 */
import * as v from "valibot";
import type { Result } from "../domain/result.js";
import { err, ok } from "../domain/result.js";
import type { ApiKeyEntry } from "../domain/principal.js";
import { BUILT_IN_RISK_LIMITS, RISK_LIMIT_DOCS } from "../use-cases/risk.js";

/** The built-in risk limits, as one line ("maxQuantity 10000, ..."). */
function builtInLimitsText(): string {
  return RISK_LIMIT_DOCS.map((d) => `${d.key} ${String(BUILT_IN_RISK_LIMITS[d.key])}`).join(", ");
}

/** Any schema that takes the raw environment string (or undefined when unset and without default). */
type StringSchema = v.GenericSchema<string | undefined, unknown>;

/** One row of the settings table. */
export interface Setting<S extends StringSchema = StringSchema> {
  /** Environment variable name. */
  readonly env: string;
  /** Default as the string a user would write; undefined = unset. */
  readonly default: string | undefined;
  readonly description: string;
  /** What a valid value looks like, used in error messages and --help. */
  readonly expects: string;
  readonly schema: S;
  /** Hides secrets (a password in a URL) when an invalid value is echoed in an error message. */
  readonly redact?: (raw: string) => string;
}

function setting<S extends StringSchema>(
  env: string,
  def: string | undefined,
  expects: string,
  description: string,
  schema: S,
): Setting<S> {
  return { env, default: def, expects, description, schema };
}

// --- value schemas ----------------------------------------------------------

const int = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/),
    v.transform(Number),
    v.number(),
    v.integer(),
    v.minValue(min),
    v.maxValue(max),
  );

const positiveNumber = v.pipe(
  v.string(),
  v.trim(),
  v.regex(/^\d+(\.\d+)?$/),
  v.transform(Number),
  v.number(),
  v.minValue(0),
);

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(values));

const flag = v.pipe(
  v.string(),
  v.trim(),
  v.toLowerCase(),
  v.picklist(["1", "0", "true", "false", "on", "off", "yes", "no"]),
  v.transform((s) => s === "1" || s === "true" || s === "on" || s === "yes"),
);

const optionalString = v.pipe(
  v.optional(v.string()),
  v.transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim())),
);

const list = v.pipe(
  v.optional(v.string(), ""),
  v.transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== ""),
  ),
);

/** A TCP port, or "off"/"" to disable the listener (returns undefined). */
const optionalPort = v.pipe(
  v.optional(v.string(), ""),
  v.trim(),
  v.toLowerCase(),
  v.union([
    v.pipe(v.picklist(["", "off"]), v.transform(() => undefined)),
    int(0, 65535),
  ]),
);

/** An API key entry: the SHA-256 of the key and the accounts it may trade. */

const ACCOUNT_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * `API_KEYS` format: entries separated by `;` (or newlines), each `<sha256 hex>=<grant>`:
 * - `<account>|<account>...` or `*` (every account): a trader key, as before roles existed;
 * - `trader:<account>|...` or `trader:*`: the same, with its role spelled out;
 * - `admin`: an admin key (SetTradingState on any scope, GetTradingState of any scope) that
 *   trades nothing;
 * - `admin:<account>|...` or `admin:*`: an admin key that also trades those accounts.
 * Only hashes are configured, so a leaked config file leaks no credentials.
 */
export function parseApiKeys(raw: string): Result<readonly ApiKeyEntry[], string> {
  const entries: ApiKeyEntry[] = [];
  const seen = new Set<string>();
  for (const part of raw.split(/[;\n]/)) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq < 0) return err(`entry "${item.slice(0, 12)}..." has no "=<accounts>"`);
    const sha256 = item.slice(0, eq).trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha256)) return err("each key must be a 64-character hex SHA-256 hash");
    if (seen.has(sha256)) return err(`hash ${sha256.slice(0, 12)}... is listed twice`);
    seen.add(sha256);
    let rhs = item.slice(eq + 1).trim();
    const role = /^(admin|trader)(?::|$)/i.exec(rhs);
    const admin = role !== null && role[1]!.toLowerCase() === "admin";
    if (role !== null) rhs = rhs.slice(role[0].length).trim();
    const extra = admin ? { admin: true } : {};
    if (rhs === "" && admin) {
      entries.push({ sha256, accounts: new Set(), ...extra });
      continue;
    }
    if (rhs === "*") {
      entries.push({ sha256, accounts: "any", ...extra });
      continue;
    }
    const accounts = rhs.split("|").map((a) => a.trim());
    const bad = accounts.find((a) => !ACCOUNT_RE.test(a));
    if (bad !== undefined) return err(`account "${bad}" must match ${ACCOUNT_RE.source}`);
    entries.push({ sha256, accounts: new Set(accounts), ...extra });
  }
  return ok(entries);
}

const apiKeys = v.pipe(
  v.optional(v.string(), ""),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const r = parseApiKeys(dataset.value);
    if (!r.ok) {
      addIssue({ message: r.error });
      return NEVER;
    }
    return r.value;
  }),
);

const auditMode = v.pipe(
  v.string(),
  v.trim(),
  v.toLowerCase(),
  v.picklist(["fsync", "buffered", "off", "none"]),
  // The benchmark harness says "none"; the gateway calls it "off".
  v.transform((m): "fsync" | "buffered" | "off" => (m === "none" ? "off" : m)),
);

/** `table` or `schema.table`, as src/adapters/audit/postgres-sink.ts quotes it (identifiers cannot be bound as SQL parameters). */
const PG_TABLE_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

const pgTable = v.pipe(v.string(), v.trim(), v.regex(PG_TABLE_RE));

/**
 * A PostgreSQL connection string. Checked for shape only (the server is reached at start-up);
 * never echoed back whole, since it may hold a password.
 */
const pgUrl = v.pipe(
  v.optional(v.string()),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const s = dataset.value?.trim() ?? "";
    if (s === "") return undefined;
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      addIssue({ message: "not a URL" });
      return NEVER;
    }
    if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
      addIssue({ message: `scheme ${u.protocol} is not postgres: or postgresql:` });
      return NEVER;
    }
    return s;
  }),
);

/** The connection string without its password, for logs and messages. */
export function redactPgUrl(url: string): string {
  try {
    const u = new URL(url);
    // Without a //host part there is no user:password to find: the whole text may be the secret.
    if (u.host === "") return `(a ${u.protocol} URL without a host)`;
    if (u.password !== "") u.password = "***";
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|key/i.test(k)) u.searchParams.set(k, "***");
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

// --- the table -------------------------------------------------------------

/** Every setting. Keys are the Config property names. */
export const settings = {
  host: setting("HOST", "127.0.0.1", "a host name or IP address", "Address the RPC port listens on.", v.pipe(v.string(), v.trim(), v.minLength(1))),
  port: setting("PORT", "50051", "an integer 0..65535", "RPC port: gRPC, gRPC-Web and Connect, HTTP/2 and HTTP/1.1 on one port (also `--port N`).", int(0, 65535)),
  metricsHost: setting("METRICS_HOST", "127.0.0.1", "a host name or IP address", "Address of the metrics listener: Prometheus /metrics and the HTTP health probes /healthz and /readyz.", v.pipe(v.string(), v.trim(), v.minLength(1))),
  metricsPort: setting("METRICS_PORT", "9464", "an integer 0..65535, or off", "Port of the metrics listener (/metrics, /healthz, /readyz); `off` disables it.", optionalPort),
  logLevel: setting("LOG_LEVEL", "info", "fatal|error|warn|info|debug|trace|silent", "Minimum log level.", oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"])),
  logFormat: setting("LOG_FORMAT", "json", "json|pretty", "`json` (one line per event) or `pretty` (human-readable, for development).", oneOf(["json", "pretty"])),
  tlsCertFile: setting("TLS_CERT_FILE", undefined, "a PEM file path", "Server certificate; with TLS_KEY_FILE enables TLS (HTTP/2 via ALPN, HTTP/1.1 fallback).", optionalString),
  tlsKeyFile: setting("TLS_KEY_FILE", undefined, "a PEM file path", "Private key of TLS_CERT_FILE.", optionalString),
  tlsCaFile: setting("TLS_CA_FILE", undefined, "a PEM file path", "CA bundle; when set, clients must present a certificate it signed (mTLS).", optionalString),
  corsOrigins: setting("CORS_ORIGINS", "", "comma-separated origins, or *", "Browser origins allowed to call the gateway (gRPC-Web, Connect). Empty: no CORS headers.", list),
  apiKeys: setting("API_KEYS", "", "<sha256hex>=[trader:]<acct>|<acct>;<sha256hex>=*;<sha256hex>=admin[:<acct>|...]", "API keys as SHA-256 hex hashes of the bearer token, each bound to the accounts it may trade (`*` = all). `admin` marks a kill-switch key: it may call SetTradingState on any scope and trades only the accounts listed after `admin:` (none by default). Entries without a role are traders. Empty: authentication off (and every caller may set trading states).", apiKeys),
  allowInsecurePublic: setting("ALLOW_INSECURE_PUBLIC", "false", "true|false", "Allow listening on a non-loopback address with authentication off.", flag),
  rateLimitRps: setting("RATE_LIMIT_RPS", "1000", "a number >= 0", "Calls per second per API key (or per peer address with auth off); 0 disables rate limiting.", positiveNumber),
  rateLimitBurst: setting("RATE_LIMIT_BURST", "2000", "an integer >= 1", "Token bucket size: calls allowed at once above the steady rate.", int(1, 1_000_000_000)),
  rateLimitMaxBuckets: setting("RATE_LIMIT_MAX_BUCKETS", "100000", "an integer >= 1", "Most rate-limit buckets kept; the least recently used are evicted first.", int(1, 100_000_000)),
  rateLimitIdleMs: setting("RATE_LIMIT_IDLE_MS", "60000", "milliseconds", "A bucket unused this long is evicted.", int(1, 86_400_000)),
  maxMessageBytes: setting("MAX_MESSAGE_BYTES", "1048576", "bytes", "Largest request message the server accepts (a request of exactly this size is); larger gets RESOURCE_EXHAUSTED. Responses are not limited: refusing one would discard work already done (an order placed).", int(256, 0xffffffff)),
  maxDeadlineMs: setting("MAX_DEADLINE_MS", "300000", "milliseconds", "Largest deadline (grpc-timeout / connect-timeout-ms) a client may ask for; larger gets INVALID_ARGUMENT.", int(1, 86_400_000)),
  http2MaxConcurrentStreams: setting("HTTP2_MAX_CONCURRENT_STREAMS", "1000", "an integer >= 1", "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection.", int(1, 0xffffffff)),
  http2SessionIdleMs: setting("HTTP2_SESSION_IDLE_MS", "300000", "milliseconds, 0 = never", "An HTTP/2 connection with no open stream and no traffic for this long is closed (GOAWAY). Connections with open streams (fill streams) are kept.", int(0, 86_400_000)),
  http2KeepaliveIntervalMs: setting("HTTP2_KEEPALIVE_INTERVAL_MS", "30000", "milliseconds, 0 = never", "Every HTTP/2 connection is sent a PING this often; a peer that does not answer within HTTP2_KEEPALIVE_TIMEOUT_MS is gone (power loss, dropped NAT mapping, frozen process: no FIN ever comes), and its connection is closed: its calls end as CANCELED, its fill streams are released.", int(0, 86_400_000)),
  http2KeepaliveTimeoutMs: setting("HTTP2_KEEPALIVE_TIMEOUT_MS", "20000", "milliseconds", "How long a keepalive PING may wait for its answer before the connection is closed.", int(1, 600_000)),
  headersTimeoutMs: setting("HEADERS_TIMEOUT_MS", "10000", "milliseconds", "Time a client has to send the request headers (HTTP/1.1) or the first bytes of a new connection.", int(1, 600_000)),
  requestTimeoutMs: setting("REQUEST_TIMEOUT_MS", "30000", "milliseconds, 0 = none", "Time an HTTP/1.1 client has to send a whole request.", int(0, 3_600_000)),
  keepAliveTimeoutMs: setting("KEEP_ALIVE_TIMEOUT_MS", "72000", "milliseconds", "Idle HTTP/1.1 keep-alive connections are closed after this long.", int(1, 3_600_000)),
  connectionTimeoutMs: setting("CONNECTION_TIMEOUT_MS", "0", "milliseconds, 0 = none", "Socket inactivity timeout (0: none, so quiet fill streams stay open).", int(0, 3_600_000)),
  shutdownGraceMs: setting("SHUTDOWN_GRACE_MS", "10000", "milliseconds", "On SIGTERM/SIGINT, in-flight calls get this long to finish. Then venue calls still waiting are cancelled (their orders are answered PENDING_NEW, on record, settled by reconciliation), and calls still running 500 ms later are aborted.", int(0, 600_000)),
  underPressureMaxEventLoopDelayMs: setting("UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS", "1000", "milliseconds, 0 = off", "Shed load (UNAVAILABLE) when the event-loop delay exceeds this.", int(0, 600_000)),
  underPressureMaxEventLoopUtilization: setting("UNDER_PRESSURE_MAX_EVENT_LOOP_UTILIZATION", "0", "0..1, 0 = off", "Shed load when event-loop utilization exceeds this fraction.", v.pipe(positiveNumber, v.maxValue(1))),
  underPressureMaxHeapUsedBytes: setting("UNDER_PRESSURE_MAX_HEAP_USED_BYTES", "0", "bytes, 0 = off", "Shed load when the V8 heap in use exceeds this.", int(0, Number.MAX_SAFE_INTEGER)),
  underPressureMaxRssBytes: setting("UNDER_PRESSURE_MAX_RSS_BYTES", "0", "bytes, 0 = off", "Shed load when the resident set size exceeds this.", int(0, Number.MAX_SAFE_INTEGER)),
  underPressureSampleIntervalMs: setting("UNDER_PRESSURE_SAMPLE_INTERVAL_MS", "1000", "milliseconds", "How often the load-shedding sensors are sampled.", int(5, 60_000)),
  underPressureRetryAfterS: setting("UNDER_PRESSURE_RETRY_AFTER_S", "1", "seconds", "Retry hint (Retry-After, google.rpc.RetryInfo) sent with shed calls.", int(0, 3600)),
  fastPath: setting("FAST_PATH", "on", "on|off", "Serve unary gRPC calls, and the StreamOrderEvents and StreamFills streams over gRPC (binary, HTTP/2), on the HTTP/2 fast path (bypasses the Fastify compat layer; a stream sends every event of a moment in one write). `off`: everything through connect.", flag),
  callBatching: setting("CALL_BATCHING", "on", "on|off", "With FAST_PATH: unary calls whose requests arrive in one turn of the event loop start together, in arrival order, so that under load they go through each step of the order path one after another (more calls per second per core). A lone call waits only for the rest of that turn's I/O. `off`: each call starts as its request ends.", flag),
  dashboard: setting("DASHBOARD", "on", "on|off", "Serve the browser dashboard at `/` on the RPC port (orders, fills, positions, balances, venue health, trading state; place, cancel, halt). It calls the gateway over Connect like any client: with API_KEYS set it asks for a key. Built by `npm run build` into `dist/dashboard`; `off`: `/` is a 404.", flag),
  dashboardDir: setting("DASHBOARD_DIR", undefined, "a directory", "Where the built dashboard is read from at start-up; unset: the one `npm run build` wrote (`dist/dashboard`, and without it the gateway starts with a warning and no dashboard). Set: it must hold a build.", optionalString),
  // --- pipeline (wired by src/main.ts; used by the order pipeline, audit and fills) ---
  auditMode: setting("AUDIT_MODE", "fsync", "fsync|buffered|off (none = off)", "Audit log durability: fsync before answering, buffered writes, or no audit.", auditMode),
  auditBackend: setting("AUDIT_BACKEND", "jsonl", "jsonl|postgres", "Where the audit log is kept: `jsonl` (AUDIT_FILE, fsync'd group commits) or `postgres` (AUDIT_PG_URL, table AUDIT_PG_TABLE, one multi-row INSERT per batch). Start-up recovery reads from the same back-end.", oneOf(["jsonl", "postgres"])),
  auditFile: setting("AUDIT_FILE", "./data/audit.jsonl", "a file path", "Audit log file (JSON lines), with AUDIT_BACKEND=jsonl. Locked by `<AUDIT_FILE>.lock` (holding the pid) while a gateway runs: a second gateway on the same file refuses to start; a lock whose process is gone is taken over with a warning. Its directory also holds, while the gateway runs, the ListOrders index's spill file of finished orders and older index rows (unlinked at once, so never listed; about 470 bytes of disk per filled order in the log, docs/order-history.md).", v.pipe(v.string(), v.trim(), v.minLength(1))),
  auditPgUrl: {
    ...setting("AUDIT_PG_URL", undefined, "postgres://user[:password]@host[:port]/database", "PostgreSQL connection string; required with AUDIT_BACKEND=postgres. Its password is never logged.", pgUrl),
    redact: redactPgUrl,
  },
  auditPgTable: setting("AUDIT_PG_TABLE", "audit_log", "table or schema.table (letters, digits, _)", "Audit table with AUDIT_BACKEND=postgres; created (append-only: UPDATE/DELETE/TRUNCATE refused) if absent.", pgTable),
  auditPgReconnectMinMs: setting("AUDIT_PG_RECONNECT_MIN_MS", "100", "milliseconds", "AUDIT_BACKEND=postgres: after the database connection is lost (health NOT_SERVING, orders and cancels UNAVAILABLE), the first wait before reconnecting. Each later wait doubles, up to AUDIT_PG_RECONNECT_MAX_MS; every wait is jittered (between half and all of it).", int(1, 600_000)),
  auditPgReconnectMaxMs: setting("AUDIT_PG_RECONNECT_MAX_MS", "5000", "milliseconds", "AUDIT_BACKEND=postgres: the longest wait between reconnect attempts. The gateway retries until the database is back, then re-takes its table lock, writes the events it kept and turns SERVING again.", int(1, 600_000)),
  ha: setting("HA", "auto", "auto|off", "High availability (docs/high-availability.md). auto: with AUDIT_BACKEND=postgres, every gateway started with the same AUDIT_PG_URL and AUDIT_PG_TABLE joins one group: one leader serves, the others are warm standbys (gRPC health and /readyz NOT_SERVING for trading.v1.TradingGateway) that take over when it dies. off: one gateway per table (a second one refuses to start), as before.", oneOf(["auto", "off"])),
  haLeaseMs: setting("HA_LEASE_MS", "5000", "milliseconds", "HA: a leader that has not renewed its lease for this long (a stopped process, a cut network) is deposed by a standby; a killed one is replaced at once (its database session ends). A leader stops sending to venues once its last renewal is older than 4/5 of this. Takeover after a stall: about HA_LEASE_MS + HA_POLL_MS.", int(200, 600_000)),
  haPollMs: setting("HA_POLL_MS", "100", "milliseconds", "HA: how often a standby looks at the leader row (bounds the detection of a killed leader).", int(10, 60_000)),
  auditOnCorrupt: setting("AUDIT_ON_CORRUPT", "skip", "skip|fail", "A damaged audit line/row met by start-up recovery: `skip` logs a warning naming it and goes on, `fail` refuses to start. A torn last line (crash mid-write) is always repaired.", oneOf(["skip", "fail"])),
  auditBatchLines: setting("AUDIT_BATCH_LINES", "256", "an integer >= 1", "A batch is committed (one write+fsync, or one INSERT) as soon as it holds this many lines, without waiting for AUDIT_BATCH_MS. One commit runs at a time and the lines that arrive meanwhile all go in the next one, which can be larger.", int(1, 1_000_000)),
  auditBatchMs: setting("AUDIT_BATCH_MS", "0", "milliseconds", "Longest the first line of a batch may wait for more lines before the batch is committed. 0: commit as soon as no commit is in flight; batches still form under load from the lines that arrive during a commit, and a lone order pays one fsync and no timer. A value > 0 holds every batch up to this long (fewer, larger commits, higher latency at low load).", int(0, 60_000)),
  auditRotateBytes: setting("AUDIT_ROTATE_BYTES", "1073741824", "bytes, 0 = never", "AUDIT_BACKEND=jsonl: rotate the audit file into numbered segments (`<AUDIT_FILE>.000001`, ...) before it grows past this; recovery reads them all.", int(0, Number.MAX_SAFE_INTEGER)),
  idempotencyTtlMs: setting("IDEMPOTENCY_TTL_MS", "86400000", "milliseconds", "How long an idempotency key de-duplicates retries, counted from the order. This is the de-dup window only while fewer than IDEMPOTENCY_MAX_ENTRIES keys are held; beyond that the least recently used keys are forgotten sooner.", int(1, 30 * 86_400_000)),
  idempotencyMaxEntries: setting("IDEMPOTENCY_MAX_ENTRIES", "250000", "an integer >= 1", "Most idempotency keys kept in memory, least recently used dropped first. Each record (the key, its fingerprint and the order as answered, about 300 bytes) lives in a ring outside the JavaScript heap that is sized at 384 bytes per key and taken at start (250000 is 96 MB): memory does not grow with the number of keys held, and the garbage collector never scans them. Records with long rejection messages take more room, and a full ring then drops the oldest before this count is reached. The trade-off: under sustained load the effective de-dup window is IDEMPOTENCY_MAX_ENTRIES / order rate (about 17 s at 15,000 orders/s, 40 minutes at 100/s), not IDEMPOTENCY_TTL_MS. The default favours de-duplication: raise it for a longer window at 384 bytes per key.", int(1, 100_000_000)),
  orderRetentionMs: setting("ORDER_RETENTION_MS", "86400000", "milliseconds", "How long a terminal (filled, canceled, rejected, expired) order stays queryable in memory (GetOrderStatus). At most 100,000 terminal orders are kept whatever their age (oldest dropped first; packed outside the JavaScript heap, 54 MB taken at start), so under load the cap, not this, decides. Same as IDEMPOTENCY_TTL_MS by default, so an order a retry replays can still be looked up. Every order stays in the audit log.", int(1, 30 * 86_400_000)),
  paperPrices: setting("PAPER_PRICES", "", "SYMBOL=price,SYMBOL=price", "Reference prices for the paper venue (market orders fill at these).", v.pipe(v.optional(v.string(), ""), v.trim())),
  paperMarket: setting("PAPER_MARKET", "walk", "walk|fixed", "The paper venue's reference prices: `walk` moves them by a seeded random walk (PAPER_WALK_*), so resting LIMIT and STOP orders fill over time and large ones partially; `fixed` keeps them where PAPER_PRICES puts them (resting orders never fill). Applies to every paper venue whose venue-file entry sets no `walk` of its own.", oneOf(["walk", "fixed"])),
  paperWalkVolatility: setting("PAPER_WALK_VOLATILITY", "0.0005", "a decimal fraction", "PAPER_MARKET=walk: the largest move of one step, as a fraction of the price (0.0005 = 5 bp).", v.pipe(v.string(), v.trim(), v.regex(/^(0|[1-9]\d*)(\.\d+)?$/))),
  paperWalkTickSize: setting("PAPER_WALK_TICK_SIZE", "0.01", "a positive decimal", "PAPER_MARKET=walk: walked prices are rounded to multiples of this.", v.pipe(v.string(), v.trim(), v.regex(/^(0|[1-9]\d*)(\.\d+)?$/), v.check((s) => /[1-9]/.test(s), "must be above 0"))),
  paperWalkIntervalMs: setting("PAPER_WALK_INTERVAL_MS", "500", "milliseconds", "PAPER_MARKET=walk: time between two steps of the walk (resting orders are matched at each step).", int(10, 3_600_000)),
  paperWalkSeed: setting("PAPER_WALK_SEED", "", "an integer, or empty", "PAPER_MARKET=walk: the walk's seed; the same seed and PAPER_PRICES give the same prices. Empty: a new random seed at each start.", v.pipe(v.optional(v.string(), ""), v.trim(), v.union([v.pipe(v.literal(""), v.transform(() => undefined)), int(0, 4_294_967_295)]))),
  paperWalkDepth: setting("PAPER_WALK_DEPTH", "50000", "a decimal notional, 0 = unlimited", "PAPER_MARKET=walk: most notional (quote currency) one resting order fills per step; larger orders fill partially over several steps.", v.pipe(v.string(), v.trim(), v.regex(/^(0|[1-9]\d*)(\.\d+)?$/))),
  otelEndpoint: setting("OTEL_EXPORTER_OTLP_ENDPOINT", undefined, "an http(s) URL, or empty", "OpenTelemetry traces: the OTLP/HTTP collector's base URL (spans are POSTed to `<url>/v1/traces`), e.g. `http://127.0.0.1:4318`. Each RPC gets a server span (a child of the caller's W3C `traceparent`), with spans for validate, idempotency, risk, route, the venue call (which carries `traceparent` to HTTP venues) and the audit commit; the access line carries `traceId`. Empty: tracing off, and it costs nothing.", v.pipe(optionalString, v.check((s) => s === undefined || /^https?:\/\/[^\s]+$/.test(s), "must be an http(s) URL"))),
  otelServiceName: setting("OTEL_SERVICE_NAME", "trading-gateway", "a name", "OpenTelemetry `service.name` of the exported spans.", v.pipe(v.string(), v.trim(), v.minLength(1))),
  otelExportDelayMs: setting("OTEL_BSP_SCHEDULE_DELAY", "1000", "milliseconds", "Longest a finished span waits before its batch is exported to OTEL_EXPORTER_OTLP_ENDPOINT (spans still buffered are exported at shutdown).", int(1, 600_000)),
  riskLimitsFile: setting("RISK_LIMITS_FILE", undefined, "a YAML/JSON file path", `Risk limits per account, per account and symbol, and defaults (\`*\`), over the built-in defaults, which are ON: ${builtInLimitsText()} (see the README's Risk limits section; relax them here, \`off\` removes one). Reloaded without a restart on SIGHUP and when the file changes; a bad file keeps the old limits.`, optionalString),
  riskLimitsWatchMs: setting("RISK_LIMITS_WATCH_MS", "250", "milliseconds, 0 = off", "RISK_LIMITS_FILE is reloaded this long after its last change (file watch, debounced); 0: only on SIGHUP.", int(0, 60_000)),
  decimalMath: setting("DECIMAL_MATH", "scaled", "scaled|decimal.js", "The arithmetic of positions, open-order exposure and risk limits: `scaled` (exact scaled integers, the fast one) or `decimal.js` (the library it is checked against; slower). Both are exact on the same domain (at most 18 fraction digits per value); the switch exists to compare them.", oneOf(["scaled", "decimal.js"])),
  venuesFile: setting("VENUES_FILE", undefined, "a YAML/JSON file path", "Venue configuration and routing table; unset: the paper venue only.", optionalString),
  reconcileIntervalMs: setting("RECONCILE_INTERVAL_MS", "60000", "milliseconds, 0 = off", "Reconciliation with the venues: at start-up and then every this long, each venue's open orders are compared with the gateway's; an order the venue closed, a status that differs or a missed fill is corrected (audited as `order_reconciled`), and orders placed at the venue outside the gateway are adopted as external (venue-file `adoptExternalOrders`, `externalAccount`). 0: no reconciliation passes (the per-order poller still runs).", int(0, 86_400_000)),
  fillRetain: setting("FILL_RETAIN", "10000", "an integer >= 0", "Fills kept in memory for StreamFills replay (after_sequence).", int(0, 100_000_000)),
  balanceRefreshMs: setting(
    "BALANCE_REFRESH_MS",
    "30000",
    "an integer >= 0 (ms)",
    "How often GetBalances' cache asks every venue for its balances (also about 0.5 s after a fill); 0 = only when GetBalances is called.",
    int(0, 86_400_000),
  ),
  fillSubscriberBuffer: setting("FILL_SUBSCRIBER_BUFFER", "1024", "an integer >= 1", "Fills buffered per slow StreamFills subscriber before it is cut off.", int(1, 10_000_000)),
  orderEventRetain: setting("ORDER_EVENT_RETAIN", "10000", "an integer >= 0", "Order events kept in memory for StreamOrderEvents replay (after_sequence); older ones are read back from the audit log.", int(0, 100_000_000)),
  orderEventSubscriberBuffer: setting("ORDER_EVENT_SUBSCRIBER_BUFFER", "1024", "an integer >= 1", "Order events buffered per slow StreamOrderEvents subscriber before it is cut off (RESOURCE_EXHAUSTED, resume).", int(1, 10_000_000)),
} as const;

export type SettingKey = keyof typeof settings;

/** The typed, validated configuration. */
export type Config = {
  readonly [K in SettingKey]: v.InferOutput<(typeof settings)[K]["schema"]>;
};

/** A bad setting: the variable, the value as given, and what it expects. */
export interface ConfigIssue {
  readonly env: string;
  readonly value: string | undefined;
  readonly message: string;
}

/**
 * Validates the whole environment at once and reports every bad variable,
 * so an operator fixes them in one round instead of one per restart.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Readonly<Partial<Record<string, string>>> = {},
): Result<Config, readonly ConfigIssue[]> {
  const out: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const [key, s] of Object.entries(settings) as [SettingKey, Setting][]) {
    const given = overrides[s.env] ?? env[s.env];
    const raw = given === undefined || (given.trim() === "" && s.default !== undefined) ? s.default : given;
    const r = v.safeParse(s.schema, raw);
    if (r.success) {
      out[key] = r.output;
    } else {
      const detail = r.issues.find((i) => i.type === "custom" || i.type === "raw_transform")?.message;
      const shown = raw !== undefined && s.redact !== undefined ? s.redact(raw) : raw;
      issues.push({
        env: s.env,
        value: shown,
        message: `${s.env}=${JSON.stringify(shown ?? "")} is invalid: expected ${s.expects}${detail !== undefined ? ` (${detail})` : ""}`,
      });
    }
  }
  if (issues.length > 0) return err(issues);
  const config = out as Config;
  // Cross-field rules.
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    issues.push({ env: "TLS_CERT_FILE", value: config.tlsCertFile, message: "TLS_CERT_FILE and TLS_KEY_FILE must be set together" });
  }
  if (config.tlsCaFile !== undefined && config.tlsCertFile === undefined) {
    issues.push({ env: "TLS_CA_FILE", value: config.tlsCaFile, message: "TLS_CA_FILE (mTLS) needs TLS_CERT_FILE and TLS_KEY_FILE" });
  }
  if (config.auditBackend === "postgres" && config.auditPgUrl === undefined) {
    issues.push({ env: "AUDIT_PG_URL", value: undefined, message: "AUDIT_PG_URL is required with AUDIT_BACKEND=postgres (e.g. postgres://user@127.0.0.1:5432/gateway)" });
  }
  if (config.auditPgReconnectMaxMs < config.auditPgReconnectMinMs) {
    issues.push({
      env: "AUDIT_PG_RECONNECT_MAX_MS",
      value: String(config.auditPgReconnectMaxMs),
      message: `AUDIT_PG_RECONNECT_MAX_MS=${config.auditPgReconnectMaxMs} is below AUDIT_PG_RECONNECT_MIN_MS=${config.auditPgReconnectMinMs}`,
    });
  }
  if (config.apiKeys.length === 0 && !config.allowInsecurePublic && !isLoopbackHost(config.host)) {
    issues.push({
      env: "HOST",
      value: config.host,
      message: `HOST=${config.host} is not a loopback address and API_KEYS is empty (authentication off); set API_KEYS, or ALLOW_INSECURE_PUBLIC=true to accept that anyone who can reach the port may trade`,
    });
  }
  return issues.length > 0 ? err(issues) : ok(config);
}

/** The configuration with every default, plus overrides (for tests). */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  const r = loadConfig({});
  if (!r.ok) throw new Error(`defaults are invalid: ${r.error.map((i) => i.message).join("; ")}`);
  return { ...r.value, ...overrides };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Command line: `--help`/`-h` and `--port N` / `--port=N` (which wins over PORT). */
export interface Cli {
  readonly help: boolean;
  /** Environment overrides from flags, keyed by variable name. */
  readonly overrides: Readonly<Record<string, string>>;
}

export function parseCli(argv: readonly string[]): Result<Cli, string> {
  let help = false;
  const overrides: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") help = true;
    else if (a === "--port") {
      const next = argv[i + 1];
      if (next === undefined) return err("--port needs a value, e.g. --port 50051");
      overrides["PORT"] = next;
      i++;
    } else if (a.startsWith("--port=")) overrides["PORT"] = a.slice("--port=".length);
    else return err(`unknown argument ${JSON.stringify(a)}; try --help`);
  }
  return ok({ help, overrides });
}

/** `--help` text: every setting, its default and what it expects. */
export function formatHelp(): string {
  const lines = [
    "trading-gateway: gRPC, gRPC-Web and Connect order gateway",
    "",
    "Usage: trading-gateway [--port N] [--help]",
    "",
    "Settings (environment variables):",
  ];
  for (const s of Object.values(settings) as Setting[]) {
    lines.push(`  ${s.env}  (default: ${s.default === undefined ? "unset" : JSON.stringify(s.default)}; ${s.expects})`);
    lines.push(`      ${s.description}`);
  }
  lines.push("", "Risk limits ON by default (every account; relax or turn off in RISK_LIMITS_FILE):");
  for (const d of RISK_LIMIT_DOCS) lines.push(`  ${d.key} = ${String(BUILT_IN_RISK_LIMITS[d.key])}  (${d.level}) ${d.meaning}`);
  return lines.join("\n") + "\n";
}

/** The README settings table (Markdown), generated from the same rows. */
export function formatSettingsMarkdown(): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const rows = (Object.values(settings) as Setting[]).map(
    (s) => `| \`${s.env}\` | ${s.default === undefined || s.default === "" ? "(unset)" : `\`${esc(s.default)}\``} | ${esc(s.expects)} | ${esc(s.description)} |`,
  );
  return ["| Variable | Default | Expects | Description |", "|---|---|---|---|", ...rows].join("\n") + "\n";
}
