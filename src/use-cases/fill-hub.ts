import type { Fill } from "../domain/order.js";
import { createSequenceHub, type SequenceHub, type SequenceHubOptions, type SubscribeOf, type Subscription } from "./sequence-hub.js";

/**
 * The gateway-wide fill sequence and the fan-out behind StreamFills: a sequence hub
 * (sequence-hub.ts: catch-up over archive and ring, then live, bounded queues) over fills.
 */

export interface FillFilter {
  /** "" or undefined = any. */
  readonly account?: string;
  readonly venue?: string;
  readonly symbol?: string;
  /** Accounts the caller may see (the principal's), or "any". Applied on top of `account`. */
  readonly allowedAccounts: ReadonlySet<string> | "any";
}

export type SubscribeOptions = SubscribeOf<FillFilter>;
export type FillSubscription = Subscription<Fill>;
export type FillHubOptions = Omit<SequenceHubOptions<Fill, FillFilter>, "matches" | "noun" | "describe">;
export type FillHub = SequenceHub<Fill, FillFilter>;

function matches(f: Fill, o: FillFilter): boolean {
  return (
    (o.account === undefined || o.account === "" || f.account === o.account) &&
    (o.venue === undefined || o.venue === "" || f.venue === o.venue) &&
    (o.symbol === undefined || o.symbol === "" || f.symbol === o.symbol) &&
    (o.allowedAccounts === "any" || o.allowedAccounts.has(f.account))
  );
}

export function createFillHub(opts: FillHubOptions): FillHub {
  return createSequenceHub<Fill, FillFilter>({ ...opts, matches, noun: "fill", describe: (f) => ({ fillId: f.fillId }) });
}
