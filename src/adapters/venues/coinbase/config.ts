import type { VenueKindSchema } from "../../../shared/venue-kind-schema.js";
import { builtInVenueKind } from "../translator-schema.js";
import { coinbaseRules } from "./describe.js";

/** What a `kind: coinbase` entry of the venue file takes (registered in ../registry.ts). */
export const coinbaseConfig: VenueKindSchema = builtInVenueKind("coinbase", ["keyName", "privateKey"], coinbaseRules);
