import * as v from "valibot";

/**
 * Schema pieces for hand-written configuration files (the venue file, the
 * risk limits): their messages say what is wrong in the file's terms and, for
 * a typo, which name was meant. valibot's own words ("Invalid key: Expected
 * never but received "baseURL"") describe the schema, not the file.
 */

/**
 * The valid name closest to `input`, or undefined when none is close: a
 * case-insensitive match first (baseURL -> baseUrl), else the smallest edit
 * distance (insert, delete, substitute, swap two neighbours) within about a
 * third of the name's length, else the one name the input abbreviates by
 * dropping letters (maxQty -> maxQuantity).
 */
export function closestName(input: string, names: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  const same = names.find((n) => n.toLowerCase() === lower);
  if (same !== undefined) return same;
  const limit = Math.min(Math.max(2, Math.floor(input.length / 3)), input.length - 1);
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const n of names) {
    const d = editDistance(lower, n.toLowerCase());
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  if (best !== undefined || input.length < 3) return best;
  const abbreviated = names.filter((n) => isSubsequence(lower, n.toLowerCase()));
  return abbreviated.length === 1 ? abbreviated[0] : undefined;
}

function isSubsequence(short: string, long: string): boolean {
  let at = 0;
  for (const c of long) if (c === short[at]) at++;
  return at === short.length;
}

/** Optimal string alignment distance: Levenshtein plus transposition of two adjacent characters. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/** "; did you mean X?" when a valid name is close to `input`, else "". */
export function didYouMean(input: unknown, names: readonly string[]): string {
  if (typeof input !== "string") return "";
  const near = closestName(input, names);
  return near === undefined ? "" : `; did you mean ${near}?`;
}

/**
 * valibot's strictObject with messages for a file: an unknown field names the
 * nearest valid field (or lists them all), a missing one says it is required.
 * The issue's path already ends at the field, so messages do not repeat it.
 */
export function strictFields<const E extends v.ObjectEntries>(entries: E): v.StrictObjectSchema<E, (issue: v.StrictObjectIssue) => string> {
  const names = Object.keys(entries);
  return v.strictObject(entries, (issue) => {
    if (issue.expected === "never") {
      const near = didYouMean(issue.input, names);
      return near === "" ? `unknown field; the fields here are ${names.join(", ")}` : `unknown field${near}`;
    }
    if (issue.received === "undefined") return "is required";
    return `must be a mapping with the fields ${names.join(", ")}`;
  });
}

/** A picklist whose message lists the choices and suggests the nearest one. */
export function oneOf<const T extends readonly string[]>(options: T): v.PicklistSchema<T, (issue: v.PicklistIssue) => string> {
  return v.picklist(options, (issue) => `must be one of ${options.join(", ")}${didYouMean(issue.input, options)}`);
}

/**
 * valibot reports a value that matches no option of a union at the union,
 * with each option's issues nested. When the value is a mapping, the option
 * that failed on one of its fields says more ("from: must be one of ...")
 * than the union does: descend to that field, joining the paths.
 */
export function mostSpecificIssue(issue: v.BaseIssue<unknown>): v.BaseIssue<unknown> {
  const isMapping = typeof issue.input === "object" && issue.input !== null && !Array.isArray(issue.input);
  if (issue.type !== "union" || !isMapping || issue.issues === undefined) return issue;
  const inner = issue.issues.find((i) => i.path !== undefined && i.path.length > 0);
  if (inner === undefined) return issue;
  return mostSpecificIssue({ ...inner, path: [...(issue.path ?? []), ...(inner.path ?? [])] as typeof inner.path });
}
