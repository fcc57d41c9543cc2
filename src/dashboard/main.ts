/**
 * The dashboard page: one account's orders, fills, positions, balances, venue health and trading
 * state, live from StreamOrderEvents after a snapshot, and the forms that place, cancel and halt.
 * Every call goes over Connect to the origin that served the page (client.ts).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/health/v1/health_pb.js";
import { OrderStatus, OrderType, Side, TimeInForce, TradingState } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { GetBalancesResponse, Order, TradingStateSetting } from "../../gen/trading/v1/trading_gateway_pb.js";
import { apiKey, createClients } from "./client.js";
import { RECENT, createStore, type Store } from "./store.js";
import { $, badge, fillTable, note, signed, time, type Cell } from "./view.js";

const ACCOUNT_ITEM = "trading-gateway.account";
const POLL_MS = 5000;

const { trading, health } = createClients(location.origin);
let account = sessionStorage.getItem(ACCOUNT_ITEM) ?? "acct-1";
let store: Store = createStore();
/** Bumped on every (re)start: a stream or a poll of an older start stops touching the page. */
let generation = 0;
let stream: AbortController | undefined;
let venues: string[] = [];
let balances: GetBalancesResponse | undefined;
let venueStates = new Map<string, TradingState>();
let streamState: Cell = badge("connecting");

const sideCell = (s: Side): Cell => ({ text: Side[s] ?? "?", cls: s === Side.BUY ? "buy" : "sell" });
const errorText = (e: unknown): string => {
  const c = ConnectError.from(e);
  return `${Code[c.code] ?? c.code}: ${c.rawMessage}`;
};

// ------------------------------------------------------------------ start, auth

async function start(): Promise<void> {
  const gen = ++generation;
  stream?.abort();
  store = createStore();
  ($("account") as HTMLInputElement).value = account;
  $("forget-key").hidden = apiKey.get() === null;
  render();
  try {
    const [open, recent, fills, positions] = await Promise.all([
      trading.listOrders({ account, openOnly: true, pageSize: 1000 }),
      trading.listOrders({ account, pageSize: RECENT }),
      trading.listFills({ account, pageSize: RECENT }),
      trading.getPositions({ account }),
      refreshBalances(gen),
    ]);
    if (gen !== generation) return;
    store.loadOrders([...open.orders, ...recent.orders]);
    store.loadFills(fills.fills);
    store.loadPositions(positions.positions);
    note("footer", "");
    render();
  } catch (e) {
    if (gen === generation) failed(e);
    return;
  }
  void refreshTradingState(gen);
  void refreshHealth(gen);
  void follow(gen);
}

/** UNAUTHENTICATED asks for a key; anything else is shown. */
function failed(e: unknown): void {
  if (ConnectError.from(e).code === Code.Unauthenticated) {
    apiKey.clear();
    const dialog = $("key-dialog") as HTMLDialogElement;
    if (!dialog.open) dialog.showModal();
    setStream(badge("needs key"));
    return;
  }
  note("footer", errorText(e), true);
}

/** StreamOrderEvents from the last sequence seen, re-opened after a failure (resume: no gap, no duplicate). */
async function follow(gen: number): Promise<void> {
  let backoffMs = 500;
  while (gen === generation) {
    stream = new AbortController();
    try {
      setStream(badge("connecting"));
      for await (const res of trading.streamOrderEvents({ account, afterSequence: store.lastSequence }, { signal: stream.signal, onHeader: live })) {
        if (gen !== generation || res.event === undefined) return;
        backoffMs = 500;
        const touched = store.apply(res.event);
        live();
        if (touched.orders || touched.fills || touched.positions) scheduleRender();
        if (touched.fills) scheduleBalances(gen);
        if (touched.tradingState) void refreshTradingState(gen);
      }
    } catch (e) {
      if (gen !== generation) return;
      if (ConnectError.from(e).code === Code.Unauthenticated) return failed(e);
      setStream({ text: `reconnecting (${errorText(e)})`, cls: "badge bad" });
    }
    await new Promise((r) => setTimeout(r, backoffMs));
    backoffMs = Math.min(backoffMs * 2, 10_000);
  }
}

const live = (): void => setStream({ text: `live #${store.lastSequence}`, cls: "badge ok" });

function setStream(c: Cell): void {
  streamState = c;
  const s = $("stream");
  if (typeof c === "object" && "text" in c) {
    s.textContent = c.text;
    s.className = c.cls;
  }
  renderHealth();
}

// ------------------------------------------------------------------ polls

