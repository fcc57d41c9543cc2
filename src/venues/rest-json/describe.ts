/**
 * The `rest-json` kind has no built-in facts: everything comes from the
 * venue file's translator rules. These are only the defaults of what the
 * file may leave out.
 */
export const REST_JSON = {
  weights: { place: 1, cancel: 1, query: 1 },
  defaultBackoffMs: { 429: 1_000, 418: 60_000 },
  /** Where a non-2xx JSON answer keeps its message and code. */
  errorMessagePath: "message",
  errorCodePath: "code",
} as const;

/** How a rest-json venue authenticates. Values are credential names, never secrets. */
export type RestJsonAuth =
  | { readonly type: "none" }
  /** A static header carrying a credential, e.g. X-API-KEY: <apiKey>, or Authorization: Bearer <token>. */
  | { readonly type: "header"; readonly header: string; readonly credential: string; readonly prefix?: string };
