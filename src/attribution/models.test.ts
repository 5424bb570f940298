import { describe, expect, it } from 'vitest';
import { pow2 } from './batch';
import { computeDealInfluence } from './deal';
import { positionShares, POSITION_PRESETS, expandShares } from './models';
import { day, deal, testRules, touch } from './testkit';
import type { DealInfluence } from './types';
import { MODEL_NAMES, type ModelName } from '../rules/schema';

const ctx = { evidenceBaseUrl: 'https://ci.example/', rulesVersion: 'sha256:test' };
const rules = testRules();

/** Credits per model in journey order. */
function credits(inf: DealInfluence, model: ModelName): number[] {
  return inf.evidence.map((e) => e.credit[model] ?? Number.NaN);
}
function close(actual: number[], expected: number[]) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i] ?? Number.NaN, 12));
}

describe('one touch', () => {
  it('gives 100% to the single touch under every model', () => {
    const inf = computeDealInfluence(deal(), [touch({ at: -2 })], rules, ctx);
    expect(inf.touchCount).toBe(1);
    for (const m of inf.models) close(credits(inf, m), [1]);
  });
});

describe('three touches: first/lead on t1, deal creation on t2, closed-won and last on t3', () => {
  // contact created day -5, deal created day 0, won day 20
  const ts = [
    touch({ at: -10, type: 'github.star' }),
    touch({ at: -3, type: 'slack.message', source: 'slack' }),
    touch({ at: 5, type: 'discourse.post.created', source: 'discourse' }),
  ];
  const inf = computeDealInfluence(deal(), ts, rules, ctx);
  const expected: Partial<Record<ModelName, number[]>> = {
    first_touch: [1, 0, 0],
    last_touch_creation: [0, 1, 0],
    last_touch_close: [0, 0, 1],
    linear: [1 / 3, 1 / 3, 1 / 3],
    u_shaped: [0.8, 0.1, 0.1], // first 40 + lead 40 coincide on t1; 20 split over the two others
    w_shaped: [0.6, 0.3, 0.1], // 30+30 on t1, 30 on t2 (deal creation), 10 on the only middle touch
    full_path: [0.5, 0.25, 0.25], // 45/22.5/22.5 and no middle touch for the 10 → renormalised by 0.9
    j_shaped: [0.2, 0.2, 0.6],
    inverse_j: [0.6, 0.2, 0.2],
    custom: [0.5, 0, 0.5],
    activity_weighted: [0.5 / 3.5, 1 / 3.5, 2 / 3.5],
  };
  for (const m of MODEL_NAMES) {
    const v = expected[m];
    if (v) it(`${m} = ${v.map((x) => x.toFixed(3)).join(' / ')}`, () => close(credits(inf, m), v));
  }
  it('time decay halves every 7 days back from the last touch', () => {
    const w = [2 ** (-15 / 7), 2 ** (-8 / 7), 1];
    const s = w.reduce((a, b) => a + b, 0);
    close(credits(inf, 'time_decay'), w.map((x) => x / s));
  });
  it('marks milestones on the evidence', () => {
    expect(inf.evidence.map((e) => e.milestones)).toEqual([['first_touch', 'lead_creation'], ['deal_creation'], ['closed_won', 'last_touch']]);
  });
  it('sums credits per channel, sourced (t1 before the contact existed), not assisted (sourced excludes)', () => {
    expect(inf.creditByChannel.w_shaped).toEqual({ github: expect.closeTo(0.6, 12), slack: expect.closeTo(0.3, 12), forum: expect.closeTo(0.1, 12) });
    expect(inf.sourced).toBe(true);
    expect(inf.assisted).toBe(false);
    expect(inf.influenced).toBe(true);
    expect(inf.topChannel).toBe('forum'); // primary = linear: 1/3 each, tie → alphabetically first
    expect(inf.attributedAmount.linear).toBeCloseTo(1000, 9);
    expect(inf.firstTouchAt).toBe(day(-10));
    expect(inf.lastTouchAt).toBe(day(5));
    expect(inf.evidenceUrl).toBe('https://ci.example/deals/hubspot/D1');
  });
  it('scores by the documented formula', () => {
    const v = 3.5 / (3.5 + 10);
    const b = 1 / 3;
    const r = 2 ** (-15 / 30);
    const d = 2 / 3;
    expect(inf.score).toBe(Math.round(100 * (0.4 * v + 0.2 * b + 0.2 * r + 0.2 * d)));
  });
});

