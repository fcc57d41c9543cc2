import * as v from "valibot";
import type { VenueKindSchema } from "../../../shared/venue-kind-schema.js";
import { builtInVenueKind, exclusiveKeyOption } from "../translator-schema.js";
import { binanceRules } from "./describe.js";

/** What a `kind: binance` entry of the venue file takes (registered in ../registry.ts). */
export const binanceConfig: VenueKindSchema = builtInVenueKind("binance", ["apiKey", "apiSecret"], binanceRules, {
  recvWindowMs: {
    schema: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(60_000)),
    otherKinds: () => "only kind binance takes recvWindowMs",
  },
  exclusiveKey: exclusiveKeyOption,
});
