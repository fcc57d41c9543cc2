/**
 * Expected failures are values, not exceptions: every pipeline step and venue
 * call returns a Result, and only the RPC edge turns an error into a
 * ConnectError (src/rpc/to-connect-error.ts).
 */
export type Result<T, E> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
