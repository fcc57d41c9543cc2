import type { Result } from "../../../domain/result.js";
import type { VenueError, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import type { TranslatorRules, UnsignedRequest } from "../translator.js";

/**
 * How a venue plugs its authenticated user push stream (order updates and fills) into the
 * gateway. The contract for every venue stream; the supervisor (user-stream.ts) does the rest.
 *
 * A venue module (src/adapters/venues/<venue>/stream.ts) exports one `VenueStreamKind` and
 * registers it in ./stream-kinds.ts (STREAM_KINDS, keyed by venue kind). From the venue-file
 * entry the kind builds a `VenueStreamSpec`: the socket URL and four hooks, all pure but
 * `authenticate` (the one I/O step a venue may need before connecting, e.g. Kraken's REST
 * GetWebSocketsToken, sent through the venue's REST adapter so it shares its limits):
 *
 *   authenticate (I/O, optional) -> open socket -> subscribe frames -> parse every frame
 *        ^                                                   heartbeat (ping, idle timeout)
 *        '---- reconnect with back-off and jitter <----------- renew (re-subscribe or reconnect)
 *
 * `parse` turns one frame into `StreamMessage`s. Order updates come out as a
 * `VenueOrderUpdate`, the very shape the REST answers produce (status mapped through the venue's
 * status table; fills with the venue trade id; cumulative filled quantity of the venue order),
 * so stream and polling feed the same transition table and the same de-duplication. The
 * supervisor, not the venue, decides what an update means against the order as the gateway
 * knows it (stale, duplicate, gap -> REST query): see stream-update.ts.
 *
 * Stability: this file is the framework's interface for the other venue streams (Alpaca,
 * Coinbase); changes are additive only.
 */

/** Per-connection secrets a venue obtains before connecting (a WebSocket token). Never logged. */
export type StreamAuth = Readonly<Record<string, string>>;

/** One order event of the stream, in gateway terms. */
export interface StreamOrderEvent {
  /** The client order id the venue holds (Binance `c`, Kraken `cl_ord_id`); "" when the event has none. */
  readonly venueClientOrderId: string;
  /** The venue's order id; "" when the event has none. */
  readonly venueOrderId: string;
  /**
   * What the event says, as REST answers say it: `filledQuantity` is the venue order's cumulative
   * filled quantity after the event (Binance `z`, Kraken `cum_qty`) when the venue reports it;
   * `fills` holds this event's execution(s) with their venue trade ids (empty when none).
   */
  readonly update: VenueOrderUpdate;
  /** The venue's time of the event (epoch ms; 0 = unknown): event-lag metric. */
  readonly eventTimeMs: number;
  /**
   * True for venues whose events carry totals only (Coinbase `user`: cumulative quantity and
   * fees, no trade id): the supervisor turns a rise of the cumulative figures into one fill,
   * exactly as REST answers with totals only are (translator.ts synthesizeFill), so both paths
   * name it the same and it is applied once.
   */
  readonly cumulativeOnly?: boolean;
}

/** What one frame of the stream says (a frame may say several things: Kraken batches executions). */
export type StreamMessage =
  /** An order update and/or fill. */
  | { readonly kind: "order"; readonly event: StreamOrderEvent }
  /** The subscription is active (Binance subscribe answer status 200, Kraken subscribe success): REST catch-up starts. */
  | { readonly kind: "subscribed" }
  /** Liveness only (Kraken heartbeat channel, application pong). Any frame counts as liveness, this one says nothing else. */
  | { readonly kind: "heartbeat" }
  /** The venue asks for a new connection (Binance serverShutdown, eventStreamTerminated): reconnect now. */
  | { readonly kind: "reconnect"; readonly reason: string }
  /**
   * The venue refused something (authentication, subscription): the connection is closed and
   * retried with back-off. `auth` marks a refused credential/signature/token (logged as such).
   */
  | { readonly kind: "error"; readonly reason: string; readonly auth?: boolean }
  /**
   * Frames to send now, in answer to this frame (Alpaca: `listen` only once `authorization` says
   * authorized; a listen sent before is refused). Pure: the frames carry no secrets.
   */
  | { readonly kind: "send"; readonly frames: readonly string[] }
  /** Anything else (balance events, acks of pings, unknown event types). */
  | { readonly kind: "ignored" };

/** Keep-alive: how liveness is checked. */
export interface StreamHeartbeat {
  /** Send a ping this often (ms). */
  readonly intervalMs: number;
  /** No frame at all (data, heartbeat, pong) for this long: the connection is dead; reconnect. */
  readonly timeoutMs: number;
  /**
   * An application-level ping frame (Kraken `{"method":"ping"}`); absent = a WebSocket ping
   * control frame (Binance answers it with a pong, and pings the client itself every 20 s).
   */
  ping?(nowMs: number, reqId: number): string;
}

/** Renewal before the venue's expiry (subscription, token, connection lifetime). */
export interface StreamRenewal {
  /** Renew this long after the subscription became active (ms): before the venue's expiry. */
  readonly afterMs: number;
  /**
   * Frames that renew the subscription on the open connection (Coinbase: a fresh JWT per
   * subscribe); absent = a fresh connection (authenticate, subscribe, catch-up) replaces it
   * (Binance: a connection lives 24 h at most).
   */
  frames?(auth: StreamAuth, nowMs: number): readonly string[];
}

/** One venue's stream, built by its VenueStreamKind from the venue-file entry. */
export interface VenueStreamSpec {
  /** The wss:// URL (venue file `streamUrl`, else the kind's production URL). */
  readonly url: string;
  /**
   * The I/O step before each connection, when the venue needs one (Kraken: a token from REST
   * GetWebSocketsToken). Absent = no per-connection secret (the subscribe frames are signed).
   */
  authenticate?(signal: AbortSignal): Promise<Result<StreamAuth, VenueError>>;
  /** The frames to send once the socket is open: authentication and subscription. Pure given nowMs. */
  subscribe(auth: StreamAuth, nowMs: number): readonly string[];
  /** Pure: one text frame (binary frames are decoded as UTF-8 first) -> what it says, in order. */
  parse(frame: string): readonly StreamMessage[];
  readonly heartbeat: StreamHeartbeat;
  readonly renew?: StreamRenewal;
  /** No `subscribed` message this long after the socket opened: the attempt failed. Default 10 s. */
  readonly subscribeTimeoutMs?: number;
}

/**
 * Sends one request through the venue's REST adapter (same signing, outbound limit, back-off and
 * deadline as its order calls). What a stream's `authenticate` uses to reach the venue.
 */
export type StreamRestSend = (request: UnsignedRequest, weight: number, signal: AbortSignal) => Promise<Result<HttpResponse, VenueError>>;

/** What a kind gets to build its stream for one venue of the file. */
export interface VenueStreamInput {
  /** The venue's name in the file (for messages). */
  readonly venue: string;
  /** The URL to connect to (the file's `streamUrl` or the kind's default). */
  readonly url: string;
  /** The venue entry's credentials, resolved to values. */
  readonly credentials: Readonly<Record<string, string>>;
  /** The venue's translator rules (built-in with the file's overrides): status tables. */
  readonly rules?: TranslatorRules | undefined;
  /** The venue entry's other options (e.g. Binance recvWindowMs), as validated by the kind's schema. */
  readonly options: Readonly<Record<string, unknown>>;
  /** REST through the venue's adapter (for authenticate). */
  readonly rest: StreamRestSend;
}

/** How a venue kind declares its user stream (registered in ./stream-kinds.ts). */
export interface VenueStreamKind {
  readonly kind: string;
  /** The production stream URL: the default when the entry sets no `streamUrl` ... */
  readonly defaultUrl: string;
  /**
   * ... and its REST baseUrl is one of these (a testnet or fake REST URL with the production
   * stream would mix accounts, so such an entry streams only when it names its `streamUrl`).
   */
  readonly productionBaseUrls: readonly string[];
  create(input: VenueStreamInput): VenueStreamSpec;
}
