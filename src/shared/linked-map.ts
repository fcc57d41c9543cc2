/**
 * A Map that keeps its entries in a doubly linked list, oldest first, with
 * O(1) get / set / delete / touch / oldest / shift.
 *
 * Why not a plain Map and `map.keys().next()` for "the oldest"? V8's Map
 * leaves deleted entries as holes until its table is rehashed, and every new
 * iterator walks over the holes from the start: used as a queue (delete the
 * first, add at the end) each `keys().next()` costs O(entries deleted since
 * the last rehash). Measured on Node 24: 0.5 us per op at 1,000 entries, 5.6 us
 * at 10,000, 48 us at 100,000. This list never iterates the Map.
 */
export interface LinkedMap<K, V> {
  get(key: K): V | undefined;
  has(key: K): boolean;
  /** Inserts or replaces, and makes the entry the newest. */
  set(key: K, value: V): void;
  /** Makes an existing entry the newest (LRU touch); false if absent. */
  touch(key: K): boolean;
  delete(key: K): boolean;
  /** The oldest entry, without removing it. */
  oldest(): { readonly key: K; readonly value: V } | undefined;
  /** Removes and returns the oldest entry. */
  shift(): { readonly key: K; readonly value: V } | undefined;
  clear(): void;
  readonly size: number;
  /** Oldest first. */
  entries(): IterableIterator<[K, V]>;
}

interface Node<K, V> {
  readonly key: K;
  value: V;
  prev: Node<K, V> | undefined;
  next: Node<K, V> | undefined;
}

export function createLinkedMap<K, V>(): LinkedMap<K, V> {
  const index = new Map<K, Node<K, V>>();
  let head: Node<K, V> | undefined; // oldest
  let tail: Node<K, V> | undefined; // newest

  function unlink(n: Node<K, V>): void {
    if (n.prev === undefined) head = n.next;
    else n.prev.next = n.next;
    if (n.next === undefined) tail = n.prev;
    else n.next.prev = n.prev;
    n.prev = undefined;
    n.next = undefined;
  }

  function append(n: Node<K, V>): void {
    n.prev = tail;
    n.next = undefined;
    if (tail === undefined) head = n;
    else tail.next = n;
    tail = n;
  }

  return {
    get(key: K): V | undefined {
      return index.get(key)?.value;
    },
    has(key: K): boolean {
      return index.has(key);
    },
    set(key: K, value: V): void {
      const n = index.get(key);
      if (n !== undefined) {
        n.value = value;
        if (n !== tail) {
          unlink(n);
          append(n);
        }
        return;
      }
      const fresh: Node<K, V> = { key, value, prev: undefined, next: undefined };
      index.set(key, fresh);
      append(fresh);
    },
    touch(key: K): boolean {
      const n = index.get(key);
      if (n === undefined) return false;
      if (n !== tail) {
        unlink(n);
        append(n);
      }
      return true;
    },
    delete(key: K): boolean {
      const n = index.get(key);
      if (n === undefined) return false;
      index.delete(key);
      unlink(n);
      return true;
    },
    oldest() {
      return head;
    },
    shift() {
      const n = head;
      if (n === undefined) return undefined;
      index.delete(n.key);
      unlink(n);
      return n;
    },
    clear(): void {
      index.clear();
      head = undefined;
      tail = undefined;
    },
    get size(): number {
      return index.size;
    },
    *entries(): IterableIterator<[K, V]> {
      for (let n = head; n !== undefined; ) {
        const next = n.next; // read first: the caller may delete n
        yield [n.key, n.value];
        n = next;
      }
    },
  };
}
