import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dealRefreshAt, MIN_REFRESH_MS, needsTouches, REFRESH_SLOT_MS, refreshSlot, rescore, scoreDropsAt } from './aging';
import { computeDealInfluence } from './deal';
import { companyRefreshAt, computeCompanyInfluence, computeContactInfluence, contactRefreshAt } from './people';
import { DAY, day, deal, iso, T0, testRules, touch } from './testkit';
import type { Rules } from '../rules/schema';

const ctx = { evidenceBaseUrl: 'https://x', rulesVersion: 'v' };
const rules = testRules();
const TYPES = ['github.star', 'github.pull_request.merged', 'slack.message', 'discourse.post.created', 'events.attended', 'webinar.attended'];

const caseArb = fc.record({
  closed: fc.boolean(),
  won: fc.boolean(),
  untilClose: fc.boolean(),
  // A minimum score makes "influenced" (and so the attributed amounts) depend on time too: this many points below the
  // score when stored, so that falling scores cross it.
  minScoreBelow: fc.integer({ min: 0, max: 3 }),
  touches: fc.array(
    fc.record({ at: fc.integer({ min: -29 * 24, max: 19 * 24 }).map((h) => h / 24), type: fc.constantFrom(...TYPES), memberId: fc.constantFrom('m1', 'm2', 'm3') }),
    { maxLength: 8 },
  ),
  // "Now" when the result was stored, and how much later it is looked at again.
  asOfDay: fc.integer({ min: 20, max: 120 }),
  laterDays: fc.double({ min: 0, max: 400, noNaN: true }),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function setup(c: Case) {
  const d = deal({ isClosed: c.closed, isWon: c.closed && c.won, closedAt: c.closed ? day(20) : null });
  const touches = c.touches.map((t) => touch(t));
  const windowed: Rules = { ...rules, window: { ...rules.window, until_close: c.untilClose } };
  const stored = computeDealInfluence(d, touches, windowed, { ...ctx, asOf: day(c.asOfDay) }).score;
  const min_score = Math.max(0, stored - c.minScoreBelow);
  const r: Rules = { ...windowed, definitions: { ...rules.definitions, influenced: { ...rules.definitions.influenced, min_score } } };
  const at = (ms: number) => computeDealInfluence(d, touches, r, { ...ctx, asOf: iso(ms) });
  return { r, d, at };
}

describe('results that change with time alone', () => {
  it('re-scoring a stored result at a later time equals computing the deal again then', () => {
    let flipped = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        const { r, d, at } = setup(c);
        const then = T0 + c.asOfDay * DAY;
        const later = then + c.laterDays * DAY;
        const stored = JSON.parse(JSON.stringify(at(then))) as ReturnType<typeof at>;
        const fresh = at(later);
        expect(rescore(stored, r, iso(later), d.closedAt)).toEqual(fresh);
        if (fresh.influenced !== stored.influenced) flipped++;
      }),
      { numRuns: 500 },
    );
    // Some cases stop counting as influenced as the score falls.
    expect(flipped).toBeGreaterThan(3);
  });

  it('the score drops a point when scoreDropsAt says (to the millisecond), and never when it says none', () => {
    let changing = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        const { r, d, at } = setup(c);
        const then = T0 + c.asOfDay * DAY;
        const stored = at(then);
        const drops = scoreDropsAt(stored, r, d.closedAt);
        const refresh = dealRefreshAt(stored, r, iso(then), d.closedAt);
        if (drops === null) {
          expect(refresh).toBeNull();
          expect(at(then + 10 * 365 * DAY).score).toBe(stored.score);
          return;
        }
        // Refreshed on the hour at or after the drop, and never within a minute of the computation.
        const t = Date.parse(refresh!);
        expect(t % REFRESH_SLOT_MS).toBe(0);
        expect(t).toBeGreaterThanOrEqual(Math.max(drops, then + MIN_REFRESH_MS));
        expect(t).toBeLessThan(Math.max(drops, then + MIN_REFRESH_MS) + REFRESH_SLOT_MS);
        if (drops <= then) return; // already due when computed (at the rounding edge): refreshed as soon as allowed
        changing++;
        expect(at(drops - 2).score).toBe(stored.score);
        expect(at(drops + 1).score).toBe(stored.score - 1);
      }),
      { numRuns: 300 },
    );
    expect(changing).toBeGreaterThan(50);
  });

  it('a closed deal whose window ends at close never needs a refresh', () => {
    const d = deal({ isClosed: true, closedAt: day(20) });
    const inf = computeDealInfluence(d, [touch({ at: 1 })], rules, { ...ctx, asOf: day(30) });
    expect(dealRefreshAt(inf, rules, day(30), d.closedAt)).toBeNull();
    expect(rescore(inf, rules, day(300), d.closedAt)).toBe(inf);
  });

  it("a contact's refresh time is when its oldest touch in the activity window leaves it", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -200, max: 0 }), { maxLength: 6 }), fc.integer({ min: 0, max: 100 }), (days, nowDay) => {
        const touches = days.map((x) => touch({ at: x }));
        const now = day(nowDay);
        const count = (t: number) => computeContactInfluence('c1', touches, rules, iso(t)).activityRecent;
        const refresh = contactRefreshAt(touches, rules, now);
        if (refresh === null) {
          expect(count(Date.parse(now))).toBe(0);
          return;
        }
        // On the hour after the oldest touch in the window leaves it: before, the count is as it was; then, lower.
        const t = Date.parse(refresh);
        expect(t % REFRESH_SLOT_MS).toBe(0);
        expect(t).toBeGreaterThan(Date.parse(now));
        expect(count(Math.max(Date.parse(now), t - REFRESH_SLOT_MS))).toBe(count(Date.parse(now)));
        expect(count(t)).toBeLessThan(count(Date.parse(now)));
      }),
      { numRuns: 200 },
    );
  });

  describe('touches dated in the future when they arrive (clock skew, a date typed wrong)', () => {
    const futureArb = fc.record({
      asOfDay: fc.integer({ min: 1, max: 15 }),
      // Days after "now" of the future touches, and of ordinary ones before it.
      future: fc.array(fc.double({ min: 0.001, max: 30, noNaN: true }), { minLength: 1, maxLength: 3 }),
      past: fc.array(fc.integer({ min: -25, max: 0 }), { maxLength: 4 }),
      laterDays: fc.double({ min: 0, max: 40, noNaN: true }),
    });

    it('an open deal counts such a touch from its time: until then re-scoring equals recomputing, from then it needs its touches', () => {
      let cameDue = 0;
      fc.assert(
        fc.property(futureArb, (c) => {
          const d = deal({ isClosed: false, isWon: false, closedAt: null });
          const then = T0 + c.asOfDay * DAY;
          const touches = [...c.past.map((x) => touch({ at: c.asOfDay + x })), ...c.future.map((x) => touch({ at: c.asOfDay + x, type: 'slack.message' }))];
          const at = (ms: number) => computeDealInfluence(d, touches, rules, { ...ctx, asOf: iso(ms) });
          const stored = JSON.parse(JSON.stringify(at(then))) as ReturnType<typeof at>;
          const next = then + Math.min(...c.future) * DAY;
          expect(Date.parse(stored.nextTouchAt!)).toBe(Date.parse(iso(next)));
          // Refreshed in the hour slot of the touch's time, or of the score's next drop if that comes first.
          const due = Math.min(scoreDropsAt(stored, rules, null) ?? Number.POSITIVE_INFINITY, Date.parse(stored.nextTouchAt!));
          expect(dealRefreshAt(stored, rules, iso(then), null)).toBe(refreshSlot(due, then));
          // A millisecond before the touch's time the result still stands on its own.
          const before = Date.parse(stored.nextTouchAt!) - 1;
          expect(needsTouches(stored, iso(before))).toBe(false);
          expect(rescore(stored, rules, iso(before), null)).toEqual(at(before));
          const later = then + c.laterDays * DAY;
          if (later < Date.parse(stored.nextTouchAt!)) {
            expect(needsTouches(stored, iso(later))).toBe(false);
            expect(rescore(stored, rules, iso(later), null)).toEqual(at(later));
          } else {
            cameDue++;
            expect(needsTouches(stored, iso(later))).toBe(true);
            // What the recompute then finds: the touch counts.
            expect(at(later).touchCount).toBeGreaterThan(stored.touchCount);
          }
        }),
        { numRuns: 300 },
      );
      expect(cameDue).toBeGreaterThan(20);
    });

    it('a closed deal waits only for a touch before its close, and one whose window ends at creation for none', () => {
      const touches = [touch({ at: 1 }), touch({ at: 40 })];
      const closed = computeDealInfluence(deal(), touches, rules, { ...ctx, asOf: day(30) });
      expect(closed.nextTouchAt).toBeUndefined();
      // Closed with a close date ahead of now: a touch between now and the close counts from its time, not before.
      const ahead = deal({ closedAt: day(45) });
      const early = computeDealInfluence(ahead, touches, rules, { ...ctx, asOf: day(30) });
      expect([early.touchCount, early.nextTouchAt]).toEqual([1, day(40)]);
      expect(dealRefreshAt(early, rules, day(30), ahead.closedAt)).toBe(refreshSlot(T0 + 40 * DAY, T0 + 30 * DAY));
      expect(computeDealInfluence(ahead, touches, rules, { ...ctx, asOf: day(41) }).touchCount).toBe(2);
      const atCreation: Rules = { ...rules, window: { ...rules.window, until_close: false } };
      const open = deal({ isClosed: false, isWon: false, closedAt: null });
      expect(computeDealInfluence(open, touches, atCreation, { ...ctx, asOf: day(30) }).nextTouchAt).toBeUndefined();
      // Out of scope or excluded touches are not waited for either.
      const other = [
        touch({ at: 40, contactIds: ['someone-else'] }), touch({ at: 40, isBot: true }), touch({ at: 40, isStaff: true }),
        touch({ at: 40, memberId: 'm_excluded' }), touch({ at: 40, type: 'slack.reaction_added' }),
      ];
      expect(computeDealInfluence(open, other, rules, { ...ctx, asOf: day(30) }).nextTouchAt).toBeUndefined();
      // With scope: account, a touch by someone at the deal's company at the time is waited for; at another, not.
      const account: Rules = { ...rules, scope: 'account' };
      const byCompany = [touch({ at: 40, contactIds: [], companyId: 'co1' }), touch({ at: 35, contactIds: [], companyId: 'co2' })];
      expect(computeDealInfluence(open, byCompany, account, { ...ctx, asOf: day(30) }).nextTouchAt).toBe(day(40));
      expect(computeDealInfluence(open, byCompany, rules, { ...ctx, asOf: day(30) }).nextTouchAt).toBeUndefined();
    });

    it("a contact's and a company's figures change when such a touch comes due, and they are refreshed by then", () => {
      fc.assert(
        fc.property(futureArb, (c) => {
          const now = T0 + c.asOfDay * DAY;
          const touches = [...c.past.map((x) => touch({ at: c.asOfDay + x })), ...c.future.map((x) => touch({ at: c.asOfDay + x }))];
          const next = now + Math.min(...c.future) * DAY;
          const due = Math.ceil(Math.max(next, now + MIN_REFRESH_MS) / REFRESH_SLOT_MS) * REFRESH_SLOT_MS;
          const contact = (t: number) => computeContactInfluence('c1', touches, rules, iso(t));
          const company = (t: number) => computeCompanyInfluence('co1', touches, rules, iso(t));
          const refresh = Date.parse(contactRefreshAt(touches, rules, iso(now))!);
          expect(refresh).toBeLessThanOrEqual(due);
          // Refreshed in the slot of its first change: something changed by then, nothing an hour before.
          const changed = (t: number) => JSON.stringify(contact(t)) !== JSON.stringify(contact(now));
          expect(changed(refresh)).toBe(true);
          expect(changed(Math.max(now, refresh - REFRESH_SLOT_MS))).toBe(false);
          expect(companyRefreshAt('co1', touches, rules, iso(now))).toBe(refreshSlot(next, now));
          expect(Date.parse(companyRefreshAt('co1', touches, rules, iso(now))!)).toBe(due);
          expect(contact(due).lastActivityAt).not.toBe(contact(now).lastActivityAt);
          expect(company(due).activityCount).toBeGreaterThan(company(now).activityCount);
          // Another company's touches are not waited for.
          expect(companyRefreshAt('co2', touches, rules, iso(now))).toBeNull();
        }),
        { numRuns: 200 },
      );
    });
  });
});