describe('two touches, no touch before lead creation', () => {
  // t1 day -3 (after the contact was created on day -5), t2 day 3
  const inf = computeDealInfluence(deal(), [touch({ at: -3 }), touch({ at: 3, type: 'slack.message' })], rules, ctx);
  const expected: Partial<Record<ModelName, number[]>> = {
    u_shaped: [2 / 3, 1 / 3], // first 40, lead missing, 20 to the other → /0.6
    w_shaped: [6 / 7, 1 / 7], // first+deal 60 on t1, 10 on t2 → /0.7
    full_path: [2 / 3, 1 / 3], // 45 on t1, 22.5 (won) on t2 → /0.675
    j_shaped: [0.25, 0.75],
    inverse_j: [0.75, 0.25],
    last_touch_creation: [1, 0],
    first_touch: [1, 0],
  };
  for (const m of MODEL_NAMES) {
    const v = expected[m];
    if (v) it(`${m} = ${v.map((x) => x.toFixed(3)).join(' / ')}`, () => close(credits(inf, m), v));
  }
  it('is assisted but not sourced', () => {
    expect(inf.sourced).toBe(false);
    expect(inf.assisted).toBe(true);
  });
  it('u_shaped marketo = 50/50 with nothing for the middle', () => {
    const r = testRules((x) => ({ ...x, models: { ...x.models, u_shaped: 'marketo' } }));
    const three = [touch({ at: -10 }), touch({ at: -4 }), touch({ at: -1 })];
    const i = computeDealInfluence(deal(), three, r, ctx);
    close(credits(i, 'u_shaped'), [1, 0, 0]); // first and lead both on t1 (day -10 ≤ -5)
    const i2 = computeDealInfluence(deal({ contacts: [{ contactId: 'c1', isPrimary: true, createdAt: day(-2) }] }), three, r, ctx);
    close(credits(i2, 'u_shaped'), [0.5, 0.5, 0]); // lead creation (day -2) → t2 (day -4)
  });
});

describe('ties and fallbacks', () => {
  it('orders same-time touches by id, whatever the input order', () => {
    const a = touch({ at: -1, id: 'a', type: 'slack.message' });
    const b = touch({ at: -1, id: 'b', type: 'github.star' });
    const x = computeDealInfluence(deal(), [a, b], rules, ctx);
    const y = computeDealInfluence(deal(), [b, a], rules, ctx);
    expect(x.evidence.map((e) => e.touchId)).toEqual(['a', 'b']);
    expect(y).toEqual(x);
    close(credits(x, 'first_touch'), [1, 0]);
  });
  it('last touch before creation falls back to linear when every touch is after creation', () => {
    const inf = computeDealInfluence(deal(), [touch({ at: 1 }), touch({ at: 2 })], rules, ctx);
    close(credits(inf, 'last_touch_creation'), [0.5, 0.5]);
  });
  it('a touch at the exact creation instant counts as before creation', () => {
    const inf = computeDealInfluence(deal(), [touch({ at: -1 }), touch({ at: 0 }), touch({ at: 1 })], rules, ctx);
    close(credits(inf, 'last_touch_creation'), [0, 1, 0]);
  });
  it('no touches: no credits, not influenced, score 0, attributed 0', () => {
    const inf = computeDealInfluence(deal(), [], rules, ctx);
    expect(inf.touchCount).toBe(0);
    expect(inf.creditByChannel.linear).toEqual({});
    expect(inf.influenced).toBe(false);
    expect(inf.score).toBe(0);
    expect(inf.attributedAmount.linear).toBe(0);
    expect(inf.topChannel).toBeNull();
  });
  it('a deal without amount attributes null', () => {
    expect(computeDealInfluence(deal({ amount: null }), [touch({ at: 1 })], rules, ctx).attributedAmount.linear).toBeNull();
  });
  it('an influenced deal attributes exactly its amount under every model (no 999.9999999999999 from summed credits)', () => {
    const types = ['github.star', 'slack.message', 'discourse.post.created', 'events.attended'];
    for (const amount of [1000, 0.1, 123_456.78]) {
      for (let n = 2; n <= 7; n++) {
        const touches = Array.from({ length: n }, (_, i) => touch({ at: 1 + i, type: types[i % types.length] ?? 'github.star' }));
        const inf = computeDealInfluence(deal({ amount, isClosed: false, isWon: false, closedAt: null }), touches, rules, { ...ctx, asOf: day(10) });
        expect(inf.influenced).toBe(true);
        for (const m of inf.models) expect([m, n, inf.attributedAmount[m]]).toEqual([m, n, amount]);
      }
    }
  });
});

