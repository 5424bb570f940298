import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePathsCsv } from './journeys';
import { buildChain, channelsOf, fitMarkov, type Chain, type Journey } from './markov';
import { fitShapley } from './shapley';

/**
 * Independent reference for the Markov model: build the order-k chain with string keys and propagate the probability
 * distribution step by step (no linear solve) until the transient mass is negligible.
 */
function referenceConversion(journeys: readonly Journey[], order: number, removed: string | null): number {
  const counts = new Map<string, Map<string, number>>();
  const bump = (from: string, to: string, w: number) => {
    const row = counts.get(from) ?? new Map<string, number>();
    row.set(to, (row.get(to) ?? 0) + w);
    counts.set(from, row);
  };
  for (const j of journeys) {
    const w = j.conversions + j.nulls;
    if (w <= 0) continue;
    let hist: string[] = Array.from({ length: order }, () => '^');
    for (const c of j.path) {
      const next = [...hist.slice(1), c];
      bump(hist.join('|'), next.join('|'), w);
      hist = next;
    }
    if (j.conversions) bump(hist.join('|'), '$conv', j.conversions);
    if (j.nulls) bump(hist.join('|'), '$null', j.nulls);
  }
  let dist = new Map<string, number>([[Array.from({ length: order }, () => '^').join('|'), 1]]);
  let conv = 0;
  for (let step = 0; step < 20_000 && dist.size; step++) {
    const next = new Map<string, number>();
    let mass = 0;
    for (const [s, p] of dist) {
      const row = counts.get(s);
      if (!row) continue;
      const tot = [...row.values()].reduce((a, b) => a + b, 0);
      for (const [t, w] of row) {
        const q = (p * w) / tot;
        if (t === '$conv') conv += q;
        else if (t === '$null') continue;
        else if (removed !== null && t.split('|').at(-1) === removed) continue; // into the removed channel → null
        else {
          next.set(t, (next.get(t) ?? 0) + q);
          mass += q;
        }
      }
    }
    dist = next;
    if (mass < 1e-15) break;
  }
  return conv;
}

/** The chain as first written (a map per state, targets sorted per row): buildChain must build exactly this. */
function referenceChain(journeys: readonly Journey[], order: number, channels: readonly string[]): Chain {
  const C = channels.length;
  const chIdx = new Map(channels.map((c, i) => [c, i]));
  const base = C + 1;
  const high = base ** (order - 1);
  let startKey = 0;
  for (let i = 0; i < order; i++) startKey = startKey * base + C;
  const stateOf = new Map<number, number>([[startKey, 0]]);
  const lastChannel: number[] = [-1];
  const rows: Map<number, number>[] = [new Map()];
  const conv: number[] = [0];
  const total: number[] = [0];
  const state = (key: number, last: number) => {
    let s = stateOf.get(key);
    if (s === undefined) {
      s = rows.length;
      stateOf.set(key, s);
      rows.push(new Map());
      conv.push(0);
      total.push(0);
      lastChannel.push(last);
    }
    return s;
  };
  for (const j of journeys) {
    const w = j.conversions + j.nulls;
    if (!(w > 0)) continue;
    let key = startKey;
    let s = 0;
    for (const ch of j.path) {
      const c = chIdx.get(ch) ?? 0;
      key = (key % high) * base + c;
      const t = state(key, c);
      const row = rows[s] ?? new Map<number, number>();
      row.set(t, (row.get(t) ?? 0) + w);
      total[s] = (total[s] ?? 0) + w;
      s = t;
    }
    conv[s] = (conv[s] ?? 0) + j.conversions;
    total[s] = (total[s] ?? 0) + w;
  }
  const n = rows.length;
  const rowStart = new Int32Array(n + 1);
  const col: number[] = [];
  const p: number[] = [];
  const toConv = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    rowStart[s] = col.length;
    const tot = total[s] ?? 0;
    for (const [t, w] of [...(rows[s] ?? new Map<number, number>())].sort((a, b) => a[0] - b[0])) {
      col.push(t);
      p.push(tot > 0 ? w / tot : 0);
    }
    toConv[s] = tot > 0 ? (conv[s] ?? 0) / tot : 0;
  }
  rowStart[n] = col.length;
  return { n, rowStart, col: Int32Array.from(col), p: Float64Array.from(p), toConv, lastChannel: Int32Array.from(lastChannel) };
}

