import * as v from "valibot";
import type { VenueOption } from "../../shared/venue-kind-schema.js";
import type { VenueReconcileSettings } from "../../use-cases/reconcile-venues.js";
import { DEFAULT_RECONCILE_SETTINGS } from "../../use-cases/reconcile-venues.js";

const otherKinds = (option: string) => (kind: string) =>
  `kind ${kind} cannot list its open orders, so reconciliation cannot adopt external orders there: only kinds paper, binance, kraken, alpaca and coinbase take ${option}`;

/**
 * Venue-file options of every kind that can list its open orders (VenueAdapter.listOpenOrders):
 * whether reconciliation adopts orders placed at the venue outside the gateway, and the account
 * they are given. Declared by each such kind (same schema objects), read by venueReconcileSettings.
 */
export const reconcileVenueOptions: Readonly<Record<"adoptExternalOrders" | "externalAccount", VenueOption>> = {
  adoptExternalOrders: { schema: v.boolean(), otherKinds: otherKinds("adoptExternalOrders") },
  externalAccount: {
    schema: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1-64 letters, digits, '.', '_', ':' or '-' (an account name)")),
    otherKinds: otherKinds("externalAccount"),
  },
};

/** The reconciliation settings of one venue-file entry (defaults: adopt, account "external"). */
export function venueReconcileSettings(entry: { readonly [option: string]: unknown }): VenueReconcileSettings {
  const adopt = entry["adoptExternalOrders"];
  const account = entry["externalAccount"];
  return {
    adoptExternalOrders: typeof adopt === "boolean" ? adopt : DEFAULT_RECONCILE_SETTINGS.adoptExternalOrders,
    externalAccount: typeof account === "string" ? account : DEFAULT_RECONCILE_SETTINGS.externalAccount,
  };
}
