/**
 * Straight-line code generated once from a declaration (the fields of a message, an order, a
 * fill). The proto mapping, the fast path's encoders and the audit encoder compile their per-field
 * loops into one function with a named property read per field (`o.orderId`), which V8
 * specializes, where a loop of keyed reads (`o[f.name]`) over twenty names stays megamorphic on
 * every call (docs/performance.md). Names come from the project's own declarations and generated
 * descriptors, never from input, and are checked before they reach the generated code.
 */

const PLAIN = /^[A-Za-z_$][\w$]*$/;

/** `name` as it may appear after a `.` in generated code; throws (naming `what`) if it is not a plain identifier. */
export function plainName(name: string, what: string): string {
  if (!PLAIN.test(name)) throw new Error(`${what}: ${JSON.stringify(name)} is not a plain identifier`);
  return name;
}

/** Runs `body` (which returns the function to compile) with each binding in scope under its key. */
export function compileFunction<F>(bindings: Readonly<Record<string, unknown>>, body: string): F {
  const names = Object.keys(bindings);
  return new Function(...names, body)(...names.map((n) => bindings[n])) as F;
}
