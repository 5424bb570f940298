import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocBatch, computeBatch, toColumnar } from './batch';
import { batchInfluences } from './batch-view';
import { computeDealInfluence } from './deal';
import { DAY, day, deal, T0, testRules } from './testkit';
import { recredit } from './recredit';
import type { Deal, Touch } from './types';
import type { Rules } from '../rules/schema';

const ctx = { evidenceBaseUrl: 'https://x', rulesVersion: 'v' };
const TYPES = ['github.star', 'github.fork', 'github.pull_request.merged', 'slack.message', 'slack.reaction_added', 'discourse.post.created', 'events.attended', 'webinar.attended', 'github.release.published', 'docs.visit'];

const scopeArb = fc.constantFrom<Rules['scope']>('deal_contacts', 'primary_contact', 'account');
const touchArb = fc.record({
  id: fc.string({ minLength: 1, maxLength: 3 }),
  memberId: fc.constantFrom('m1', 'm2', 'm3', 'm_excluded'),
  contactIds: fc.subarray(['c1', 'c2', 'c3', 'c9']),
  companyId: fc.constantFrom('co1', 'co2', null),
  type: fc.constantFrom(...TYPES),
  source: fc.constant('x'),
  // Whole days (so window edges, milestones and ties are hit exactly) or whole hours, in [-40 d, +35 d].
  occurredAt: fc
    .oneof(
      fc.constantFrom(-31, -30, -10, -5, 0, 10, 20, 21).map((d) => d * 24), // edges: lookback, sourced, creation, close
      fc.integer({ min: -40, max: 35 }).map((d) => d * 24),
      fc.integer({ min: -40 * 24, max: 35 * 24 }),
    )
    .map((h) => new Date(T0 + h * 3_600_000).toISOString())
    // Now and then a time that does not parse: it never counts, on either path.
    .chain((at) => fc.constantFrom(at, at, at, at, at, at, at, 'not a date')),
  isStaff: fc.integer({ min: 0, max: 7 }).map((x) => x === 0),
  isBot: fc.integer({ min: 0, max: 7 }).map((x) => x === 0),
});
const dealArb = fc.record({
  closed: fc.boolean(),
  won: fc.boolean(),
  closeDay: fc.oneof(fc.constantFrom(10, 20), fc.integer({ min: 0, max: 30 })),
  // An open deal may carry its expected close date (as HubSpot's closedate); its window still runs to asOf.
  expected: fc.boolean(),
  contacts: fc.uniqueArray(
    fc.record({ contactId: fc.constantFrom('c1', 'c2', 'c3'), isPrimary: fc.boolean(), createdAt: fc.integer({ min: -40, max: 10 }).map(day) }),
    { selector: (c) => c.contactId, minLength: 1, maxLength: 3 },
  ),
}).map(({ closed, won, closeDay, expected, contacts }): Deal =>
  deal({ isClosed: closed, isWon: closed && won, closedAt: closed || expected ? day(closeDay) : null, contacts }),
);

const caseArb = fc.record({ deal: dealArb, touches: fc.uniqueArray(touchArb, { selector: (t) => t.id, maxLength: 25 }), scope: scopeArb });

const rulesFor = (scope: Rules['scope']) => testRules((r) => ({ ...r, scope }));

