import { ISO_TIMESTAMP_REGEX } from "valibot";
import type { FieldKind } from "../../domain/order-fields.js";

/**
 * The audit decoder's fast path: for a record that is plainly valid, the output valibot's
 * `safeParse` of the decoder's schema would give, without running valibot; for anything else,
 * `undefined`, and the decoder runs valibot, which accepts or words the error as always.
 *
 * Why: start-up replays the whole audit log, and validating each line with valibot's general
 * object and pipe runners took about half of the decoding, a third of a restart (docs/performance.md,
 * "Start-up"). Each reader here checks exactly what its schema in audit-codec.ts checks, per field
 * kind, in a few comparisons, and gives up at the first thing it does not plainly accept; so it can
 * only be faster, never more lenient. The decoder's `validation: "valibot"` switch turns it off, and
 * test/adapters/audit/audit-fast-reader.test.ts holds every decoded event, and every refusal, to
 * valibot's over random and mutated lines.
 */

/** A record's validated form (keyed as in the log, values as the schema transforms them), or undefined: ask valibot. */
export type FastReader = (input: unknown) => Record<string, unknown> | undefined;

/** One field of an object schema built by audit-codec.ts's objectOf. */
export interface FastField {
  /** The key in the log. */
  readonly audit: string;
  readonly kind: FieldKind;
  /** v.optional around the value's schema. */
  readonly mayBeAbsent: boolean;
  /** Enums: names by number, full (ORDER_STATUS_FILLED) and short (FILLED); a full name wins, as in the schema. */
  readonly fullNames?: readonly string[];
  readonly shortNames?: readonly string[];
}

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const SEQUENCE = /^(0|[1-9][0-9]{0,19})$/;

/** An object as valibot's `v.object` takes it, minus arrays (valibot takes those too; they go to it). */
export function isPlainRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * The readers of one decoder. They share the memo of the last timestamp read: the lines of one
 * append share their `ts`, so most lines skip the timestamp's regular expression and Date.parse.
 */
export interface FastReaders {
  object(fields: readonly FastField[]): FastReader;
  /** The isoTime schema: epoch ms, or undefined when valibot must judge. */
  ms(x: unknown): number | undefined;
  /** The sequence schema: a uint64 as a bigint, or undefined when valibot must judge. */
  sequence(x: unknown): bigint | undefined;
}

export function createFastReaders(): FastReaders {
  let lastIso: string | undefined;
  let lastMs = 0;

  function ms(x: unknown): number | undefined {
    if (typeof x !== "string") return undefined;
    if (x === lastIso) return lastMs;
    if (!ISO_TIMESTAMP_REGEX.test(x)) return undefined;
    const n = Date.parse(x);
    if (!Number.isFinite(n)) return undefined;
    lastIso = x;
    lastMs = n;
    return n;
  }

  function sequence(x: unknown): bigint | undefined {
    if (typeof x !== "string" || !SEQUENCE.test(x)) return undefined;
    const n = BigInt(x);
    return n <= UINT64_MAX ? n : undefined;
  }

  function object(fields: readonly FastField[]): FastReader {
    const enums = fields.map((f) => (f.kind === "enum" ? enumIndex(f) : undefined));
    return (input) => {
      if (!isPlainRecord(input)) return undefined;
      const out: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        const x = input[f.audit];
        if (x === undefined) {
          if (!f.mayBeAbsent) return undefined;
          continue;
        }
        let value: unknown;
        switch (f.kind) {
          case "string":
          case "decimal":
            if (typeof x !== "string") return undefined;
            value = x;
            break;
          case "enum":
            if (typeof x === "string") value = enums[i]!.get(x);
            else if (typeof x === "number" && Number.isInteger(x) && x >= 0) value = x;
            if (value === undefined) return undefined;
            break;
          case "ms":
            value = ms(x);
            if (value === undefined) return undefined;
            break;
          case "bigint":
            value = sequence(x);
            if (value === undefined) return undefined;
            break;
          case "strings":
            if (!Array.isArray(x)) return undefined;
            for (const s of x) if (typeof s !== "string") return undefined;
            value = x.slice();
            break;
          case "flag":
            if (x !== true) return undefined;
            value = true;
            break;
        }
        out[f.audit] = value;
      }
      return out;
    };
  }

  return { object, ms, sequence };
}

/** The enum schema's transform as a lookup: a full name's index, else a short name's. */
function enumIndex(f: FastField): ReadonlyMap<string, number> {
  // indexOf's answer: a name's first index; a full name's over a short one's.
  const m = new Map<string, number>();
  f.shortNames!.forEach((n, i) => m.has(n) || m.set(n, i));
  const full = new Set<string>();
  f.fullNames!.forEach((n, i) => full.has(n) || (full.add(n), m.set(n, i)));
  return m;
}