async function refreshBalances(gen: number): Promise<void> {
  const got = await trading.getBalances({ account });
  if (gen !== generation) return;
  balances = got;
  const names = got.venues.map((v) => v.venue);
  if (names.join() !== venues.join()) {
    venues = names;
    for (const id of ["o-venue", "s-venue"]) $(id).replaceChildren(...venues.map((v) => new Option(v, v)));
  }
  renderBalances();
  renderHealth();
}

let balanceTimer: ReturnType<typeof setTimeout> | undefined;
/** After fills, once: the venue's balances have moved. */
function scheduleBalances(gen: number): void {
  balanceTimer ??= setTimeout(() => {
    balanceTimer = undefined;
    refreshBalances(gen).catch(() => undefined);
  }, 300);
}

async function refreshTradingState(gen: number): Promise<void> {
  try {
    const [mine, ...perVenue] = await Promise.all([trading.getTradingState({ account }), ...venues.map((venue) => trading.getTradingState({ account, venue }))]);
    if (gen !== generation || mine === undefined) return;
    venueStates = new Map(venues.map((v, i) => [v, perVenue[i]!.effective]));
    const word = TradingState[mine.effective] ?? "?";
    const s = $("state");
    s.textContent = word;
    s.className = `badge s-${word}`;
    const seen = new Map<string, TradingStateSetting>();
    for (const r of [mine, ...perVenue]) for (const t of r.settings) seen.set(`${t.account}\u0000${t.venue}`, t);
    fillTable(
      "state-settings",
      [...seen.values()].map((t) => ({
        key: `${t.account}/${t.venue}`,
        cells: [scopeText(t.account, t.venue), badge(TradingState[t.state] ?? "?"), t.reason, t.setBy, time(t.setAt)],
      })),
      "ACTIVE everywhere",
    );
    renderHealth();
  } catch (e) {
    if (gen === generation) failed(e);
  }
}

const scopeText = (acct: string, venue: string): string =>
  acct === "" && venue === "" ? "everything" : [acct !== "" ? `account ${acct}` : "", venue !== "" ? `venue ${venue}` : ""].filter(Boolean).join(", ");

let healthStatuses: Record<string, Serving> = {};
async function refreshHealth(gen: number): Promise<void> {
  try {
    const got = await health.list({});
    if (gen !== generation) return;
    healthStatuses = Object.fromEntries(Object.entries(got.statuses).map(([k, v]) => [k, v.status]));
  } catch (e) {
    healthStatuses = { "": Serving.UNKNOWN };
    note("footer", `health: ${errorText(e)}`, true);
  }
  renderHealth();
}

setInterval(() => {
  const gen = generation;
  refreshBalances(gen).catch(() => undefined);
  void refreshHealth(gen);
}, POLL_MS);

// ------------------------------------------------------------------ render

let renderTimer: ReturnType<typeof setTimeout> | undefined;
/** Coalesces a burst of events (a replay) into one render. */
function scheduleRender(): void {
  renderTimer ??= setTimeout(() => {
    renderTimer = undefined;
    render();
  }, 16);
}

function render(): void {
  fillTable("open-orders", store.openOrders().map((o) => ({ key: o.clientOrderId, cells: [time(o.createdAt), o.clientOrderId, o.venue, o.symbol, sideCell(o.side), OrderType[o.type] ?? "?", o.quantity, o.price || o.stopPrice, o.filledQuantity, badge(OrderStatus[o.status] ?? "?"), cancelButton(o)] })));
  fillTable("recent-orders", store.recentOrders().map((o) => ({ key: o.clientOrderId, cells: [time(o.updatedAt), o.clientOrderId, o.venue, o.symbol, sideCell(o.side), OrderType[o.type] ?? "?", o.quantity, o.filledQuantity, o.averageFillPrice, badge(OrderStatus[o.status] ?? "?"), o.rejectReason] })));
  fillTable("fills", store.fills().map((f) => ({ key: f.fillId, cells: [time(f.time), String(f.sequence), f.clientOrderId, f.venue, f.symbol, sideCell(f.side), f.quantity, f.price, `${f.fee} ${f.feeCurrency}`.trim()] })));
  fillTable("positions", store.positions().map((p) => ({ key: `${p.venue}/${p.symbol}`, cells: [p.venue, p.symbol, signed(p.quantity), p.averageEntryPrice, signed(p.realizedPnl), p.fees] })), "flat");
}

