import { describe, expect, it } from 'vitest';
import { computeDealInfluence } from './deal';
import { FIT_TOLERANCE, fitModels, fitShift, fittedModels, fittedOrEmpty, mergeJourneys } from './fit';
import { fitForRules, journeysFromDeals } from './journeys';
import { fitMarkov } from './markov';
import { fitShapley } from './shapley';
import type { Rules } from '../rules/schema';
import { deal, testRules, touch } from './testkit';

const rulesWith = (models: Partial<Rules['models']>): Rules => testRules((r) => ({ ...r, models: { ...r.models, ...models } }));

const journeys = [
  { path: ['github', 'slack'], conversions: 3, nulls: 1, value: 30 },
  { path: ['slack'], conversions: 0, nulls: 4 },
  { path: ['github'], conversions: 2, nulls: 0, value: 20 },
  { path: [], conversions: 1, nulls: 5 },
];

describe('fitting data-driven models for the rules', () => {
  it('fits exactly the models the rules use, as fitMarkov / fitShapley do', () => {
    const both = rulesWith({ primary: 'markov', compare: ['shapley', 'linear'], markov_order: 2 });
    expect(fittedModels(both)).toEqual(['markov', 'shapley']);
    expect(fitModels(journeys, both)).toEqual({ markov: fitMarkov(journeys, 2).removalEffects, shapley: fitShapley(journeys).values });
    const none = rulesWith({ primary: 'linear', compare: ['w_shaped'] });
    expect(fittedModels(none)).toEqual([]);
    expect(fitModels(journeys, none)).toEqual({});
  });

  it('without a fit, data-driven credits fall back to linear instead of failing', () => {
    const rules = rulesWith({ primary: 'markov', compare: [] });
    const d = deal({ id: 'd1' });
    const ts = [touch({ at: 1, type: 'github.fork' }), touch({ at: 2, type: 'slack.message', source: 'slack' })];
    const ctx = { evidenceBaseUrl: 'http://x', rulesVersion: 'v' };
    expect(() => computeDealInfluence(d, ts, rules, ctx)).toThrow(/fitted model/);
    const out = computeDealInfluence(d, ts, rules, { ...ctx, fitted: fittedOrEmpty(rules, undefined) });
    expect(out.creditByChannel.markov).toEqual({ github: 0.5, slack: 0.5 });
    const fitted = fitForRules([{ ...d, isClosed: true, isWon: true }], new Map([['d1', ts]]), rules);
    expect(fittedOrEmpty(rules, fitted)).toEqual(fitted);
  });

  it('measures how far a fit moved as the largest change of a channel share', () => {
    expect(fitShift({ markov: { a: 1, b: 1 } }, { markov: { a: 2, b: 2 } })).toBe(0);
    expect(fitShift({ markov: { a: 1, b: 3 } }, { markov: { a: 1, b: 1 } })).toBeCloseTo(0.25, 12);
    expect(fitShift({ markov: {} }, { markov: { a: 0.2 } })).toBe(1);
    expect(fitShift({ markov: { a: 1 } }, { markov: { a: 1 }, shapley: { a: 1 } })).toBe(1);
    // Negative weights count as zero, as the engine reads them.
    expect(fitShift({ shapley: { a: 1, b: -1 } }, { shapley: { a: 1, b: 0 } })).toBe(0);
    expect(FIT_TOLERANCE).toBeGreaterThan(0);
  });

  it('merges journeys by path, whatever the chunking', () => {
    const rules = rulesWith({ primary: 'markov', compare: [] });
    const deals = Array.from({ length: 6 }, (_, i) => ({ ...deal({ id: `d${i}` }), isClosed: true, isWon: i % 2 === 0, amount: 10 * i }));
    const touches = new Map(deals.map((d, i) => [d.id, [touch({ at: 1, type: i % 3 ? 'github.fork' : 'slack.message' })]]));
    const whole = journeysFromDeals(deals, touches, rules);
    const parts = mergeJourneys([...journeysFromDeals(deals.slice(0, 2), touches, rules), ...journeysFromDeals(deals.slice(2), touches, rules)]);
    const key = (js: typeof whole) => js.map((j) => `${j.path.join('>')}:${j.conversions}:${j.nulls}:${j.value}`).sort();
    expect(key(parts)).toEqual(key(whole));
    expect(fitModels(parts, rules)).toEqual(fitModels(whole, rules));
  });
});