describe('window, scope and exclusions', () => {
  it('keeps [creation − lookback, close] inclusive and drops the rest', () => {
    const ts = [touch({ at: -31 }), touch({ at: -30 }), touch({ at: 20 }), touch({ at: 21 })];
    expect(computeDealInfluence(deal(), ts, rules, ctx).evidence.map((e) => e.occurredAt)).toEqual([day(-30), day(20)]);
  });
  it('until_close: false stops at creation', () => {
    const r = testRules((x) => ({ ...x, window: { ...x.window, until_close: false } }));
    expect(computeDealInfluence(deal(), [touch({ at: -1 }), touch({ at: 1 })], r, ctx).touchCount).toBe(1);
  });
  it('drops staff, bots, excluded members, excluded and non-counting types', () => {
    const ts = [
      touch({ at: 1, isStaff: true }), touch({ at: 1, isBot: true }), touch({ at: 1, memberId: 'm_excluded' }),
      touch({ at: 1, type: 'slack.reaction_added' }), touch({ at: 1, type: 'github.release.published' }),
      touch({ at: 1, type: 'unknown.thing' }), touch({ at: 2 }),
    ];
    expect(computeDealInfluence(deal(), ts, rules, ctx).touchCount).toBe(1);
  });
  it('deal_contacts ignores other contacts and company colleagues; account scope takes colleagues at the time', () => {
    const ts = [touch({ at: 1 }), touch({ at: 2, contactIds: ['other'], memberId: 'm2' }), touch({ at: 3, contactIds: [], companyId: 'co2', memberId: 'm3' })];
    expect(computeDealInfluence(deal(), ts, rules, ctx).touchCount).toBe(1);
    const acc = testRules((x) => ({ ...x, scope: 'account' }));
    const inf = computeDealInfluence(deal(), ts, acc, ctx);
    expect(inf.membersInvolved).toEqual(['m1', 'm2']); // m3 was at co2 when it touched
  });
  it('primary_contact keeps only the primary contact', () => {
    const r = testRules((x) => ({ ...x, scope: 'primary_contact' }));
    const d = deal({ contacts: [{ contactId: 'c1', isPrimary: true, createdAt: day(-5) }, { contactId: 'c2', isPrimary: false, createdAt: day(-5) }] });
    expect(computeDealInfluence(d, [touch({ at: 1 }), touch({ at: 2, contactIds: ['c2'] })], r, ctx).touchCount).toBe(1);
  });
});

describe('positionShares', () => {
  it('adds coinciding milestones and renormalises missing ones', () => {
    const m = { first_touch: 0, lead_creation: 0, deal_creation: 0, closed_won: -1, last_touch: 3 };
    const s = positionShares(4, m, POSITION_PRESETS.full_path);
    // 0.675 on touch 0, 0.1 over touches 1..3 (touch 3 has no weighted milestone in full_path): total 0.775
    close([...expandShares(4, s)], [0.675 / 0.775, 0.1 / 3 / 0.775, 0.1 / 3 / 0.775, 0.1 / 3 / 0.775]);
  });
});

