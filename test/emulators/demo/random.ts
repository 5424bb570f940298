/**
 * Seeded randomness for the demo organisation. mulberry32 is tiny, fast and good enough for fixtures; a single stream per
 * generator keeps output byte-identical for a seed as long as call order is unchanged (so add new draws at the end of a
 * step, not in the middle, when extending the generator).
 */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derive an independent stream so org and community output do not shift when the other changes its number of draws. */
export function subSeed(seed: number, salt: number): number {
  let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul(salt + 0x6a09e667, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

export function pick<T>(rng: Rng, list: readonly T[]): T {
  const v = list[Math.floor(rng() * list.length)];
  if (v === undefined) throw new Error('pick from an empty list');
  return v;
}

export function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Weighted choice over [value, weight] pairs; weights need not sum to 1. */
export function weighted<T>(rng: Rng, table: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of table) total += w;
  let r = rng() * total;
  for (const [v, w] of table) {
    r -= w;
    if (r < 0) return v;
  }
  const last = table[table.length - 1];
  if (!last) throw new Error('weighted choice from an empty table');
  return last[0];
}

/** Standard normal via Box–Muller (one value per call: simpler than caching the pair, and speed is not an issue here). */
export function normal(rng: Rng): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Poisson by inversion; fine for the small means (< 30) the generator uses. */
export function poisson(rng: Rng, mean: number): number {
  const l = Math.exp(-mean);
  let k = 0;
  let p = rng();
  while (p > l) {
    k++;
    p *= rng();
  }
  return k;
}

export const DAY = 86_400_000;

/**
 * Date.prototype.toISOString costs ~2 µs a call here, which alone blew the 100k-contact budget; the day part is cached
 * (a run spans a few hundred days) and the time of day is formatted by hand. Output is identical to toISOString.
 */
const dayPrefix = new Map<number, string>();
const p2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
export function iso(ms: number): string {
  const t = Math.floor(ms);
  const day = Math.floor(t / DAY);
  let prefix = dayPrefix.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY).toISOString().slice(0, 11);
    dayPrefix.set(day, prefix);
  }
  const rest = t - day * DAY;
  const msPart = rest % 1000;
  const sec = Math.floor(rest / 1000);
  return `${prefix}${p2(Math.floor(sec / 3600))}:${p2(Math.floor(sec / 60) % 60)}:${p2(sec % 60)}.${msPart < 10 ? '00' : msPart < 100 ? '0' : ''}${msPart}Z`;
}
