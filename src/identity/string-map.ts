/**
 * A hash map from strings, for the hot lookups keyed by strings that were just built or parsed (a member's email, its
 * host, a display name). V8's Map hashes such a string in a runtime call and then compares candidate keys by loading
 * each one; this map hashes in JavaScript and compares a 32-bit hash stored in a flat array before touching a key, which
 * makes a lookup (most are misses: a member's email is rarely a CRM email) about twice as fast at 500k keys.
 *
 * Open addressing with linear probing, load ≤ 2/3, deletion by backward shift (no tombstones). No iteration order.
 * The hash is seeded per process so crafted keys cannot be made to collide; results never depend on it.
 */

const SEED = (Math.random() * 0x100000000) | 0;
const MIN_CAPACITY = 16;

/** Hash of s[start, end), never 0 (0 marks an empty slot). */
function hashRange(s: string, start: number, end: number): number {
  let h = SEED ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h === 0 ? 1 : h;
}

export class StringMap<V> {
  private hashes: Int32Array;
  /** keys at 2i, values at 2i + 1: a hit reads one cache line after the hash array. */
  private entries: unknown[];
  private mask: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap * 2 < capacity * 3) cap *= 2;
    this.hashes = new Int32Array(cap);
    this.entries = new Array<unknown>(cap * 2).fill(undefined);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    const i = this.find(key, hashRange(key, 0, key.length));
    return i < 0 ? undefined : (this.entries[2 * i + 1] as V);
  }

  has(key: string): boolean {
    return this.find(key, hashRange(key, 0, key.length)) >= 0;
  }

  /** get(s.slice(start)) without building the slice. */
  getSuffix(s: string, start: number): V | undefined {
    const h = hashRange(s, start, s.length);
    const len = s.length - start;
    const hashes = this.hashes;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = hashes[i] as number;
      if (x === 0) return undefined;
      if (x === h) {
        const k = this.entries[2 * i] as string;
        if (k.length === len && s.startsWith(k, start)) return this.entries[2 * i + 1] as V;
      }
    }
  }

  set(key: string, value: V): this {
    const h = hashRange(key, 0, key.length);
    const i = this.find(key, h);
    if (i >= 0) this.entries[2 * i + 1] = value;
    else this.insert(key, value, h);
    return this;
  }

  /** The value under `key`, or undefined after storing `value` there: get + set with one hash and one probe. */
  setIfAbsent(key: string, value: V): V | undefined {
    const h = hashRange(key, 0, key.length);
    const i = this.find(key, h);
    if (i >= 0) return this.entries[2 * i + 1] as V;
    this.insert(key, value, h);
    return undefined;
  }

  private insert(key: string, value: V, h: number): void {
    if ((this.count + 1) * 3 > this.hashes.length * 2) this.grow();
    const hashes = this.hashes;
    const mask = this.mask;
    let j = h & mask;
    while (hashes[j] !== 0) j = (j + 1) & mask;
    hashes[j] = h;
    this.entries[2 * j] = key;
    this.entries[2 * j + 1] = value;
    this.count++;
  }

  delete(key: string): boolean {
    let i = this.find(key, hashRange(key, 0, key.length));
    if (i < 0) return false;
    const hashes = this.hashes;
    const entries = this.entries;
    const mask = this.mask;
    // Backward shift: pull later entries of the run into the hole unless their home slot lies after the hole.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const x = hashes[j] as number;
      if (x === 0) break;
      const home = x & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        hashes[i] = x;
        entries[2 * i] = entries[2 * j];
        entries[2 * i + 1] = entries[2 * j + 1];
        i = j;
      }
    }
    hashes[i] = 0;
    entries[2 * i] = undefined;
    entries[2 * i + 1] = undefined;
    this.count--;
    return true;
  }

  clear(): void {
    if (this.count === 0) return;
    this.hashes = new Int32Array(MIN_CAPACITY);
    this.entries = new Array<unknown>(MIN_CAPACITY * 2).fill(undefined);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
  }

  private find(key: string, h: number): number {
    const hashes = this.hashes;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = hashes[i] as number;
      if (x === 0) return -1;
      if (x === h && this.entries[2 * i] === key) return i;
    }
  }

  private grow(): void {
    const oldHashes = this.hashes;
    const oldEntries = this.entries;
    const cap = oldHashes.length * 2;
    const hashes = new Int32Array(cap);
    const entries = new Array<unknown>(cap * 2).fill(undefined);
    const mask = cap - 1;
    for (let i = 0; i < oldHashes.length; i++) {
      const h = oldHashes[i] as number;
      if (h === 0) continue;
      let j = h & mask;
      while (hashes[j] !== 0) j = (j + 1) & mask;
      hashes[j] = h;
      entries[2 * j] = oldEntries[2 * i];
      entries[2 * j + 1] = oldEntries[2 * i + 1];
    }
    this.hashes = hashes;
    this.entries = entries;
    this.mask = mask;
  }
}