describe('buildChain', () => {
  it('builds the same chain as the map-per-state construction (orders 1–4)', () => {
    const journeysArb = fc.array(
      fc.record({
        path: fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 7 }),
        conversions: fc.integer({ min: 0, max: 5 }),
        nulls: fc.integer({ min: 0, max: 5 }),
      }),
      { maxLength: 25 },
    );
    fc.assert(
      fc.property(journeysArb, fc.integer({ min: 1, max: 4 }), (journeys, order) => {
        const channels = channelsOf(journeys);
        expect(buildChain(journeys, order, channels)).toEqual(referenceChain(journeys, order, channels));
      }),
      { numRuns: 300 },
    );
  });
  it('… also with many channels, where states and moves are looked up through maps', () => {
    const many = Array.from({ length: 40 }, (_, i) => `ch${i}`);
    const journeysArb = fc.array(
      fc.record({ path: fc.array(fc.constantFrom(...many), { maxLength: 6 }), conversions: fc.integer({ min: 0, max: 3 }), nulls: fc.integer({ min: 0, max: 3 }) }),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(journeysArb, fc.constantFrom(3, 4), (journeys, order) => {
        // 40 channels: 41^3 · 40 moves (order 3) and 41^4 states (order 4) are past the flat tables' limits.
        expect(buildChain(journeys, order, many)).toEqual(referenceChain(journeys, order, many));
      }),
      { numRuns: 100 },
    );
  });
});

