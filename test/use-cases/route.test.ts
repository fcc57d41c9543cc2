import { test } from "node:test";
import assert from "node:assert/strict";
import { routeOrder } from "../../src/use-cases/route.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createCounterIds } from "../helpers/counter-ids.js";
import { createManualClock } from "./support.js";

test("routes to the named adapter; an unknown venue is invalid_argument on venue", () => {
  const paper = createPaperVenue({ clock: createManualClock(), ids: createCounterIds("p") });
  const venues = new Map([["paper", paper]]);
  const r = routeOrder("paper", venues);
  assert.equal(r.ok && r.value, paper);
  const bad = routeOrder("lse", venues);
  assert.equal(bad.ok, false);
  if (!bad.ok && bad.error.kind === "invalid_argument") {
    assert.equal(bad.error.violations[0]!.field, "venue");
    assert.match(bad.error.message, /unknown venue "lse"; configured: paper/);
  } else assert.fail("expected invalid_argument");
});