function renderBalances(): void {
  const rows = (balances?.venues ?? []).flatMap((v) =>
    v.balances.length === 0
      ? [{ key: v.venue, cells: [v.venue, { text: v.error || "no balances", cls: v.error ? "warn" : "note" }, "", "", ""] as Cell[] }]
      : v.balances.map((b) => ({ key: `${v.venue}/${b.asset}`, cells: [v.venue, b.asset, b.free, b.locked, `${(Number(v.ageMs) / 1000).toFixed(1)} s`] as Cell[] })),
  );
  fillTable("balances", rows);
}

function renderHealth(): void {
  const word = (s: Serving | undefined) => (s === undefined ? "—" : (Serving[s] ?? "?"));
  const names = [...new Set([...venues, ...Object.keys(healthStatuses).filter((k) => k !== "" && !k.includes("."))])];
  const rows: Array<{ key: string; cells: Cell[] }> = [
    { key: "gateway", cells: ["gateway", badge(word(healthStatuses[""])), "", ""] },
    { key: "stream", cells: ["order event stream", streamState, "", ""] },
    ...names.map((v) => {
      const b = balances?.venues.find((x) => x.venue === v);
      const st = venueStates.get(v);
      return { key: v, cells: [v, badge(word(healthStatuses[v])), st === undefined ? "" : badge(TradingState[st] ?? "?"), b === undefined ? "" : b.error ? { text: b.error, cls: "warn" } : "ok"] as Cell[] };
    }),
  ];
  fillTable("health", rows);
}

function cancelButton(o: Order): HTMLElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = "Cancel";
  b.addEventListener("click", () => {
    trading.cancelOrder({ orderId: o.orderId }).then(
      (r) => note("order-result", `cancel ${o.clientOrderId}: ${OrderStatus[r.order?.status ?? 0]}`),
      (e: unknown) => note("order-result", `cancel ${o.clientOrderId}: ${errorText(e)}`, true),
    );
  });
  return b;
}

// ------------------------------------------------------------------ forms

let placed = 0;
$("order-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const v = (id: string) => ($(id) as HTMLInputElement).value.trim();
  const clientOrderId = `dash-${Date.now().toString(36)}-${++placed}`;
  trading
    .placeOrder({
      clientOrderId,
      account,
      venue: v("o-venue"),
      symbol: v("o-symbol"),
      side: Number(v("o-side")) as Side,
      type: Number(v("o-type")) as OrderType,
      timeInForce: Number(v("o-tif")) as TimeInForce,
      quantity: v("o-qty"),
      price: v("o-price"),
      stopPrice: v("o-stop"),
    })
    .then(
      (r) => note("order-result", `${clientOrderId}: ${OrderStatus[r.order?.status ?? 0]}${r.order?.rejectReason ? ` (${r.order.rejectReason})` : ""}`),
      (e: unknown) => note("order-result", `${clientOrderId}: ${errorText(e)}`, true),
    );
});

$("cancel-all").addEventListener("click", () => {
  trading.cancelAllOrders({ account }).then(
    (r) => note("order-result", `cancel all: ${r.results.length} order(s)`),
    (e: unknown) => note("order-result", `cancel all: ${errorText(e)}`, true),
  );
});

for (const id of ["halt", "reduce-only", "activate"]) {
  $(id).addEventListener("click", () => {
    const state = Number($(id).dataset["state"]) as TradingState;
    const scope = ($("s-scope") as HTMLSelectElement).value;
    const req = {
      account: scope === "account" || scope === "account-venue" ? account : "",
      venue: scope === "venue" || scope === "account-venue" ? ($("s-venue") as HTMLSelectElement).value : "",
      state,
      reason: ($("s-reason") as HTMLInputElement).value.trim(),
    };
    trading.setTradingState(req).then(
      (r) => {
        note("state-result", `${scopeText(req.account, req.venue)}: ${TradingState[r.setting?.state ?? 0]}`);
        void refreshTradingState(generation);
      },
      (e: unknown) => note("state-result", errorText(e), true),
    );
  });
}

$("account").addEventListener("change", () => {
  const next = ($("account") as HTMLInputElement).value.trim();
  if (next === "" || next === account) return;
  account = next;
  sessionStorage.setItem(ACCOUNT_ITEM, account);
  void start();
});

$("key-form").addEventListener("submit", () => {
  apiKey.set(($("key") as HTMLInputElement).value.trim());
  ($("key") as HTMLInputElement).value = "";
  void start();
});

$("forget-key").addEventListener("click", () => {
  apiKey.clear();
  void start();
});

void start();
