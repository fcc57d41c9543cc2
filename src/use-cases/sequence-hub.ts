import type { Logger } from "pino";
import type { GatewayError } from "../domain/errors.js";

/**
 * A gateway-wide sequence of durable items and the fan-out behind a resumable stream: StreamFills
 * (fill-hub.ts) and StreamOrderEvents (order-event-hub.ts) are two instances.
 *
 * Guarantees to a subscriber that passes `afterSequence`: every item with a higher sequence that
 * the gateway still has (the in-memory ring, else durable storage through `readArchive`), then live
 * items, in sequence order, with no gap and no duplicate.
 *
 * How (the one subtle part): a subscriber first *catches up* by walking a cursor (the last
 * sequence it has passed) over the archive and then over the ring, one item per pull, so catching
 * up costs no buffer at all. It turns *live* in the same synchronous step in which it finds the
 * ring exhausted, so no publish can fall between the ring's last item and its first live one.
 * While catching up it is not in the live set, so publishes are not pushed to it twice: it reads
 * them from the ring. If the ring evicts past its cursor while it is slow, it goes back to the
 * archive for that range (`evictedUpTo` says what the ring no longer covers).
 *
 * Live subscribers get items pushed into a bounded queue; on overflow the queue is drained and the
 * stream then ends with RESOURCE_EXHAUSTED (reason SUBSCRIBER_TOO_SLOW, metadata
 * resume_after_sequence), so the client resumes from the last sequence it saw.
 */

/** What a subscriber asks for: the stream's own filter plus the resume point. */
export type SubscribeOf<F> = F & {
  /** Deliver items with a sequence strictly greater than this (0n = everything still available). */
  readonly afterSequence?: bigint;
};

/** An item of a sequenced stream: a fill, an order event. */
export interface Sequenced {
  readonly sequence: bigint;
}

export interface Subscription<T> extends AsyncIterable<T> {
  /** Set when the stream ended abnormally (slow consumer, shutdown before start); undefined on a clean end. */
  readonly error: GatewayError | undefined;
  /** The last sequence this subscriber has passed (delivered, or skipped by its filter). */
  readonly cursor: bigint;
  /** Ends the stream (client gone); idempotent. */
  close(): void;
  /**
   * The next item if it can be had without waiting (queued live items, or the in-memory ring while
   * catching up), else undefined (then await the iterator). For a writer that gathers every item
   * available at one moment into one write (the gRPC stream fast path); the iterator and poll()
   * share one position, so mixing them neither skips nor repeats.
   */
  poll(): T | undefined;
  /**
   * Set by a writer that takes everything queued within the same event-loop turn (the gRPC
   * stream fast path: the first item wakes it, the rest it polls at setImmediate): while set,
   * live items queue past `subscriberBuffer` instead of ending the stream, so a burst published
   * within one turn (many clients' orders read in one poll phase) is not taken for a slow
   * consumer. The writer clears it whenever it may wait for a client that does not read; the
   * bound then holds.
   */
  gathering: boolean;
}

export interface SequenceHubOptions<T extends Sequenced, F> {
  /** Items kept in memory for resumption (FILL_RETAIN, ORDER_EVENT_RETAIN). 0 = none: every resume reads the archive. */
  readonly retain: number;
  /** Live items buffered per subscriber before it is cut off (FILL_SUBSCRIBER_BUFFER, ORDER_EVENT_SUBSCRIBER_BUFFER). */
  readonly subscriberBuffer: number;
  /** Whether a subscriber with this filter gets the item. */
  readonly matches: (item: T, filter: F) => boolean;
  /** Names the items in logs and errors ("fill", "order event"); plural with an "s". */
  readonly noun: string;
  /** A short id of an item for the out-of-order log line. */
  readonly describe?: (item: T) => Record<string, unknown>;
  /** The highest sequence recovered from the audit log; the next item gets a higher one. */
  readonly startAfterSequence?: bigint;
  /**
   * Ts with sequence > afterSequence from durable storage, in sequence order (the audit log).
   * Used when a subscriber's cursor is older than the ring. Without it, such a subscriber gets
   * what the ring has, and the gap is logged.
   */
  readonly readArchive?: (afterSequence: bigint) => AsyncIterable<T>;
  readonly logger?: Logger;
  /** Told each time a subscriber is cut off for being too slow (the dropped-subscribers metric). */
  readonly onSubscriberDropped?: () => void;
}

export interface SequenceHub<T extends Sequenced, F> {
  /** The next gateway-wide sequence: strictly increasing, never reused, even across restarts. */
  nextSequence(): bigint;
  /** The highest sequence published so far. */
  lastPublished(): bigint;
  /**
   * Makes a durable item visible to subscribers. Call in sequence order (assign sequences and
   * append the audit events in one synchronous step, then publish after the append settles);
   * a item at or below the last published sequence is a caller bug: it is logged and dropped
   * (it stays in the audit log, so nothing is lost on disk).
   * Also used at start-up to refill the ring from the audit log.
   */
  publish(item: T): void;
  subscribe(opts: SubscribeOf<F>): Subscription<T>;
  subscriberCount(): number;
  /** For metrics: subscribers, and the longest live queue (a slow consumer approaching subscriberBuffer). */
  stats(): { readonly subscribers: number; readonly live: number; readonly maxQueued: number };
  /** Ends every stream cleanly (shutdown); later subscriptions end at once with UNAVAILABLE. */
  close(): void;
}

