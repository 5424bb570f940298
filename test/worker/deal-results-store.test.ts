import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { computeDealInfluence } from '../../src/attribution/deal';
import { deal, testRules, touch } from '../../src/attribution/testkit';
import { upsertDealInfluenceStmts } from '../../src/store/influence';

/** Deal results are bound as JSON, and D1 takes a bound string of at most 2 MB: big results are split over statements. */
describe('storing deal results', () => {
  it('binds an ordinary chunk in one statement and splits one whose evidence would pass D1\'s limit', async () => {
    const rules = testRules();
    const ctx = { evidenceBaseUrl: 'https://ci.test', rulesVersion: 'v' };
    // 120 touches with long titles: about 250 KB of evidence per deal.
    const big = (id: string) => {
      const d = deal({ id });
      const touches = Array.from({ length: 120 }, (_, k) => touch({ at: -20 + k / 10, type: 'github.issues.opened', title: `${id} ${'x'.repeat(2000)} ${k}` }));
      return { influence: computeDealInfluence(d, touches, rules, ctx), deal: { created_at: d.createdAt, close_date: d.closedAt }, refreshAt: null };
    };
    const small = Array.from({ length: 50 }, (_, i) => {
      const d = deal({ id: `s${i}` });
      return { influence: computeDealInfluence(d, [touch({ at: -1 })], rules, ctx), deal: { created_at: d.createdAt, close_date: d.closedAt }, refreshAt: null };
    });
    expect(upsertDealInfluenceStmts(env.DB, 'hubspot', small, 'now')).toHaveLength(1);

    const rows = ['b1', 'b2', 'b3', 'b4', 'b5'].map(big);
    expect(JSON.stringify(rows.map((r) => r.influence)).length).toBeGreaterThan(1_000_000);
    const stmts = upsertDealInfluenceStmts(env.DB, 'hubspot', rows, '2026-11-25T00:00:00.000Z');
    expect(stmts.length).toBeGreaterThan(1);
    await env.DB.batch(stmts);
    const stored = await env.DB.prepare(`SELECT deal_id, length(detail) AS n FROM deal_influence WHERE crm = 'hubspot' AND deal_id LIKE 'b%' ORDER BY deal_id`)
      .all<{ deal_id: string; n: number }>();
    expect(stored.results.map((r) => r.deal_id)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
    for (const r of stored.results) expect(r.n).toBeGreaterThan(200_000);
  });
});
