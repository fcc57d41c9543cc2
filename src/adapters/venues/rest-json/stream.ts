import * as v from "valibot";
import { strictFields } from "../../../shared/strict-fields.js";
import { nonEmpty } from "../translator-schema.js";
import type { TranslatorRules } from "../translator.js";
import { getPath, parseOrderAnswer } from "../translator.js";
import type { StreamMessage, VenueStreamKind, VenueStreamSpec } from "../user-stream/stream-spec.js";

/**
 * A rules-only venue's WebSocket user stream, declared in the venue file (kind rest-json,
 * option `stream`), for venues whose stream is "send fixed frames, wait for an ack, read order
 * objects": frames are JSON text templates with {credential.NAME} and {timestamp} (epoch ms);
 * frames are recognized by one field's value; order objects are read with the venue's own
 * `rules.answer` (the same status table and, when the rules list fills, the same trade ids as
 * the REST answers). What does not fit rules (a token fetched over REST before connecting, a
 * signature or JWT per message, sequence numbers) needs a built-in kind.
 *
 *   stream:
 *     subscribe: ['{"op":"auth","key":"{credential.apiKey}"}']      # sent on open
 *     then: [{ when: { path: op, equals: authed }, send: ['{"op":"subscribe","channel":"orders"}'] }]
 *     subscribed: { path: op, equals: subscribed }                  # the stream is active
 *     refused: { path: op, equals: error, reasonPath: reason }      # auth/subscription refused
 *     events: { when: { path: topic, equals: orders }, order: data, clientOrderId: clientId }
 *                                    # order object (or list) at `order`; client id path inside it
 *     heartbeat: { intervalMs: 15000, timeoutMs: 45000 }            # WebSocket pings; optional
 */

const match = strictFields({ path: nonEmpty, equals: v.union([v.string(), v.number(), v.boolean()]) });
const frame = v.pipe(v.string(), v.minLength(2));

export const restJsonStreamSchema = strictFields({
  subscribe: v.pipe(v.array(frame), v.minLength(1)),
  then: v.optional(v.array(strictFields({ when: match, send: v.pipe(v.array(frame), v.minLength(1)) }))),
  subscribed: match,
  refused: v.optional(strictFields({ path: nonEmpty, equals: v.union([v.string(), v.number(), v.boolean()]), reasonPath: v.optional(nonEmpty) })),
  events: strictFields({ when: match, order: nonEmpty, clientOrderId: v.optional(nonEmpty) }),
  heartbeat: v.optional(strictFields({ intervalMs: v.pipe(v.number(), v.integer(), v.minValue(100)), timeoutMs: v.pipe(v.number(), v.integer(), v.minValue(200)) })),
});
export type RestJsonStreamRules = v.InferOutput<typeof restJsonStreamSchema>;

const VARIABLE = /\{(credential\.[A-Za-z0-9_-]+|timestamp)\}/g;

/** The credential names and unknown variables a frame template uses (config checks them). */
export function templateProblems(template: string, credentials: readonly string[]): string | undefined {
  // Only identifier-like names are variables: the JSON text's own braces hold quotes and colons.
  for (const m of template.matchAll(/\{([A-Za-z][\w.-]*)\}/g)) {
    const name = m[1]!;
    if (name === "timestamp") continue;
    if (!name.startsWith("credential.")) return `unknown variable {${name}} (use {credential.NAME} or {timestamp})`;
    if (!credentials.includes(name.slice("credential.".length))) return `no credential named "${name.slice("credential.".length)}" in credentials`;
  }
  return undefined;
}

/** Fills a frame template; values are JSON-string escaped (templates are JSON text). */
export function fillTemplate(template: string, credentials: Readonly<Record<string, string>>, nowMs: number): string {
  return template.replace(VARIABLE, (_, name: string) => {
    const value = name === "timestamp" ? String(nowMs) : (credentials[name.slice("credential.".length)] ?? "");
    return JSON.stringify(value).slice(1, -1);
  });
}

const is = (json: unknown, m: { path: string; equals: unknown }) => getPath(json, m.path) === m.equals;

/** One frame as the framework's messages, by the rules. Pure. */
export function restJsonStreamMessages(frame: string, stream: RestJsonStreamRules, rules: TranslatorRules, credentials: Readonly<Record<string, string>>, nowMs: number): StreamMessage[] {
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return [{ kind: "ignored" }];
  }
  if (stream.refused !== undefined && is(json, stream.refused)) {
    const reason = stream.refused.reasonPath !== undefined ? getPath(json, stream.refused.reasonPath) : undefined;
    return [{ kind: "error", reason: `venue refused: ${typeof reason === "string" ? reason.slice(0, 200) : "no reason given"}`, auth: true }];
  }
  if (is(json, stream.subscribed)) return [{ kind: "subscribed" }];
  for (const t of stream.then ?? []) if (is(json, t.when)) return [{ kind: "send", frames: t.send.map((f) => fillTemplate(f, credentials, nowMs)) }];
  if (!is(json, stream.events.when)) return [{ kind: "ignored" }];
  const at = getPath(json, stream.events.order);
  const list = Array.isArray(at) ? (at as unknown[]) : [at];
  // The REST answer rules, rooted at the event's order object instead of the answer's root.
  const answer = { ...rules.answer, root: "" };
  const out: StreamMessage[] = [];
  for (const o of list) {
    const u = parseOrderAnswer(o, rules, answer);
    if (!u.ok) continue;
    const cid = stream.events.clientOrderId !== undefined ? getPath(o, stream.events.clientOrderId) : undefined;
    out.push({
      kind: "order",
      event: {
        venueOrderId: u.value.venueOrderId,
        venueClientOrderId: typeof cid === "string" ? cid : "",
        update: u.value,
        eventTimeMs: 0,
        // Without a fills list the object carries totals only: fills come from their rise, named as REST names them.
        ...(rules.answer.fills === undefined ? { cumulativeOnly: true } : {}),
      },
    });
  }
  return out.length > 0 ? out : [{ kind: "ignored" }];
}

export function createRestJsonStreamSpec(url: string, stream: RestJsonStreamRules, rules: TranslatorRules, credentials: Readonly<Record<string, string>>): VenueStreamSpec {
  let now = 0;
  return {
    url,
    subscribe: (_auth, nowMs) => {
      now = nowMs;
      return stream.subscribe.map((f) => fillTemplate(f, credentials, nowMs));
    },
    parse: (frame) => restJsonStreamMessages(frame, stream, rules, credentials, now),
    heartbeat: stream.heartbeat ?? { intervalMs: 15_000, timeoutMs: 45_000 },
  };
}

/** Kind rest-json's stream: only with `stream` rules and a `streamUrl` (there is no production URL). */
export const restJsonStreamKind: VenueStreamKind = {
  kind: "rest-json",
  defaultUrl: "",
  productionBaseUrls: [],
  create(input) {
    const stream = input.options["stream"] as RestJsonStreamRules;
    return createRestJsonStreamSpec(input.url, stream, input.rules!, input.credentials);
  },
};
