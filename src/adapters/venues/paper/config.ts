import * as v from "valibot";
import { decimalField } from "../../../shared/decimal-field.js";
import { strictFields } from "../../../shared/strict-fields.js";
import type { VenueKindSchema } from "../../../shared/venue-kind-schema.js";
import { nonEmpty } from "../translator-schema.js";
import { reconcileVenueOptions } from "../reconcile-options.js";

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));

/** Options of the paper venue (src/adapters/venues/paper/paper-venue.ts); decimals may be written as numbers. */
const paperSchema = strictFields({
  referencePrices: v.optional(v.record(nonEmpty, decimalField({ positive: true }))),
  liquidity: v.optional(v.record(nonEmpty, decimalField())),
  feeRate: v.optional(decimalField()),
  /** Starting balances by asset; fills move them (see PaperVenueOptions.balances). */
  balances: v.optional(v.record(nonEmpty, decimalField())),
  /** A seeded random walk of the reference prices (price-walk.ts); absent: fixed prices. */
  walk: v.optional(
    strictFields({
      volatility: decimalField(),
      tickSize: v.union([decimalField({ positive: true }), v.record(nonEmpty, decimalField({ positive: true }))]),
      intervalMs: v.pipe(v.number(), v.integer(), v.minValue(10)),
      seed: v.pipe(v.number(), v.integer(), v.minValue(0)),
      depthNotional: v.optional(decimalField({ positive: true })),
    }),
  ),
  maxWorkingOrders: v.optional(positiveInt),
  maxFinishedOrders: v.optional(positiveInt),
});

/** What a `kind: paper` entry of the venue file takes (registered in ../registry.ts): no URL, no credentials. */
export const paperConfig: VenueKindSchema = {
  kind: "paper",
  needsBaseUrl: false,
  requiredCredentials: [],
  options: { paper: { schema: paperSchema, otherKinds: () => "only kind paper takes paper options" }, ...reconcileVenueOptions },
};
