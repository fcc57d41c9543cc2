import assert from "node:assert/strict";
import { test } from "node:test";
import { startChildGateway, stopChildGateway } from "../helpers/child-gateway.js";
import { builtDashboard } from "./dashboard-gateway.js";

// The setting end to end through src/main.ts: on, the start-up log says where to open the page
// and the page is there; off, neither.
test("main: the start-up log prints the dashboard URL and / serves it; DASHBOARD=off: no URL, / is 404", async (t) => {
  const dir = await builtDashboard();
  const on = await startChildGateway({ AUDIT_MODE: "off", DASHBOARD_DIR: dir });
  t.after(() => stopChildGateway(on));
  const url = `http://127.0.0.1:${on.port}/`;
  const line = on.logs().find((l) => typeof l["msg"] === "string" && l["msg"].startsWith("dashboard:"));
  assert.equal(line?.["url"], url, on.output());
  assert.match(String(line?.["msg"]), new RegExp(`open ${url} in a browser`));
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>trading-gateway<\/title>/);

  const off = await startChildGateway({ AUDIT_MODE: "off", DASHBOARD: "off", DASHBOARD_DIR: dir });
  t.after(() => stopChildGateway(off));
  assert.equal(off.logs().find((l) => String(l["msg"]).startsWith("dashboard")), undefined, off.output());
  assert.equal((await fetch(`http://127.0.0.1:${off.port}/`)).status, 404);
});

test("main: DASHBOARD_DIR without a build refuses to start (exit 2, says what to do)", async () => {
  await assert.rejects(startChildGateway({ AUDIT_MODE: "off", DASHBOARD_DIR: "/nonexistent/dashboard" }), /exited early \(2\)[\s\S]*config: DASHBOARD_DIR=\/nonexistent\/dashboard holds no built dashboard/);
});
