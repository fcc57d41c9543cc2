import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDashboardFiles } from "../../src/config/dashboard-files.js";
import { loadConfig } from "../../src/config/env.js";
import { DASHBOARD_CSP } from "../../src/server/dashboard-route.js";
import { buildDashboard } from "../../src/dashboard/build/build-dashboard.js";
import { builtDashboard, launchChromium, startDashboardGateway } from "./dashboard-gateway.js";

const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);

test("/ is index.html, no-cache with an ETag; hashed assets are immutable; both under the strict CSP", async (t) => {
  const gw = await startDashboardGateway();
  t.after(() => gw.stop());
  const index = await fetch(`${gw.baseUrl}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const csp = index.headers.get("content-security-policy") ?? "";
  assert.equal(csp, DASHBOARD_CSP);
  for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(d), d);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:/);
  assert.equal(index.headers.get("x-content-type-options"), "nosniff");
  const html = await index.text();
  // Nothing inline for the CSP to allow: no inline script, style block or style attribute.
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=/i);

  const etag = index.headers.get("etag");
  assert.ok(etag !== null);
  assert.equal((await fetch(`${gw.baseUrl}/`, { headers: { "if-none-match": etag } })).status, 304);

  const assets = assetsOf(html);
  assert.deepEqual(assets.map((a) => a.replace(/-[A-Z0-9]{8,}\./, "-HASH.")).sort(), ["/assets/favicon-HASH.svg", "/assets/main-HASH.js", "/assets/styles-HASH.css"]);
  for (const a of assets) {
    const r = await fetch(`${gw.baseUrl}${a}`);
    assert.equal(r.status, 200, a);
    assert.equal(r.headers.get("cache-control"), "public, max-age=31536000, immutable", a);
    assert.equal(r.headers.get("content-security-policy"), DASHBOARD_CSP, a);
    assert.match(r.headers.get("content-type") ?? "", a.endsWith(".js") ? /^text\/javascript/ : a.endsWith(".css") ? /^text\/css/ : /^image\/svg\+xml/, a);
  }
  assert.equal((await fetch(`${gw.baseUrl}/assets/main-NOPE.js`)).status, 404);
  // The bundle carries no address of its own: it calls the origin that served it.
  const js = await (await fetch(`${gw.baseUrl}${assets.find((a) => a.endsWith(".js"))!}`)).text();
  assert.doesNotMatch(js, /https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+[:/]/i);
});

test("DASHBOARD=off: / is the RPC port's 404, and nothing is read", async (t) => {
  const off = loadConfig({ DASHBOARD: "off" });
  assert.ok(off.ok);
  const nothing = loadDashboardFiles(off.value);
  // assert.ok, not deepEqual: a failing deepEqual would diff a whole bundle.
  assert.ok(nothing.ok && nothing.value.files === undefined && nothing.value.warning === undefined, "DASHBOARD=off read the dashboard");
  const gw = await startDashboardGateway({ dashboard: false });
  t.after(() => gw.stop());
  assert.equal((await fetch(`${gw.baseUrl}/`)).status, 404);
  assert.equal((await fetch(`${gw.baseUrl}/assets/main.js`)).status, 404);
});

test("dashboard files: DASHBOARD_DIR without a build is a config error; no build at the default place is a warning", async () => {
  const on = loadConfig({});
  assert.ok(on.ok);
  assert.equal(on.value.dashboard, true, "on by default");
  const missing = loadDashboardFiles({ dashboard: true, dashboardDir: "/nonexistent/dashboard" });
  assert.ok(!missing.ok);
  assert.match(missing.error, /DASHBOARD_DIR=\/nonexistent\/dashboard holds no built dashboard.*npm run build.*DASHBOARD=off/);
  const unbuilt = loadDashboardFiles({ dashboard: true, dashboardDir: undefined }, ["/nonexistent/a/", "/nonexistent/b/"]);
  assert.ok(unbuilt.ok);
  assert.equal(unbuilt.value.files, undefined);
  assert.match(unbuilt.value.warning ?? "", /not built.*npm run build/);
  const dir = await builtDashboard();
  const found = loadDashboardFiles({ dashboard: true, dashboardDir: undefined }, ["/nonexistent/a/", `${dir}/`]);
  assert.ok(found.ok && found.value.files !== undefined);
  assert.ok(found.value.files.index.equals(readFileSync(join(dir, "index.html"))));
});

test("build: asset names are content hashes (same sources, same names); an up-to-date tree is not rebuilt", async (t) => {
  const dir = await builtDashboard();
  const again = await buildDashboard({ outDir: dir });
  assert.equal(again.built, false, "rebuilt an up-to-date tree");
  const html = readFileSync(join(dir, "index.html"), "utf8");
  for (const a of assetsOf(html)) {
    const body = readFileSync(join(dir, a.slice("/assets/".length)));
    assert.ok(body.length > 0, a);
  }
  // esbuild's hash is of the content: the same sources give the same names (a cache stays valid across builds).
  const other = await buildDashboard({ outDir: `${dir}-again`, force: true });
  t.after(() => rmSync(other.outDir, { recursive: true, force: true }));
  assert.deepEqual(assetsOf(readFileSync(join(other.outDir, "index.html"), "utf8")), assetsOf(html));
});

test("with API_KEYS the page asks for a key, keeps it in sessionStorage only, and loads with it", async (t) => {
  const key = "dashboard-trader-key-0123";
  const sha = createHash("sha256").update(key).digest("hex");
  const gw = await startDashboardGateway({ apiKeys: [{ sha256: sha, accounts: new Set(["acct-1"]) }] });
  t.after(() => gw.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${gw.baseUrl}/`);
  await page.waitForSelector("#key-dialog[open]", { timeout: 10_000 });
  await page.fill("#key", key);
  await page.click("#key-form button[type=submit]");
  await page.waitForSelector("#key-dialog:not([open])", { state: "attached", timeout: 5000 });
  await page.waitForSelector('#state:text-is("ACTIVE")', { timeout: 10_000 });
  await page.waitForSelector("#o-venue option[value=paper]", { state: "attached", timeout: 5000 });
  const stored = await page.evaluate('({ session: sessionStorage.getItem("trading-gateway.apiKey"), local: JSON.stringify({ ...localStorage }), cookie: document.cookie })');
  assert.deepEqual(stored, { session: key, local: "{}", cookie: "" });
  // A trader key may not halt: the page says so instead of pretending.
  await page.click("#halt");
  await page.waitForSelector('#state-result:text-matches("PermissionDenied")', { timeout: 5000 });
});
