import { describe, expect, it } from 'vitest';
import { computeDealInfluence } from './deal';
import { boundedEvidence } from './evidence';
import { deal, testRules, touch } from './testkit';

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
    expect({ ...bounded, evidence: [], evidenceOmitted: undefined }).toEqual({ ...full, evidence: [] });
  });
});