describe('engine properties', () => {
  it('credits are non-negative and sum to 1 per model (0 without touches)', () => {
    fc.assert(
      fc.property(caseArb, ({ deal: d, touches, scope }) => {
        const inf = computeDealInfluence(d, touches, rulesFor(scope), ctx);
        for (const m of inf.models) {
          const credits = inf.evidence.map((e) => e.credit[m] ?? Number.NaN);
          for (const c of credits) expect(c).toBeGreaterThanOrEqual(0);
          expect(credits.reduce((a, b) => a + b, 0)).toBeCloseTo(inf.touchCount > 0 ? 1 : 0, 9);
          const byChannel = Object.values(inf.creditByChannel[m] ?? {}).reduce((a, b) => a + b, 0);
          expect(byChannel).toBeCloseTo(inf.touchCount > 0 ? 1 : 0, 9);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order touches are given in', () => {
    fc.assert(
      fc.property(caseArb, fc.integer(), ({ deal: d, touches, scope }, seed) => {
        const shuffled = [...touches].sort((a, b) => ((a.id.charCodeAt(0) * 31 + seed) % 7) - ((b.id.charCodeAt(0) * 31 + seed) % 7)).reverse();
        expect(computeDealInfluence(d, shuffled, rulesFor(scope), ctx)).toEqual(computeDealInfluence(d, touches, rulesFor(scope), ctx));
      }),
      { numRuns: 200 },
    );
  });

  it('gives nothing to touches outside the window, out of scope or excluded', () => {
    fc.assert(
      fc.property(caseArb, ({ deal: d, touches, scope }) => {
        const rules = rulesFor(scope);
        const inf = computeDealInfluence(d, touches, rules, ctx);
        const byId = new Map(touches.map((t) => [t.id, t]));
        const created = Date.parse(d.createdAt);
        const primary = d.contacts.filter((c) => c.isPrimary);
        const scoped = new Set((scope === 'primary_contact' && primary.length ? primary : d.contacts).map((c) => c.contactId));
        for (const e of inf.evidence) {
          const t = byId.get(e.touchId);
          if (!t) throw new Error('evidence for an unknown touch');
          const at = Date.parse(t.occurredAt);
          expect(at).toBeGreaterThanOrEqual(created - 30 * DAY);
          // A closed deal's window ends at its close; an open deal's close date is only expected.
          if (d.isClosed && d.closedAt) expect(at).toBeLessThanOrEqual(Date.parse(d.closedAt));
          expect(t.isStaff || t.isBot || t.memberId === 'm_excluded').toBe(false);
          expect(['slack.reaction_added', 'github.release.published', 'docs.visit']).not.toContain(t.type);
          const inScope = t.contactIds.some((c) => scoped.has(c)) || (scope === 'account' && t.companyId === d.companyId);
          expect(inScope).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the columnar batch path agrees with the per-deal path', () => {
    fc.assert(
      fc.property(fc.array(caseArb, { minLength: 1, maxLength: 6 }), scopeArb, (cases, scope) => {
        const rules = rulesFor(scope);
        const deals = cases.map((c, i) => ({ ...c.deal, id: `D${i}` }));
        const byDeal = new Map<string, Touch[]>(cases.map((c, i) => [`D${i}`, c.touches]));
        const batch = computeBatch(toColumnar(deals, byDeal, rules), rules);
        const views = batchInfluences(batch, deals, rules, ctx);
        deals.forEach((d, i) => {
          const one = computeDealInfluence(d, byDeal.get(d.id) ?? [], rules, ctx);
          // The batch row viewed as a DealInfluence equals the per-deal one, minus evidence and member ids.
          const zeroless = (x: Record<string, number> | undefined) => Object.fromEntries(Object.entries(x ?? {}).filter(([, v]) => v !== 0));
          const view = views[i];
          expect(view && { ...view, creditByChannel: {} }).toEqual({ ...one, evidence: [], membersInvolved: [], creditByChannel: {}, attributedAmount: view?.attributedAmount });
          for (const m of batch.models) {
            const a = view?.creditByChannel[m] ?? {};
            const b = zeroless(one.creditByChannel[m]);
            expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
            for (const k of Object.keys(b)) expect(a[k]).toBeCloseTo(b[k] ?? Number.NaN, 9);
            const am = view?.attributedAmount[m];
            const om = one.attributedAmount[m];
            if (am === null || om === null || am === undefined || om === undefined) expect(am).toBe(om);
            else expect(am).toBeCloseTo(om, 6);
          }
          expect(batch.touchCount[i]).toBe(one.touchCount);
          expect(batch.score[i]).toBe(one.score);
          expect(batch.influenced[i] === 1).toBe(one.influenced);
          expect(batch.sourced[i] === 1).toBe(one.sourced);
          expect(batch.assisted[i] === 1).toBe(one.assisted);
          expect(batch.membersInvolved[i]).toBe(one.membersInvolved.length);
          const top = batch.topChannel[i] ?? -1;
          expect(top >= 0 ? batch.channels[top] : null).toBe(one.topChannel);
          batch.models.forEach((m, mi) => {
            batch.channels.forEach((ch, ci) => {
              const v = batch.credit[(i * batch.models.length + mi) * batch.channels.length + ci] ?? Number.NaN;
              expect(v).toBeCloseTo(one.creditByChannel[m]?.[ch] ?? 0, 9);
            });
          });
        });
      }),
      { numRuns: 150 },
    );
  });

  // The batch engine works position models out per milestone pattern (a table filled on first use), time decay by
  // pow2() from the deal's creation, and fitted models from ctx.fitted: the same figures as the per-deal path for any
  // custom weights (zeros included: unplaceable weight, linear fallback), any half-life (weights past 2^±900 are
  // recomputed from the last touch) and with both fitted models at once.
  const weightsArb = fc
    .array(fc.constantFrom<number>(0, 0, 1, 2, 3), { minLength: 6, maxLength: 6 })
    .filter((w) => w.some((x) => x > 0))
    .map((w) => {
      const s = w.reduce((a, b) => a + b, 0);
      const [first_touch, lead_creation, deal_creation, closed_won, last_touch, other] = w.map((x) => x / s) as [number, number, number, number, number, number];
      return { first_touch, lead_creation, deal_creation, closed_won, last_touch, other };
    });
  const rulesArb = fc.record({
    scope: scopeArb,
    custom: weightsArb,
    uShaped: fc.constantFrom<'hubspot' | 'marketo'>('hubspot', 'marketo'),
    halfLife: fc.constantFrom(1e-4, 0.01, 0.5, 7, 3650),
    untilClose: fc.boolean(),
  });
  const fitted = { markov: { github: 0.5, slack: 0.2, forum: 0 }, shapley: { events: 3, github: 1 } };

  it('the batch path agrees with the per-deal path for any position weights, half-life and fitted models', () => {
    fc.assert(
      fc.property(fc.array(caseArb, { minLength: 1, maxLength: 6 }), rulesArb, (cases, r) => {
        const rules = testRules((x) => ({
          ...x, scope: r.scope, window: { ...x.window, until_close: r.untilClose },
          models: { ...x.models, compare: [...x.models.compare, 'markov', 'shapley'], custom: r.custom, u_shaped: r.uShaped, time_decay_half_life_days: r.halfLife },
        }));
        const deals = cases.map((c, i) => ({ ...c.deal, id: `D${i}` }));
        const byDeal = new Map<string, Touch[]>(cases.map((c, i) => [`D${i}`, c.touches]));
        const batch = computeBatch(toColumnar(deals, byDeal, rules), rules, { fitted });
        deals.forEach((d, i) => {
          const one = computeDealInfluence(d, byDeal.get(d.id) ?? [], rules, { ...ctx, fitted });
          expect(batch.touchCount[i]).toBe(one.touchCount);
          expect(batch.score[i]).toBe(one.score);
          expect(batch.topChannel[i] === -1 ? null : batch.channels[batch.topChannel[i] ?? 0]).toBe(one.topChannel);
          batch.models.forEach((m, mi) => {
            batch.channels.forEach((ch, ci) => {
              const v = batch.credit[(i * batch.models.length + mi) * batch.channels.length + ci] ?? Number.NaN;
              expect(v).toBeCloseTo(one.creditByChannel[m]?.[ch] ?? 0, 9);
            });
          });
        });
      }),
      { numRuns: 200 },
    );
  });

  // After a refit the Worker re-credits stored results instead of loading every deal's touches again.
  const fitArb = fc.dictionary(fc.constantFrom('github', 'slack', 'forum', 'events', 'docs'), fc.constantFrom(0, 0.1, 0.25, 1, 3, 1e-9), { maxKeys: 5 });
  // The rules use markov, shapley or both (as primary or compared); with neither, re-crediting changes nothing.
  const fittedArb = fc.subarray(['markov', 'shapley'] as ('markov' | 'shapley')[]);
  it('re-crediting a stored result under a new fit equals computing the deal again with it', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom('markov', 'shapley', 'linear'), fittedArb, fitArb, fitArb, fitArb, fitArb, (c, primary, compared, m1, s1, m2, s2) => {
        const rules = testRules((x) => ({
          ...x, scope: c.scope,
          models: { ...x.models, primary, compare: [...x.models.compare.filter((m) => m !== primary), ...compared.filter((m) => m !== primary)] },
        }));
        const before = computeDealInfluence(c.deal, c.touches, rules, { ...ctx, fitted: { markov: m1, shapley: s1 } });
        const stored = JSON.parse(JSON.stringify(before)) as typeof before;
        const after = computeDealInfluence(c.deal, c.touches, rules, { ...ctx, fitted: { markov: m2, shapley: s2 } });
        expect(recredit(stored, rules, { markov: m2, shapley: s2 })).toEqual(after);
        // The stored result itself is left alone.
        expect(stored).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it('chunked runs into reused buffers equal one run over everything', () => {
    fc.assert(
      fc.property(fc.array(caseArb, { minLength: 2, maxLength: 8 }), scopeArb, fc.integer({ min: 1, max: 3 }), (cases, scope, chunk) => {
        const rules = rulesFor(scope);
        const deals = cases.map((c, i) => ({ ...c.deal, id: `D${i}` }));
        const input = toColumnar(deals, new Map<string, Touch[]>(cases.map((c, i) => [`D${i}`, c.touches])), rules);
        const whole = computeBatch(input, rules);
        const buf = allocBatch(chunk, whole.models, whole.channels);
        buf.credit.fill(7); // garbage from a "previous chunk" must be overwritten
        buf.score.fill(99);
        const MC = whole.models.length * whole.channels.length;
        for (let from = 0; from < deals.length; from += chunk) {
          const to = Math.min(deals.length, from + chunk);
          const part = computeBatch(input, rules, {}, { from, to, into: buf });
          for (let r = 0; r < to - from; r++) {
            expect(part.score[r]).toBe(whole.score[from + r]);
            expect(part.touchCount[r]).toBe(whole.touchCount[from + r]);
            expect(part.topChannel[r]).toBe(whole.topChannel[from + r]);
            expect([...part.credit.subarray(r * MC, (r + 1) * MC)]).toEqual([...whole.credit.subarray((from + r) * MC, (from + r + 1) * MC)]);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
