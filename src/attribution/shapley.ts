import { channelsOf, type Journey } from './markov';

/**
 * Shapley-value attribution over channels. The coalition value v(S) is computed from journeys whose channel set is a
 * subset of S:
 * - `conversions` (default): v(S) = conversions of those journeys (Zhao et al. 2018; efficiency gives Σφ = all
 *   conversions);
 * - `conversion_rate`: v(S) = conversions / (conversions + nulls) of those journeys (0 if none).
 * Exact by enumerating all 2^C coalitions up to `maxExact` channels (default 12); beyond, permutation sampling with a
 * Hoeffding bound: with probability ≥ 1 − δ every channel's estimate is within `errorBound[c]` of its exact value.
 */

export interface ShapleyFit {
  channels: string[];
  game: 'conversions' | 'conversion_rate';
  method: 'exact' | 'sampled';
  /** Raw Shapley values in the game's units. */
  values: Record<string, number>;
  /** Values scaled to share total conversions / value. */
  credits: Record<string, number>;
  valueCredits: Record<string, number>;
  totalConversions: number;
  totalValue: number;
  /** Sampled only: half-width per channel, holding for all channels at once with probability `confidence`. */
  errorBound?: Record<string, number>;
  confidence?: number;
  samples?: number;
}

export interface ShapleyOptions {
  game?: ShapleyFit['game'];
  maxExact?: number;
  samples?: number;
  seed?: number;
  /** δ of the stated bound (default 0.05 → 95 %). */
  delta?: number;
}

interface Grouped {
  /** Channel indices of each distinct channel set. */
  sets: number[][];
  conv: Float64Array;
  nulls: Float64Array;
  /**
   * Journeys without channels: in every coalition's value, v(∅) included. A constant for the conversions game (no
   * credit either way); for conversion rates they count in every denominator.
   */
  baseConv: number;
  baseNulls: number;
}

function group(journeys: readonly Journey[], channels: readonly string[]): Grouped {
  const idx = new Map(channels.map((c, i) => [c, i]));
  // Channel sets as bit masks when they fit in 31 bits (a set's channels come out in increasing order), else as keys.
  const byMask = channels.length <= 31 ? new Map<number, number>() : null;
  const byKey = new Map<string, number>();
  const sets: number[][] = [];
  const conv: number[] = [];
  const nulls: number[] = [];
  let baseConv = 0;
  let baseNulls = 0;
  for (let jn = 0; jn < journeys.length; jn++) {
    const j = journeys[jn];
    if (!j) continue;
    let g: number | undefined;
    let set: number[] | null = null;
    if (byMask) {
      let mask = 0;
      for (let k = 0; k < j.path.length; k++) {
        const c = idx.get(j.path[k] ?? '') ?? -1;
        if (c >= 0) mask |= 1 << c;
      }
      if (mask === 0) {
        baseConv += j.conversions;
        baseNulls += j.nulls;
        continue;
      }
      g = byMask.get(mask);
      if (g === undefined) {
        set = [];
        for (let c = 0; c < channels.length; c++) if (mask & (1 << c)) set.push(c);
        byMask.set(mask, sets.length);
      }
    } else {
      const s = [...new Set(j.path.map((c) => idx.get(c) ?? -1))].filter((i) => i >= 0).sort((a, b) => a - b);
      if (s.length === 0) {
        baseConv += j.conversions;
        baseNulls += j.nulls;
        continue;
      }
      const key = s.join(',');
      g = byKey.get(key);
      if (g === undefined) {
        set = s;
        byKey.set(key, sets.length);
      }
    }
    if (g === undefined) {
      g = sets.length;
      sets.push(set ?? []);
      conv.push(0);
      nulls.push(0);
    }
    conv[g] = (conv[g] ?? 0) + j.conversions;
    nulls[g] = (nulls[g] ?? 0) + j.nulls;
  }
  return { sets, conv: Float64Array.from(conv), nulls: Float64Array.from(nulls), baseConv, baseNulls };
}

const rate = (c: number, n: number) => (c + n > 0 ? c / (c + n) : 0);

