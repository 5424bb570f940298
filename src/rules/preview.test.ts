import { describe, expect, it } from 'vitest';
import { computeDealInfluence } from '../attribution/deal';
import { deal, testRules, touch } from '../attribution/testkit';
import { addDiff, emptyDiff, movedAmount, previewDiff, previewRow } from './preview';

const ctx = { evidenceBaseUrl: 'https://x', rulesVersion: 'v' };

describe('previewDiff', () => {
  it('totals influenced/sourced pipeline and revenue per currency and lists changed deals', () => {
    const loose = testRules();
    const strict = testRules((r) => ({ ...r, definitions: { ...r.definitions, influenced: { min_touches: 2, min_score: 0 } } }));
    const won = deal({ id: 'W', amount: 1000, currency: 'EUR' }); // two touches: stays influenced
    const open = deal({ id: 'O', amount: 500, currency: 'USD', isClosed: false, isWon: false, closedAt: null }); // one touch
    const lost = deal({ id: 'L', amount: 70, isWon: false }); // no touches
    const touches = { W: [touch({ at: -10 }), touch({ at: 2 })], O: [touch({ at: 1 })], L: [] };
    const run = (r: typeof loose) => [won, open, lost].map((d) => computeDealInfluence(d, touches[d.id as keyof typeof touches], r, ctx));
    const diff = previewDiff(run(loose), run(strict));
    expect(diff.before.influenced).toEqual({ deals: 2, pipeline: { USD: 500 }, revenue: { EUR: 1000 } });
    expect(diff.after.influenced).toEqual({ deals: 1, pipeline: {}, revenue: { EUR: 1000 } });
    expect(diff.before.sourced).toEqual({ deals: 1, pipeline: {}, revenue: { EUR: 1000 } });
    expect(diff.before.attributed).toEqual({ EUR: 1000, USD: 500 });
    expect(diff.after.attributed).toEqual({ EUR: 1000 });
    expect(diff.changed).toEqual([
      {
        dealId: 'O', crm: 'hubspot', kind: 'changed', amount: 500, currency: 'USD',
        changes: [{ field: 'influenced', before: true, after: false }, { field: 'attributedAmount', before: 500, after: 0 }],
      },
    ]);
    expect(diff.unchanged).toBe(2);
  });
  it('reports deals present on one side only', () => {
    const r = testRules();
    const a = computeDealInfluence(deal({ id: 'A' }), [], r, ctx);
    const diff = previewDiff([a], []);
    expect(diff.changed.map((c) => [c.dealId, c.kind])).toEqual([['A', 'removed']]);
  });
  it('gives the same diff from the slim rows the preview keeps as from whole influences', () => {
    const a = testRules();
    const b = testRules((r) => ({ ...r, models: { ...r.models, primary: 'first_touch' }, window: { ...r.window, lookback_days: 5 } }));
    const deals = [deal({ id: 'X', amount: 300 }), deal({ id: 'Y', amount: 900, currency: 'USD', isClosed: false, isWon: false, closedAt: null })];
    const touches = [touch({ at: -20, type: 'slack.message' }), touch({ at: -1 }), touch({ at: 3, type: 'events.attended' })];
    const whole = (r: typeof a) => deals.map((d) => computeDealInfluence(d, touches, r, ctx));
    const full = previewDiff(whole(a), whole(b));
    expect(full.changed.length).toBeGreaterThan(0);
    expect(previewDiff(whole(a).map(previewRow), whole(b).map(previewRow))).toEqual(full);
    // A slim row holds no evidence, credits or members.
    expect(Object.keys(previewRow(whole(a)[0]!))).not.toContain('evidence');
  });
  it('adds chunk by chunk to the same totals, keeping per currency the deals that move the most money', () => {
    const a = testRules();
    const b = testRules((r) => ({ ...r, definitions: { ...r.definitions, influenced: { min_touches: 2, min_score: 0 } } }));
    // Deal i has one touch (influenced only under a) or two (both), and amount 100·(i+1) in EUR or USD.
    const deals = Array.from({ length: 12 }, (_, i) => deal({ id: `D${String(i).padStart(2, '0')}`, amount: 100 * (i + 1), currency: i % 3 ? 'EUR' : 'USD' }));
    const touchesOf = (i: number) => (i % 2 ? [touch({ at: -3 })] : [touch({ at: -3 }), touch({ at: 1 })]);
    const rows = (r: typeof a) => deals.map((d, i) => previewRow(computeDealInfluence(d, touchesOf(i), r, ctx)));
    const whole = previewDiff(rows(a), rows(b));
    const running = emptyDiff();
    for (let from = 0; from < deals.length; from += 5) addDiff(running, previewDiff(rows(a).slice(from, from + 5), rows(b).slice(from, from + 5)), 3);
    expect(running.before).toEqual(whole.before);
    expect(running.after).toEqual(whole.after);
    expect(running.unchanged).toBe(whole.unchanged);
    expect(running.changedTotal).toBe(whole.changed.length);
    expect(whole.changed.length).toBe(6);
    // The three largest moves per currency (each deal loses its whole attributed amount); USD has only two.
    expect(running.changed.map((c) => [c.dealId, c.currency, movedAmount(c)])).toEqual([
      ['D11', 'EUR', 1200], ['D07', 'EUR', 800], ['D05', 'EUR', 600], ['D09', 'USD', 1000], ['D03', 'USD', 400],
    ]);
  });
});
