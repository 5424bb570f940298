import { mulberry32 } from '../attribution/shapley';
/**
 * Small, dependency-free statistics for the dashboard: 95% intervals and a matched (stratified) comparison of
 * influenced vs non-influenced deals. Pure functions; deterministic (the bootstrap uses a seeded generator).
 */

export const Z95 = 1.959963984540054;
/** Below this many deals in either group a comparison is reported as "too few to tell". */
export const MIN_PER_GROUP = 10;

export interface Interval {
  estimate: number | null;
  low: number | null;
  high: number | null;
  n: number;
}

/** Wilson score interval for a proportion (well-behaved at small n and near 0 or 1, unlike the normal approximation). */
export function wilson(successes: number, n: number, z = Z95): Interval {
  if (n <= 0) return { estimate: null, low: null, high: null, n: 0 };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { estimate: p, low: successes === 0 ? 0 : Math.max(0, centre - half), high: successes === n ? 1 : Math.min(1, centre + half), n };
}

/**
 * Newcombe's hybrid score interval for the difference of two proportions p1 − p2 (method 10), built from the two
 * Wilson intervals.
 */
export function proportionDifference(s1: number, n1: number, s2: number, n2: number, z = Z95): Interval {
  const a = wilson(s1, n1, z);
  const b = wilson(s2, n2, z);
  if (a.estimate === null || b.estimate === null) return { estimate: null, low: null, high: null, n: n1 + n2 };
  const d = a.estimate - b.estimate;
  const low = d - Math.sqrt((a.estimate - a.low!) ** 2 + (b.high! - b.estimate) ** 2);
  const high = d + Math.sqrt((a.high! - a.estimate) ** 2 + (b.estimate - b.low!) ** 2);
  return { estimate: d, low, high, n: n1 + n2 };
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

export function mean(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function variance(xs: readonly number[]): number | null {
  const m = mean(xs);
  if (m === null || xs.length < 2) return null;
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return s / (xs.length - 1);
}

/** Two-sided 97.5% quantile of Student's t with `df` degrees of freedom (Cornish-Fisher expansion; < 0.1% error for df ≥ 3). */
export function tQuantile975(df: number): number {
  if (df < 1) return NaN;
  if (df === 1) return 12.706204736;
  if (df === 2) return 4.302652730;
  const z = Z95;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  const g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}

/** t interval for a mean. */
export function meanCI(xs: readonly number[]): Interval {
  const m = mean(xs);
  const v = variance(xs);
  if (m === null || v === null) return { estimate: m, low: null, high: null, n: xs.length };
  const half = tQuantile975(xs.length - 1) * Math.sqrt(v / xs.length);
  return { estimate: m, low: m - half, high: m + half, n: xs.length };
}

/** Deterministic PRNG (mulberry32) so a page shows the same interval on every load. */
export const rng = mulberry32;

function quantileSorted(s: readonly number[], q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Median of a scratch buffer (sorted in place; typed-array sort is numeric and fast). */
function medianInPlace(buf: Float64Array): number {
  buf.sort();
  const m = buf.length >> 1;
  return buf.length % 2 ? buf[m]! : (buf[m - 1]! + buf[m]!) / 2;
}

/** One resampled statistic: the median through a typed buffer, any other statistic through an array copy. */
function resampleStat(buf: Float64Array, stat: (xs: number[]) => number | null): number | null {
  return stat === median ? medianInPlace(buf) : stat(Array.from(buf));
}

/** Percentile bootstrap interval of a statistic (median by default); 1,000 resamples, seeded. */
export function bootstrapCI(xs: readonly number[], stat: (xs: number[]) => number | null = median, opts: { resamples?: number; seed?: number } = {}): Interval {
  const estimate = stat([...xs]);
  if (xs.length < 2 || estimate === null) return { estimate, low: null, high: null, n: xs.length };
  const B = opts.resamples ?? 1000;
  const next = rng(opts.seed ?? 0x5eed);
  const stats: number[] = [];
  const buf = new Float64Array(xs.length);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < xs.length; i++) buf[i] = xs[Math.floor(next() * xs.length)]!;
    const v = resampleStat(buf, stat);
    if (v !== null) stats.push(v);
  }
  stats.sort((a, b) => a - b);
  return { estimate, low: quantileSorted(stats, 0.025), high: quantileSorted(stats, 0.975), n: xs.length };
}

/** Bootstrap interval of the difference of a statistic between two independent samples (a − b). */
export function bootstrapDifference(a: readonly number[], b: readonly number[], stat: (xs: number[]) => number | null = median, opts: { resamples?: number; seed?: number } = {}): Interval {
  const ea = stat([...a]);
  const eb = stat([...b]);
  const estimate = ea === null || eb === null ? null : ea - eb;
  if (a.length < 2 || b.length < 2 || estimate === null) return { estimate, low: null, high: null, n: a.length + b.length };
  const B = opts.resamples ?? 1000;
  const next = rng(opts.seed ?? 0xd1ff);
  const out: number[] = [];
  const ba = new Float64Array(a.length);
  const bb = new Float64Array(b.length);
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < a.length; i++) ba[i] = a[Math.floor(next() * a.length)]!;
    for (let i = 0; i < b.length; i++) bb[i] = b[Math.floor(next() * b.length)]!;
    const x = resampleStat(ba, stat);
    const y = resampleStat(bb, stat);
    if (x !== null && y !== null) out.push(x - y);
  }
  out.sort((x, y) => x - y);
  return { estimate, low: quantileSorted(out, 0.025), high: quantileSorted(out, 0.975), n: a.length + b.length };
}

