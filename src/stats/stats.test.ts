import { describe, expect, it } from 'vitest';
import {
  bootstrapCI, bootstrapDifference, matchedComparison, meanCI, median, proportionDifference, quarterOf, sizeBand, tQuantile975, wilson,
  type Unit,
} from './index';

describe('wilson', () => {
  it('matches the published interval for 81/263 (Newcombe 1998)', () => {
    const r = wilson(81, 263);
    expect(r.estimate).toBeCloseTo(0.308, 3);
    expect(r.low).toBeCloseTo(0.2553, 3);
    expect(r.high).toBeCloseTo(0.3662, 3);
  });
  it('stays inside [0, 1] at the edges and is empty without data', () => {
    expect(wilson(0, 10).low).toBe(0);
    expect(wilson(10, 10).high).toBe(1);
    expect(wilson(0, 0).estimate).toBeNull();
  });
});

describe('proportionDifference (Newcombe hybrid score)', () => {
  it('matches Newcombe example 56/70 vs 48/80', () => {
    const d = proportionDifference(56, 70, 48, 80);
    expect(d.estimate).toBeCloseTo(0.2, 6);
    expect(d.low).toBeCloseTo(0.0524, 3);
    expect(d.high).toBeCloseTo(0.3339, 3);
  });
});

describe('t and mean intervals', () => {
  it('t quantiles are close to tables', () => {
    expect(tQuantile975(5)).toBeCloseTo(2.5706, 2);
    expect(tQuantile975(10)).toBeCloseTo(2.2281, 3);
    expect(tQuantile975(30)).toBeCloseTo(2.0423, 3);
  });
  it('mean interval contains the mean and is symmetric', () => {
    const r = meanCI([1, 2, 3, 4, 5]);
    expect(r.estimate).toBe(3);
    expect(r.low! + r.high!).toBeCloseTo(6, 9);
    expect(r.high! - 3).toBeCloseTo(2.7764 * Math.sqrt(2.5 / 5), 2);
  });
});

describe('bootstrap', () => {
  it('is deterministic and brackets the median', () => {
    const xs = Array.from({ length: 50 }, (_, i) => (i * 37) % 101);
    const a = bootstrapCI(xs);
    const b = bootstrapCI(xs);
    expect(a).toEqual(b);
    expect(a.estimate).toBe(median(xs));
    expect(a.low!).toBeLessThanOrEqual(a.estimate!);
    expect(a.high!).toBeGreaterThanOrEqual(a.estimate!);
  });
  it('difference of medians of shifted samples is near the shift', () => {
    const xs = Array.from({ length: 40 }, (_, i) => i);
    const d = bootstrapDifference(xs.map((x) => x + 100), xs);
    expect(d.estimate).toBe(100);
    expect(d.low!).toBeGreaterThan(80);
  });
});

describe('matchedComparison', () => {
  it('says too few when a group has fewer than 10 matched deals', () => {
    const units: Unit[] = [
      ...Array.from({ length: 5 }, () => ({ stratum: 'a', treated: true, value: 1 })),
      ...Array.from({ length: 50 }, () => ({ stratum: 'a', treated: false, value: 0 })),
    ];
    const r = matchedComparison(units, { proportion: true });
    expect(r.verdict).toBe('too_few');
    expect(r.explanation).toMatch(/Too few/);
    expect(r.difference.low).toBeNull();
  });
  it('removes a confounder the naive comparison shows as lift (big accounts engage more and win more)', () => {
    // Within each stratum influenced and non-influenced win at the same rate; influenced are concentrated in "big".
    const units: Unit[] = [];
    const add = (stratum: string, treated: boolean, n: number, wins: number) => {
      for (let i = 0; i < n; i++) units.push({ stratum, treated, value: i < wins ? 1 : 0 });
    };
    add('big', true, 80, 48); add('big', false, 20, 12); // 60% both
    add('small', true, 20, 4); add('small', false, 80, 16); // 20% both
    const r = matchedComparison(units, { proportion: true });
    expect(r.naive!).toBeCloseTo(0.52 - 0.28, 6);
    expect(r.difference.estimate).toBeCloseTo(0, 9);
    expect(r.verdict).toBe('no_clear_difference');
  });
  it('finds a real within-stratum lift', () => {
    const units: Unit[] = [];
    for (const s of ['x', 'y', 'z']) {
      for (let i = 0; i < 40; i++) units.push({ stratum: s, treated: true, value: i < 30 ? 1 : 0 });
      for (let i = 0; i < 40; i++) units.push({ stratum: s, treated: false, value: i < 10 ? 1 : 0 });
    }
    const r = matchedComparison(units, { proportion: true });
    expect(r.difference.estimate).toBeCloseTo(0.5, 6);
    expect(r.verdict).toBe('higher');
  });
  it('ignores strata with only one group', () => {
    const r = matchedComparison([{ stratum: 'a', treated: true, value: 1 }, { stratum: 'b', treated: false, value: 0 }]);
    expect(r.strata).toBe(0);
    expect(r.verdict).toBe('too_few');
  });
});

describe('bands', () => {
  it('bands amounts and quarters', () => {
    expect(sizeBand(9_999)).toBe('<10k');
    expect(sizeBand(10_000)).toBe('10k–50k');
    expect(sizeBand(null)).toBe('unknown');
    expect(quarterOf('2026-11-24T00:00:00Z')).toBe('2026-Q4');
    expect(quarterOf('2026-01-01')).toBe('2026-Q1');
  });
});

describe('matchedComparison variance', () => {
  it('does not report certainty from many tiny all-or-nothing strata', () => {
    // 12 strata of 1 influenced (won) vs 1 non-influenced (lost): every stratum says +100%, but each is one coin flip.
    const units: Unit[] = [];
    for (let i = 0; i < 12; i++) units.push({ stratum: `s${i}`, treated: true, value: 1 }, { stratum: `s${i}`, treated: false, value: 0 });
    const r = matchedComparison(units, { proportion: true });
    expect(r.difference.estimate).toBe(1);
    expect(r.difference.high! - r.difference.low!).toBeGreaterThan(0.5);
  });
});