describe('data-driven models per deal', () => {
  it("a channel's fitted weight is split evenly over its touches", () => {
    const r = testRules((x) => ({ ...x, models: { ...x.models, primary: 'markov', compare: ['shapley'] } }));
    const ts = [touch({ at: -3 }), touch({ at: -2, type: 'slack.message' }), touch({ at: -1 })];
    const inf = computeDealInfluence(deal(), ts, r, { ...ctx, fitted: { markov: { github: 3, slack: 1 }, shapley: { github: 0, slack: 0 } } });
    close(credits(inf, 'markov'), [0.375, 0.25, 0.375]);
    close(credits(inf, 'shapley'), [1 / 3, 1 / 3, 1 / 3]); // all-zero weights → linear
    expect(() => computeDealInfluence(deal(), ts, r, ctx)).toThrow(/needs a fitted model/);
  });
  it('fitForRules fits only what the rules use, on closed deals', async () => {
    const { fitForRules } = await import('./journeys');
    const r = testRules((x) => ({ ...x, models: { ...x.models, primary: 'markov', compare: [] } }));
    const won = deal({ id: 'W' });
    const lost = deal({ id: 'L', isWon: false });
    const byDeal = new Map([['W', [touch({ at: -3 })]], ['L', [touch({ at: -3, type: 'slack.message' })]]]);
    const fitted = fitForRules([won, lost], byDeal, r);
    expect(Object.keys(fitted)).toEqual(['markov']);
    expect(fitted.markov).toEqual({ github: 1, slack: 0 }); // only github paths convert
    expect(fitForRules([won], byDeal, testRules())).toEqual({});
  });
});

describe('six touches: first = lead creation on t0, deal creation on t3, closed-won/last on t5', () => {
  // contact created day -5; touches on days -9 (t0), -4, -2, 0 (t3, at creation), 3, 20 (t5, at close)
  const ts = [-9, -4, -2, 0, 3, 20].map((at) => touch({ at }));
  const inf = computeDealInfluence(deal(), ts, rules, ctx);
  const o = (share: number, k: number) => share / k;
  const expected: Partial<Record<ModelName, number[]>> = {
    w_shaped: [0.6, o(0.1, 4), o(0.1, 4), 0.3, o(0.1, 4), o(0.1, 4)],
    full_path: [0.45, o(0.1, 3), o(0.1, 3), 0.225, o(0.1, 3), 0.225],
    u_shaped: [0.8, 0.04, 0.04, 0.04, 0.04, 0.04],
    j_shaped: [0.2, 0.05, 0.05, 0.05, 0.05, 0.6],
    inverse_j: [0.6, 0.05, 0.05, 0.05, 0.05, 0.2],
    last_touch_creation: [0, 0, 0, 1, 0, 0],
    linear: [1, 1, 1, 1, 1, 1].map((x) => x / 6),
  };
  for (const m of MODEL_NAMES) {
    const v = expected[m];
    if (v) it(`${m} = ${v.map((x) => x.toFixed(3)).join(' / ')}`, () => close(credits(inf, m), v));
  }
  it('time decay over 29 days with a 7-day half-life', () => {
    const w = [-9, -4, -2, 0, 3, 20].map((d) => 2 ** (-(20 - d) / 7));
    const s = w.reduce((a, b) => a + b, 0);
    close(credits(inf, 'time_decay'), w.map((x) => x / s));
  });
});

describe('pow2 (batch time decay)', () => {
  it('equals 2 ** u to within a few ulps over the range the batch engine uses', () => {
    let worst = 0;
    for (let k = 0; k <= 200_000; k++) {
      const u = -1073 + (k / 200_000) * 2072 + (k % 7) * 1e-7;
      const exact = 2 ** u;
      if (exact < 2 ** -1000) continue; // subnormal results are not relatively exact (and never weigh against the last touch)
      worst = Math.max(worst, Math.abs(pow2(u) / exact - 1));
    }
    for (const u of [0, 1, -1, 0.5, -0.5, 1 / 512, -1 / 512, 999.99, -999.99]) worst = Math.max(worst, Math.abs(pow2(u) / 2 ** u - 1));
    expect(worst).toBeLessThan(1e-14);
  });
});
