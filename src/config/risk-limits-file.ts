import { readFileSync } from "node:fs";
import * as v from "valibot";
import { err, ok } from "../domain/result.js";
import type { Result } from "../domain/result.js";
import type { RiskLimitsConfig } from "../use-cases/risk.js";
import { decimalField } from "../shared/decimal-field.js";
import { MAX_DECIMAL_SCALE } from "../domain/decimal.js";
import { strictFields } from "../shared/strict-fields.js";
import { parseYamlExact } from "./parse-yaml-exact.js";

// Limits may be written as YAML numbers too (maxNotional: 1e6); they become exact decimal strings.
// "off" removes a limit that a broader level or the built-in defaults set. At most 18 fraction
// digits, as for order quantities and prices: the risk arithmetic is exact on that domain
// (src/domain/decimal-math.ts).
const decimal = decimalField({ maxFractionDigits: MAX_DECIMAL_SCALE });
const limit = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    if (dataset.value === "off") return "off";
    const r = v.safeParse(decimal, dataset.value);
    if (r.success) return r.output;
    addIssue({ message: `${r.issues[0]!.message} (or "off")` });
    return NEVER;
  }),
);
const wholeLimit = v.pipe(
  limit,
  v.check((s) => s === "off" || /^\d+$/.test(s), 'must be a whole number or "off"'),
);

// Per-order limits: account-wide, or per symbol.
const orderLimitFields = {
  maxQuantity: v.optional(limit),
  maxNotional: v.optional(limit),
  // --- issue 21 (kill switch and flow limits) ---
  priceBandPercent: v.optional(limit),
};
// Per-account flow limits (issue 21, kill switch and flow limits): not per symbol.
const accountFlowFields = {
  maxOpenOrders: v.optional(wholeLimit),
  maxOrderRate: v.optional(limit),
  orderRateBurst: v.optional(wholeLimit),
};
// Position limits (issue 21; src/use-cases/position-risk.ts): maxPosition also per symbol.
const symbolLimits = strictFields({ ...orderLimitFields, maxPosition: v.optional(decimal) });
const riskLimitsSchema = v.record(
  v.pipe(v.string(), v.minLength(1)),
  strictFields({
    ...orderLimitFields,
    ...accountFlowFields,
    allowedSymbols: v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
    symbols: v.optional(v.record(v.pipe(v.string(), v.minLength(1)), symbolLimits)),
    maxPosition: v.optional(decimal),
    maxGrossExposure: v.optional(decimal),
    dailyLossLimit: v.optional(decimal),
  }),
);

/**
 * RISK_LIMITS_FILE (YAML or JSON): account (or "*" for every account) -> { maxQuantity,
 * maxNotional, priceBandPercent, maxOpenOrders, maxOrderRate, orderRateBurst, maxPosition,
 * maxGrossExposure, dailyLossLimit, allowedSymbols, symbols: { SYMBOL: { maxQuantity, maxNotional,
 * priceBandPercent, maxPosition } } }. Every value is a number or a decimal string; those of the
 * order and flow limits may also be "off". What is left out is inherited (see src/use-cases/risk.ts).
 * Errors name the file and the path of the bad field.
 */
export function parseRiskLimits(text: string, path: string): Result<RiskLimitsConfig, string> {
  let doc: unknown;
  try {
    doc = parseYamlExact(text);
  } catch (e) {
    return err(`RISK_LIMITS_FILE ${path}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  const r = v.safeParse(riskLimitsSchema, doc ?? {});
  if (!r.success) {
    const i = r.issues[0]!;
    const at = v.getDotPath(i) ?? "(top level)";
    return err(`RISK_LIMITS_FILE ${path}: ${at}: ${i.message}`);
  }
  return ok(r.output as RiskLimitsConfig);
}

/** Reads and validates RISK_LIMITS_FILE. */
export function loadRiskLimitsFile(path: string, readFile: (p: string) => string = (p) => readFileSync(p, "utf8")): Result<RiskLimitsConfig, string> {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    return err(`RISK_LIMITS_FILE ${path} cannot be read: ${(e as Error).message}`);
  }
  return parseRiskLimits(text, path);
}
