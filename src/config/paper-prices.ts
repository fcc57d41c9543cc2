import { checkPositiveDecimal } from "../domain/decimal.js";
import { err, ok } from "../domain/result.js";
import type { Result } from "../domain/result.js";

/**
 * Parses PAPER_PRICES ("BTC-USD=65000,ETH-USD=3500") into reference prices.
 * Empty -> undefined (use the defaults). Errors name the offending entry.
 */
export function parseReferencePrices(raw: string): Result<Readonly<Record<string, string>> | undefined, string> {
  const s = raw.trim();
  if (s === "") return ok(undefined);
  const out: Record<string, string> = {};
  for (const part of s.split(",")) {
    const entry = part.trim();
    const eq = entry.indexOf("=");
    const symbol = eq > 0 ? entry.slice(0, eq).trim() : "";
    const price = eq > 0 ? entry.slice(eq + 1).trim() : "";
    if (symbol === "" || checkPositiveDecimal(price) !== undefined) {
      return err(`PAPER_PRICES entry "${entry}" must be SYMBOL=price with a positive decimal price`);
    }
    out[symbol] = price;
  }
  return ok(out);
}