function exact(g: Grouped, C: number, game: ShapleyFit['game']): Float64Array {
  const N = 1 << C;
  const conv = new Float64Array(N);
  const nulls = new Float64Array(N);
  g.sets.forEach((set, i) => {
    let m = 0;
    for (const c of set) m |= 1 << c;
    conv[m] = (conv[m] ?? 0) + (g.conv[i] ?? 0);
    nulls[m] = (nulls[m] ?? 0) + (g.nulls[i] ?? 0);
  });
  conv[0] = (conv[0] ?? 0) + g.baseConv;
  nulls[0] = (nulls[0] ?? 0) + g.baseNulls;
  // Subset-sum (zeta) transform: after it, conv[S] = Σ over journeys whose set ⊆ S.
  for (let b = 0; b < C; b++) {
    for (let m = 0; m < N; m++) {
      if (m & (1 << b)) {
        conv[m] = (conv[m] ?? 0) + (conv[m ^ (1 << b)] ?? 0);
        nulls[m] = (nulls[m] ?? 0) + (nulls[m ^ (1 << b)] ?? 0);
      }
    }
  }
  const v = game === 'conversions' ? conv : Float64Array.from(conv, (c, m) => rate(c, nulls[m] ?? 0));
  // Weight |S|!(C−|S|−1)!/C! by coalition size.
  const fact = [1];
  for (let i = 1; i <= C; i++) fact.push((fact[i - 1] ?? 1) * i);
  const weight = Array.from({ length: C }, (_, s) => ((fact[s] ?? 1) * (fact[C - s - 1] ?? 1)) / (fact[C] ?? 1));
  const phi = new Float64Array(C);
  for (let m = 0; m < N; m++) {
    let size = 0;
    for (let x = m; x; x &= x - 1) size++;
    const vm = v[m] ?? 0;
    for (let i = 0; i < C; i++) {
      if (m & (1 << i)) continue;
      phi[i] = (phi[i] ?? 0) + (weight[size] ?? 0) * ((v[m | (1 << i)] ?? 0) - vm);
    }
  }
  return phi;
}

/** Deterministic PRNG (mulberry32) so sampled results are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampled(g: Grouped, C: number, game: ShapleyFit['game'], samples: number, seed: number): Float64Array {
  const rnd = mulberry32(seed);
  const perm = Int32Array.from({ length: C }, (_, i) => i);
  const pos = new Int32Array(C);
  const phi = new Float64Array(C);
  const addConv = new Float64Array(C);
  const addNull = new Float64Array(C);
  for (let s = 0; s < samples; s++) {
    for (let i = C - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      const t = perm[i] ?? 0;
      perm[i] = perm[j] ?? 0;
      perm[j] = t;
    }
    perm.forEach((c, i) => (pos[c] = i));
    // A journey joins the coalition when the last of its channels (in permutation order) is added.
    addConv.fill(0);
    addNull.fill(0);
    g.sets.forEach((set, k) => {
      const last = set.reduce((a, c) => ((pos[c] ?? 0) > (pos[a] ?? 0) ? c : a), set[0] ?? 0);
      addConv[last] = (addConv[last] ?? 0) + (g.conv[k] ?? 0);
      addNull[last] = (addNull[last] ?? 0) + (g.nulls[k] ?? 0);
    });
    let cc = g.baseConv;
    let cn = g.baseNulls;
    let prev = game === 'conversions' ? cc : rate(cc, cn);
    for (let i = 0; i < C; i++) {
      const c = perm[i] ?? 0;
      cc += addConv[c] ?? 0;
      cn += addNull[c] ?? 0;
      const v = game === 'conversions' ? cc : rate(cc, cn);
      phi[c] = (phi[c] ?? 0) + (v - prev);
      prev = v;
    }
  }
  return phi.map((x) => x / samples);
}

export function fitShapley(journeys: readonly Journey[], opts: ShapleyOptions = {}): ShapleyFit {
  const game = opts.game ?? 'conversions';
  const channels = channelsOf(journeys);
  const C = channels.length;
  const g = group(journeys, channels);
  const maxExact = opts.maxExact ?? 12;
  let totalConversions = 0;
  let totalValue = 0;
  for (const j of journeys) {
    totalConversions += j.conversions;
    totalValue += j.value ?? 0;
  }
  const isExact = C <= maxExact;
  const samples = opts.samples ?? 2000;
  const phi = isExact ? exact(g, C, game) : sampled(g, C, game, samples, opts.seed ?? 1);
  const values: Record<string, number> = {};
  const credits: Record<string, number> = {};
  const valueCredits: Record<string, number> = {};
  const pos = phi.reduce((a, b) => a + Math.max(0, b), 0);
  channels.forEach((c, i) => {
    values[c] = phi[i] ?? 0;
    // Negative values (possible in the rate game) get no credit; the rest share the totals.
    const share = pos > 0 ? Math.max(0, phi[i] ?? 0) / pos : 0;
    credits[c] = share * totalConversions;
    valueCredits[c] = share * totalValue;
  });
  const fit: ShapleyFit = { channels, game, method: isExact ? 'exact' : 'sampled', values, credits, valueCredits, totalConversions, totalValue };
  if (!isExact) {
    const delta = opts.delta ?? 0.05;
    // Per-sample marginal range: [0, conversions of journeys containing c] for the count game, [−1, 1] for rates.
    const range = new Float64Array(C);
    g.sets.forEach((set, k) => set.forEach((c) => (range[c] = (range[c] ?? 0) + (g.conv[k] ?? 0))));
    const factor = Math.sqrt(Math.log((2 * C) / delta) / (2 * samples));
    fit.errorBound = Object.fromEntries(channels.map((c, i) => [c, (game === 'conversions' ? (range[i] ?? 0) : 2) * factor]));
    fit.confidence = 1 - delta;
    fit.samples = samples;
  }
  return fit;
}
