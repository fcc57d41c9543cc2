import type { VenueAdapter, VenueError } from "./venue-adapter.js";
import { err } from "../domain/result.js";

/**
 * High availability: the venues of a leader, refusing every call that changes something at a venue
 * (place, cancel, amend, mass cancel) while `leads()` is false. The audit fence already stops a
 * deposed leader's new orders (their intent is written before they are sent, and the write is
 * refused); this closes the rest: a process that wakes from a pause with a cancel or a poll-driven
 * action in hand sends nothing until it has renewed its lease, and it learns then that it lost it.
 * When the lease is not certainly valid (`leads`), one renewal decides (`confirm`): a leader whose
 * renewals failed through a database restart goes on; a deposed one learns it. The synchronous
 * mass cancel only looks at `leads`. The refusal is `unavailable` (certainly not sent).
 */
export function leaderGatedVenues(venues: ReadonlyMap<string, VenueAdapter>, leads: () => boolean, confirm: () => Promise<boolean>): ReadonlyMap<string, VenueAdapter> {
  const refused: VenueError = { kind: "unavailable", reason: "this gateway is not (or no longer certainly) the leader of its high-availability group; nothing was sent" };
  const out = new Map<string, VenueAdapter>();
  for (const [name, a] of venues) {
    const gated: VenueAdapter = Object.create(a) as VenueAdapter;
    Object.assign(gated, {
      placeOrder: async (o: Parameters<VenueAdapter["placeOrder"]>[0], ctx: Parameters<VenueAdapter["placeOrder"]>[1]) => ((leads() || (await confirm())) ? a.placeOrder(o, ctx) : err(refused)),
      cancelOrder: async (o: Parameters<VenueAdapter["cancelOrder"]>[0], ctx: Parameters<VenueAdapter["cancelOrder"]>[1]) => ((leads() || (await confirm())) ? a.cancelOrder(o, ctx) : err(refused)),
    });
    if (a.amendOrder !== undefined) {
      const amend = a.amendOrder.bind(a);
      gated.amendOrder = async (o, change, ctx) => ((leads() || (await confirm())) ? amend(o, change, ctx) : err(refused));
    }
    if (a.cancelAll !== undefined) {
      const cancelAll = a.cancelAll.bind(a);
      // undefined = "not natively": the caller then cancels one by one, through the gated cancelOrder.
      gated.cancelAll = (scope, ctx) => (leads() ? cancelAll(scope, ctx) : undefined);
    }
    out.set(name, gated);
  }
  return out;
}