describe('fitMarkov', () => {
  it('matches a hand-solved order-1 chain', () => {
    // S→A 3/4, S→B 1/4; A→conv 1/3, A→B 2/3; B→conv 1/3, B→null 2/3 ⇒ P = 1/2; without A 1/12; without B 1/4.
    const fit = fitMarkov([
      { path: ['A'], conversions: 1, nulls: 0 },
      { path: ['B'], conversions: 0, nulls: 1 },
      { path: ['A', 'B'], conversions: 1, nulls: 1 },
    ]);
    expect(fit.pConversion).toBeCloseTo(0.5, 14);
    expect(fit.removalEffects.A).toBeCloseTo(5 / 6, 14);
    expect(fit.removalEffects.B).toBeCloseTo(0.5, 14);
    expect(fit.credits.A).toBeCloseTo(1.25, 12);
    expect(fit.credits.B).toBeCloseTo(0.75, 12);
  });

  const journeysArb = fc.array(
    fc.record({
      path: fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 5 }),
      conversions: fc.integer({ min: 0, max: 5 }),
      nulls: fc.integer({ min: 0, max: 5 }),
    }),
    { minLength: 1, maxLength: 12 },
  );

  for (const order of [1, 2, 3]) {
    it(`order ${order}: removal effects equal distribution propagation on random chains (with loops)`, () => {
      fc.assert(
        fc.property(journeysArb, (journeys) => {
          const fit = fitMarkov(journeys, order);
          const p = referenceConversion(journeys, order, null);
          expect(fit.pConversion).toBeCloseTo(p, 10);
          for (const c of fit.channels) {
            const pc = referenceConversion(journeys, order, c);
            expect(fit.removalEffects[c]).toBeCloseTo(p > 0 ? Math.max(0, 1 - pc / p) : 0, 8);
          }
          const total = journeys.reduce((a, j) => a + j.conversions, 0);
          const sum = Object.values(fit.credits).reduce((a, b) => a + b, 0);
          if (Object.values(fit.removalEffects).some((r) => r > 0)) expect(sum).toBeCloseTo(total, 9);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('the sparse iterative solver agrees with dense LU', () => {
    const journeys: Journey[] = [
      { path: ['a', 'b', 'a', 'c'], conversions: 3, nulls: 5 },
      { path: ['b', 'b', 'c'], conversions: 1, nulls: 4 },
      { path: ['c', 'a'], conversions: 2, nulls: 1 },
    ];
    const dense = fitMarkov(journeys, 2);
    const sparse = fitMarkov(journeys, 2, { denseLimit: 0 });
    expect(dense.solver).toBe('dense-lu');
    expect(sparse.solver).toBe('gauss-seidel');
    for (const c of dense.channels) expect(sparse.removalEffects[c]).toBeCloseTo(dense.removalEffects[c] ?? Number.NaN, 14);
  });
});

/** Brute-force Shapley: average marginal contribution over every permutation. */
function bruteShapley(journeys: readonly Journey[], game: 'conversions' | 'conversion_rate'): Record<string, number> {
  const channels = [...new Set(journeys.flatMap((j) => j.path))].sort();
  const v = (set: Set<string>) => {
    let c = 0;
    let n = 0;
    // A journey without channels is in every coalition, the empty one included (v(S) as documented).
    for (const j of journeys) if (j.path.every((x) => set.has(x))) (c += j.conversions), (n += j.nulls);
    return game === 'conversions' ? c : c + n > 0 ? c / (c + n) : 0;
  };
  const perms = (xs: string[]): string[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
  const phi: Record<string, number> = Object.fromEntries(channels.map((c) => [c, 0]));
  const all = perms(channels);
  for (const p of all) {
    const s = new Set<string>();
    let prev = v(s);
    for (const c of p) {
      s.add(c);
      const cur = v(s);
      phi[c] = (phi[c] ?? 0) + (cur - prev) / all.length;
      prev = cur;
    }
  }
  return phi;
}

describe('fitShapley', () => {
  const journeysArb = fc.array(
    fc.record({
      path: fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 0, maxLength: 4 }),
      conversions: fc.integer({ min: 0, max: 9 }),
      nulls: fc.integer({ min: 0, max: 9 }),
    }),
    { minLength: 1, maxLength: 10 },
  );
  for (const game of ['conversions', 'conversion_rate'] as const) {
    it(`exact ${game} game equals brute force over all permutations`, () => {
      fc.assert(
        fc.property(journeysArb, (journeys) => {
          const fit = fitShapley(journeys, { game });
          expect(fit.method).toBe('exact');
          const ref = bruteShapley(journeys, game);
          for (const c of fit.channels) expect(fit.values[c]).toBeCloseTo(ref[c] ?? Number.NaN, 10);
        }),
        { numRuns: 60 },
      );
    });
  }
  it('a hand case: {a}:4, {a,b}:2 → a = 5, b = 1', () => {
    const fit = fitShapley([{ path: ['a'], conversions: 4, nulls: 0 }, { path: ['a', 'b', 'a'], conversions: 2, nulls: 3 }]);
    expect(fit.values).toEqual({ a: 5, b: 1 });
  });
  it('more channels than a bit mask holds: one channel per journey gets exactly its conversions', () => {
    const journeys: Journey[] = Array.from({ length: 40 }, (_, i) => ({ path: [`c${String(i).padStart(2, '0')}`, `c${String(i).padStart(2, '0')}`], conversions: i, nulls: 1 }));
    const fit = fitShapley(journeys, { samples: 50 });
    expect(fit.method).toBe('sampled');
    journeys.forEach((j, i) => expect(fit.values[j.path[0] ?? '']).toBe(i));
  });
  it('sampling stays within its stated bound', () => {
    const journeys: Journey[] = [
      { path: ['a', 'b'], conversions: 10, nulls: 5 },
      { path: ['b', 'c', 'd'], conversions: 6, nulls: 2 },
      { path: ['a'], conversions: 3, nulls: 9 },
      { path: ['d', 'a', 'c'], conversions: 4, nulls: 1 },
    ];
    const exact = fitShapley(journeys);
    const est = fitShapley(journeys, { maxExact: 2, samples: 4000, seed: 7 });
    expect(est.method).toBe('sampled');
    expect(est.confidence).toBe(0.95);
    for (const c of exact.channels) {
      expect(Math.abs((est.values[c] ?? 0) - (exact.values[c] ?? 0))).toBeLessThanOrEqual(est.errorBound?.[c] ?? 0);
    }
  });
});

// The reference data set lives outside the project (GPL-3, not copied in); these run only where it is present.
const PATHS = fileURLToPath(new URL('../../../shared/reference/markov-paths/paths.csv', import.meta.url));
describe.skipIf(!existsSync(PATHS))('reference paths.csv (../shared)', () => {
  const journeys = existsSync(PATHS) ? parsePathsCsv(readFileSync(PATHS, 'utf8')) : [];
  for (const order of [1, 2]) {
    it(`order ${order}: exact solve equals distribution propagation; credits sum to conversions`, () => {
      const fit = fitMarkov(journeys, order);
      const p = referenceConversion(journeys, order, null);
      expect(fit.pConversion).toBeCloseTo(p, 10);
      for (const c of fit.channels) {
        expect(fit.removalEffects[c]).toBeCloseTo(1 - referenceConversion(journeys, order, c) / p, 8);
      }
      expect(Object.values(fit.credits).reduce((a, b) => a + b, 0)).toBeCloseTo(fit.totalConversions, 6);
      expect(fit.residual).toBeLessThan(1e-12);
    });
  }
  it('buildChain equals the map-per-state construction on the reference paths', () => {
    const channels = channelsOf(journeys);
    for (const order of [1, 2, 3]) expect(buildChain(journeys, order, channels)).toEqual(referenceChain(journeys, order, channels));
  });
  it('shapley (12 channels) is exact and efficient', () => {
    const fit = fitShapley(journeys);
    expect(fit.method).toBe('exact');
    expect(fit.channels.length).toBe(12);
    const sum = Object.values(fit.values).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(fit.totalConversions, 6);
  });
});
