import { describe, expect, it } from 'vitest';
import { computeDealInfluence } from './deal';
import { boundedEvidence } from './evidence';
import { deal, testRules, touch } from './testkit';
import type { DealInfluence } from './types';

const ctx = { evidenceBaseUrl: 'https://x', rulesVersion: 'v' };
const rules = testRules((r) => ({ ...r, models: { ...r.models, primary: 'time_decay' } }));

describe('evidence bounded for storage', () => {
  const d = deal();
  const touches = Array.from({ length: 400 }, (_, k) =>
    touch({ at: -29 + k * 0.12, type: k % 3 ? 'github.issues.opened' : 'slack.message', title: `touch ${k} ${'x'.repeat(k % 7 === 0 ? 900 : 40)}` }),
  );
  const full = computeDealInfluence(d, touches, rules, ctx);

  it('leaves a result that fits alone', () => {
    expect(boundedEvidence(full, JSON.stringify(full).length)).toBe(full);
  });

  it('keeps the touches with the most credit under the primary model, in journey order, within the size', () => {
    const max = Math.floor(JSON.stringify(full).length / 3);
    const bounded = boundedEvidence(full, max);
    expect(JSON.stringify(bounded).length).toBeLessThanOrEqual(max);
    expect(bounded.evidenceOmitted).toBeGreaterThan(0);
    expect(bounded.evidence.length + bounded.evidenceOmitted!).toBe(full.evidence.length);
    // Journey order kept: the kept touches are a subsequence of the full evidence.
    const position = new Map(full.evidence.map((e, i) => [e.touchId, i]));
    const kept = bounded.evidence.map((e) => position.get(e.touchId)!);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    // Nothing left out has more credit than anything kept (time decay: the latest touches).
    const keptIds = new Set(bounded.evidence.map((e) => e.touchId));
    const least = Math.min(...bounded.evidence.map((e) => e.credit.time_decay ?? 0));
    for (const e of full.evidence) if (!keptIds.has(e.touchId)) expect(e.credit.time_decay ?? 0).toBeLessThanOrEqual(least);
    // Every figure still counts every touch.
    expect({ ...bounded, evidence: [], evidenceOmitted: undefined, evidenceRest: undefined }).toEqual({ ...full, evidence: [] });
  });

  /** Touches and credit per model, summed by a key, over the evidence and the rest. */
  function sums(inf: DealInfluence, key: (e: { type: string; channel: string; memberId: string | null; title: string | null }) => string) {
    const out = new Map<string, { touches: number; credit: Record<string, number> }>();
    const add = (k: string, n: number, credit: Partial<Record<string, number>>) => {
      const s = out.get(k) ?? { touches: 0, credit: {} };
      s.touches += n;
      for (const [m, v] of Object.entries(credit)) s.credit[m] = (s.credit[m] ?? 0) + (v ?? 0);
      out.set(k, s);
    };
    for (const e of inf.evidence) add(key({ ...e, title: e.channel === 'events' ? (e.title ?? e.url) : null }), 1, e.credit);
    for (const r of inf.evidenceRest ?? []) add(key(r), r.touches, r.credit);
    return out;
  }
  function expectSameSums(a: ReturnType<typeof sums>, b: ReturnType<typeof sums>) {
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [k, v] of a) {
      expect(v.touches, k).toBe(b.get(k)!.touches);
      for (const [m, c] of Object.entries(v.credit)) expect(c, `${k} ${m}`).toBeCloseTo(b.get(k)!.credit[m]!, 12);
    }
  }

  it('sums the touches left out per activity type, event and member, so reports still credit every touch', () => {
    const many = Array.from({ length: 600 }, (_, k) =>
      touch({ at: -29 + k * 0.04, memberId: `m${k % 7}`, type: k % 4 ? 'github.issues.opened' : 'events.attended', title: k % 4 ? `issue ${k} ${'x'.repeat(300)}` : `Meetup ${k % 3}` }),
    );
    const whole = computeDealInfluence(d, many, rules, ctx);
    const max = Math.floor(JSON.stringify(whole).length / 4);
    const bounded = boundedEvidence(whole, max);
    expect(JSON.stringify(bounded).length).toBeLessThanOrEqual(max);
    expect(bounded.evidenceOmitted).toBeGreaterThan(300);
    expect(bounded.evidenceRest!.every((r) => r.memberId !== null)).toBe(true);
    for (const key of [(e: { type: string }) => e.type, (e: { memberId: string | null }) => e.memberId ?? '', (e: { title: string | null }) => e.title ?? '']) {
      expectSameSums(sums(bounded, key), sums(whole, key));
    }
  });

  it('sums every member together when even the groups per member would not fit, and never passes the size', () => {
    const crowd = Array.from({ length: 800 }, (_, k) => touch({ at: -29 + k * 0.03, memberId: `member-with-a-long-id-${k}`, type: k % 2 ? 'slack.message' : 'github.issues.opened' }));
    const whole = computeDealInfluence(d, crowd, rules, ctx);
    const max = Math.floor(JSON.stringify(whole).length / 8);
    const bounded = boundedEvidence(whole, max);
    expect(JSON.stringify(bounded).length).toBeLessThanOrEqual(max);
    expect(bounded.evidence).toEqual([]);
    expect(bounded.evidenceRest!.map((r) => [r.type, r.memberId, r.touches]).sort()).toEqual([['github.issues.opened', null, 400], ['slack.message', null, 400]]);
    expectSameSums(sums(bounded, (e) => e.type), sums(whole, (e) => e.type));
  });
});