type Step<T> = IteratorResult<T, undefined>;
const DONE = { done: true, value: undefined } as const;

export function createSequenceHub<T extends Sequenced, F>(opts: SequenceHubOptions<T, F>): SequenceHub<T, F> {
  const { matches, noun } = opts;
  const retain = Math.max(0, Math.floor(opts.retain));
  const bufferMax = Math.max(1, Math.floor(opts.subscriberBuffer));
  const logger = opts.logger;
  const start = opts.startAfterSequence ?? 0n;

  // Ring of the last `retain` published items, oldest at `head`.
  const ring: (T | undefined)[] = new Array(retain);
  let head = 0;
  let count = 0;
  /** Every sequence <= this is no longer (or never was) in the ring. */
  let evictedUpTo = start;
  let lastPub = start;
  let lastAssigned = start;
  let closed = false;

  const live = new Set<Sub>();
  const all = new Set<Sub>();

  const ringAt = (i: number): T => ring[(head + i) % retain]!;
  /** Index of the first ring item with sequence > seq (count if none). */
  function ringFirstAfter(seq: bigint): number {
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ringAt(mid).sequence <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  class Sub implements Subscription<T> {
    error: GatewayError | undefined = undefined;
    cursor: bigint;
    gathering = false;
    state: "catchup" | "live" | "ended" = "catchup";
    // Live queue: an array with a moving head, compacted now and then (shift() is O(n)).
    q: T[] = [];
    qHead = 0;
    waiter: ((s: Step<T>) => void) | undefined = undefined;
    archive: AsyncIterator<T> | undefined = undefined;
    gapLogged = false;
    /** Whether the current archive pass yielded anything new. */
    archiveProgress = false;

    constructor(readonly filter: SubscribeOf<F>) {
      this.cursor = filter.afterSequence ?? 0n;
    }

    [Symbol.asyncIterator](): AsyncIterator<T> {
      return {
        next: () => this.next(),
        return: () => {
          this.close();
          return Promise.resolve(DONE);
        },
      };
    }

    queued(): number {
      return this.q.length - this.qHead;
    }

    /** Called by publish for live subscribers only. */
    offer(f: T): void {
      if (f.sequence <= this.cursor) return;
      if (!matches(f, this.filter)) {
        // Nothing to deliver, but the position moved (only when nothing queued is still owed).
        if (this.queued() === 0) this.cursor = f.sequence;
        return;
      }
      const w = this.waiter;
      if (w !== undefined) {
        this.waiter = undefined;
        this.cursor = f.sequence;
        w({ done: false, value: f });
        return;
      }
      if (this.queued() >= bufferMax && !this.gathering) {
        this.error = {
          kind: "resource_exhausted",
          message: `${noun} stream fell behind by more than ${bufferMax} ${noun}s; resume with after_sequence set to the last sequence received`,
          reason: "SUBSCRIBER_TOO_SLOW",
          // What is queued is still delivered before the error: resume after the last of it.
          metadata: { resume_after_sequence: String(this.q.length > this.qHead ? this.q[this.q.length - 1]!.sequence : this.cursor) },
        };
        this.state = "ended";
        this.detach();
        logger?.warn({ buffered: bufferMax, cursor: String(this.cursor) }, `${noun} subscriber too slow: stream ended`);
        opts.onSubscriberDropped?.();
        return;
      }
      this.q.push(f);
    }

    poll(): T | undefined {
      if (this.queued() > 0) return this.take();
      // Catching up from the ring is synchronous; the archive, and the gap's log line, are next()'s.
      if (this.state !== "catchup" || this.archive !== undefined) return undefined;
      if (evictedUpTo > this.cursor && !this.gapLogged) return undefined;
      for (let i = ringFirstAfter(this.cursor); i < count; i++) {
        const f = ringAt(i);
        this.cursor = f.sequence;
        if (matches(f, this.filter)) return f;
      }
      // As in catchUp: caught up with no await since the last ring read, live in the same step.
      if (lastPub > this.cursor) this.cursor = lastPub;
      this.state = "live";
      live.add(this);
      return undefined;
    }

    take(): T {
      const f = this.q[this.qHead]!;
      this.q[this.qHead++] = undefined as unknown as T;
      if (this.qHead > 1024 && this.qHead * 2 > this.q.length) {
        this.q = this.q.slice(this.qHead);
        this.qHead = 0;
      }
      this.cursor = f.sequence;
      return f;
    }

    async next(): Promise<Step<T>> {
      if (this.queued() > 0) return { done: false, value: this.take() };
      if (this.state === "ended") return DONE;
      if (this.state === "live") {
        return new Promise<Step<T>>((resolve) => {
          this.waiter = resolve;
        });
      }
      return this.catchUp();
    }

    async catchUp(): Promise<Step<T>> {
      for (;;) {
        if (this.state !== "catchup") return this.next();
        if (evictedUpTo > this.cursor && opts.readArchive !== undefined && !this.gapLogged) {
          const fromArchive = await this.pullArchive();
          if (fromArchive !== undefined) return fromArchive;
          continue;
        }
        if (evictedUpTo > this.cursor && !this.gapLogged) {
          this.gapLogged = true;
          logger?.warn(
            { cursor: String(this.cursor), evictedUpTo: String(evictedUpTo) },
            `${noun} subscriber resumes before the oldest retained ${noun} and no archive covers the range: ${noun}s in between are not replayed`,
          );
        }
        // The ring covers everything after the cursor: scan it synchronously to the end.
        for (let i = ringFirstAfter(this.cursor); i < count; i++) {
          const f = ringAt(i);
          this.cursor = f.sequence;
          if (matches(f, this.filter)) return { done: false, value: f };
        }
        // Caught up, and no await since the last ring read: become live in the same step.
        if (lastPub > this.cursor) this.cursor = lastPub;
        this.state = "live";
        live.add(this);
        return this.next();
      }
    }

    /** One archive item for this subscriber, or undefined when the archive pass ended (or is no longer needed). */
    async pullArchive(): Promise<Step<T> | undefined> {
      if (this.archive === undefined) {
        this.archive = opts.readArchive!(this.cursor)[Symbol.asyncIterator]();
        this.archiveProgress = false;
      }
      for (;;) {
        let r: IteratorResult<T>;
        try {
          r = await this.archive.next();
        } catch (e) {
          logger?.error({ err: e }, `${noun} archive read failed`);
          this.error = { kind: "unavailable", message: `${noun} history could not be read; retry later`, retryAfterMs: 1000 };
          this.close();
          return DONE;
        }
        if (this.state !== "catchup") return this.next();
        if (r.done === true) {
          this.archive = undefined;
          if (!this.archiveProgress && evictedUpTo > this.cursor) {
            // The archive has nothing more but the ring starts later (audit off or buffered lag): accept the gap once.
            this.gapLogged = true;
            logger?.warn(
              { cursor: String(this.cursor), evictedUpTo: String(evictedUpTo) },
              `${noun} archive ends before the oldest retained ${noun}: ${noun}s in between are not replayed`,
            );
          }
          return undefined;
        }
        const f = r.value;
        if (f.sequence <= this.cursor) continue;
        this.archiveProgress = true;
        this.cursor = f.sequence;
        const hit = matches(f, this.filter);
        if (this.cursor >= evictedUpTo) {
          // The ring has everything after this one: stop reading the disk.
          const it = this.archive;
          this.archive = undefined;
          void it.return?.(undefined)?.catch(() => {});
          return hit ? { done: false, value: f } : undefined;
        }
        if (hit) return { done: false, value: f };
      }
    }

    detach(): void {
      live.delete(this);
      all.delete(this);
      const w = this.waiter;
      this.waiter = undefined;
      const it = this.archive;
      this.archive = undefined;
      if (it !== undefined) void it.return?.(undefined)?.catch(() => {});
      w?.(DONE);
    }

    close(): void {
      this.state = "ended";
      this.q = [];
      this.qHead = 0;
      this.detach();
    }
  }

  return {
    nextSequence(): bigint {
      if (lastPub > lastAssigned) lastAssigned = lastPub;
      lastAssigned += 1n;
      return lastAssigned;
    },
    lastPublished: () => lastPub,
    publish(item: T): void {
      if (item.sequence <= lastPub) {
        logger?.error(
          { sequence: String(item.sequence), lastPublished: String(lastPub), ...opts.describe?.(item) },
          `${noun} published out of sequence order: not streamed (it is in the audit log)`,
        );
        return;
      }
      lastPub = item.sequence;
      if (lastAssigned < lastPub) lastAssigned = lastPub;
      if (retain === 0) {
        evictedUpTo = item.sequence;
      } else if (count < retain) {
        ring[(head + count) % retain] = item;
        count++;
      } else {
        evictedUpTo = ring[head]!.sequence;
        ring[head] = item;
        head = (head + 1) % retain;
      }
      for (const s of live) s.offer(item);
    },
    subscribe(o: SubscribeOf<F>): Subscription<T> {
      const s = new Sub(o);
      if (closed) {
        s.state = "ended";
        s.error = { kind: "unavailable", message: "the gateway is shutting down; reconnect and resume", retryAfterMs: 1000 };
        return s;
      }
      all.add(s);
      return s;
    },
    subscriberCount: () => all.size,
    stats() {
      let maxQueued = 0;
      for (const s of live) if (s.queued() > maxQueued) maxQueued = s.queued();
      return { subscribers: all.size, live: live.size, maxQueued };
    },
    close(): void {
      closed = true;
      for (const s of [...all]) s.close();
    },
  };
}