// ---------------------------------------------------------------------------------------------------------------
// Matched comparison

export interface Unit {
  /** Stratum key: e.g. `${segment}|${sizeBand}|${quarter}`. */
  stratum: string;
  treated: boolean;
  /** 0/1 for a proportion (won), a number for a mean (amount, days). */
  value: number;
}

export type Verdict = 'too_few' | 'higher' | 'lower' | 'no_clear_difference';

export interface MatchedResult {
  /** Strata holding both groups (only these are compared). */
  strata: number;
  matchedTreated: number;
  matchedControl: number;
  /** Weighted difference treated − control within strata, with a 95% normal interval. */
  difference: Interval;
  /** Unmatched (naive) difference, for contrast. */
  naive: number | null;
  verdict: Verdict;
  /** One sentence a person can read. */
  explanation: string;
}

/**
 * Exact stratification: within each stratum that holds both influenced and non-influenced units, the difference of
 * means (for 0/1 values, of rates), combined across strata with Cochran–Mantel–Haenszel weights n1·n0/(n1+n0).
 * The variance of each stratum difference uses the pooled within-stratum variance (for 0/1 values the pooled rate
 * p(1−p)(1/n1 + 1/n0)).
 * Fewer than `minPerGroup` matched units in either group → verdict `too_few` and no interval.
 */
export function matchedComparison(units: readonly Unit[], opts: { proportion?: boolean; minPerGroup?: number } = {}): MatchedResult {
  const minPerGroup = opts.minPerGroup ?? MIN_PER_GROUP;
  const by = new Map<string, { t: number[]; c: number[] }>();
  for (const u of units) {
    let s = by.get(u.stratum);
    if (!s) by.set(u.stratum, (s = { t: [], c: [] }));
    (u.treated ? s.t : s.c).push(u.value);
  }
  const allT = units.filter((u) => u.treated).map((u) => u.value);
  const allC = units.filter((u) => !u.treated).map((u) => u.value);
  const mt = mean(allT);
  const mc = mean(allC);
  const naive = mt === null || mc === null ? null : mt - mc;
  const globalVar = variance(units.map((u) => u.value)) ?? 0;
  let strata = 0;
  let nT = 0;
  let nC = 0;
  let wSum = 0;
  let dSum = 0;
  let vSum = 0;
  for (const s of by.values()) {
    if (!s.t.length || !s.c.length) continue;
    strata++;
    nT += s.t.length;
    nC += s.c.length;
    const w = (s.t.length * s.c.length) / (s.t.length + s.c.length);
    const d = mean(s.t)! - mean(s.c)!;
    let varD: number;
    if (opts.proportion) {
      // Pooled rate of the stratum (as in the Mantel–Haenszel test): a stratum where one side is all 0 or all 1 still
      // carries variance, so a handful of tiny strata cannot produce a falsely narrow interval.
      const p = (sum(s.t) + sum(s.c)) / (s.t.length + s.c.length);
      varD = p * (1 - p) * (1 / s.t.length + 1 / s.c.length);
    } else {
      const df = s.t.length + s.c.length - 2;
      // Too small to estimate its own spread (1 vs 1): borrow the spread of all units.
      const pooled = df >= 1 ? ((s.t.length - 1) * (variance(s.t) ?? 0) + (s.c.length - 1) * (variance(s.c) ?? 0)) / df : globalVar;
      varD = pooled / s.t.length + pooled / s.c.length;
    }
    wSum += w;
    dSum += w * d;
    vSum += w * w * varD;
  }
  if (nT < minPerGroup || nC < minPerGroup || wSum === 0) {
    return {
      strata, matchedTreated: nT, matchedControl: nC, naive,
      difference: { estimate: wSum ? dSum / wSum : null, low: null, high: null, n: nT + nC },
      verdict: 'too_few',
      explanation: `Too few deals to tell: after matching, ${nT} influenced and ${nC} non-influenced deals share a segment, size band and quarter (at least ${minPerGroup} of each are needed).`,
    };
  }
  const est = dSum / wSum;
  const se = Math.sqrt(vSum) / wSum;
  const low = est - Z95 * se;
  const high = est + Z95 * se;
  const verdict: Verdict = low > 0 ? 'higher' : high < 0 ? 'lower' : 'no_clear_difference';
  const explanation =
    verdict === 'no_clear_difference'
      ? `No clear difference once deals are matched (${strata} matched groups, ${nT} influenced vs ${nC} non-influenced): the 95% interval includes zero.`
      : `Influenced deals are ${verdict} than comparable non-influenced deals (${strata} matched groups, ${nT} vs ${nC}); the 95% interval excludes zero.`;
  return { strata, matchedTreated: nT, matchedControl: nC, naive, difference: { estimate: est, low, high, n: nT + nC }, verdict, explanation };
}

/** Deal-size band used for matching. */
export function sizeBand(amount: number | null): string {
  if (amount === null || !Number.isFinite(amount)) return 'unknown';
  if (amount < 10_000) return '<10k';
  if (amount < 50_000) return '10k–50k';
  if (amount < 250_000) return '50k–250k';
  return '250k+';
}

export function quarterOf(iso: string | null): string {
  if (!iso) return 'unknown';
  const y = iso.slice(0, 4);
  const m = Number(iso.slice(5, 7));
  return Number.isFinite(m) && m >= 1 ? `${y}-Q${Math.ceil(m / 3)}` : 'unknown';
}
