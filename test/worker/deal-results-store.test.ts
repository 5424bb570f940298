import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { computeDealInfluence } from '../../src/attribution/deal';
import { deal, testRules, touch } from '../../src/attribution/testkit';
import type { DealInfluence } from '../../src/attribution/types';
import { loadConfig } from '../../src/env';
import { upsertDealInfluenceStmts } from '../../src/store/influence';
import { loadReport } from '../../src/store/reports';
import type { RunContext } from '../../src/sync/context';
import { attributeStep } from '../../src/sync/stages/attribute';
import { dueDealsChunk } from '../../src/sync/stages/stored';

/**
 * Deal results are bound as JSON, and D1 takes a bound string and a row of at most 2 MB: big chunks are split over
 * statements, and a result too big to keep whole keeps its evidence's most credited touches.
 */
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

  it('keeps a result too big to store whole, with its full journey, and recomputes it instead of re-scoring it', async () => {
    const rules = testRules();
    const d = deal({ id: 'huge', isClosed: false, closedAt: null });
    // 3,000 touches in the window by 5 members, one in ten at one of 3 meetups: about 2 MB of evidence, more than D1
    // keeps in a row.
    const touches = Array.from({ length: 3000 }, (_, k) =>
      k % 10 === 0
        ? touch({ at: -29 + k / 110, type: 'events.attended', memberId: `hm${k % 5}`, title: `Meetup ${k % 3}` })
        : touch({ at: -29 + k / 110, type: 'github.pull_request.merged', memberId: `hm${k % 5}`, url: `https://github.com/acme/widgets/pull/${k}`, title: `Fix crash when parsing config #${k} ${'y'.repeat(60)}` }),
    );
    const influence = computeDealInfluence(d, touches, rules, { evidenceBaseUrl: 'https://ci.test', rulesVersion: 'v' });
    expect(JSON.stringify(influence).length).toBeGreaterThan(1_500_000);
    await env.DB.batch(upsertDealInfluenceStmts(env.DB, 'hubspot', [{ influence, deal: { created_at: d.createdAt, close_date: null }, refreshAt: '2000-01-01T00:00:00.000Z' }], 'then'));
    const row = await env.DB.prepare(`SELECT length(detail) AS n, detail, journey FROM deal_influence WHERE crm = 'hubspot' AND deal_id = 'huge'`).first<{ n: number; detail: string; journey: string }>();
    expect(row!.n).toBeLessThanOrEqual(400_000);
    const stored = JSON.parse(row!.detail) as DealInfluence;
    expect(stored.evidenceOmitted).toBeGreaterThan(2000);
    expect(stored.evidence.length + stored.evidenceOmitted!).toBe(3000);
    expect(stored.touchCount).toBe(3000);
    expect((JSON.parse(row!.journey) as string[]).length).toBe(3000);

    // The reports still credit every touch: those left out are summed per activity type, event and member.
    const report = await loadReport(env.DB, { from: null, to: null, pipeline: null, currency: null, model: 'linear' });
    const merged = report.byType.find((r) => r.activity_type === 'github.pull_request.merged')!;
    const attended = report.byType.find((r) => r.activity_type === 'events.attended')!;
    expect([merged.touches, attended.touches]).toEqual([2700, 300]);
    expect(merged.pipeline + attended.pipeline).toBeCloseTo(1000, 6);
    expect(attended.pipeline).toBeCloseTo(100, 6);
    const members = report.byMember.filter((r) => r.member_id.startsWith('hm'));
    expect(members.map((r) => [r.member_id, r.touches, Math.round(r.pipeline * 1e6) / 1e6]).sort()).toEqual(
      ['hm0', 'hm1', 'hm2', 'hm3', 'hm4'].map((m) => [m, 600, 200]),
    );
    expect(report.byEvent.map((r) => [r.event, r.touches]).sort()).toEqual([['Meetup 0', 100], ['Meetup 1', 100], ['Meetup 2', 100]]);

    // Due for a refresh, it cannot be re-scored from evidence it no longer has: it is marked to be computed from its touches.
    const ctx = {
      env, db: env.DB, config: loadConfig(env), crm: 'hubspot', ownsDeals: true, run: { id: 'run_huge' },
      active: { rules, rulesVersion: 'v', mappings: {}, identity: {}, activatedAt: '9999-12-31T23:59:59.999Z' }, spent: () => false,
    } as unknown as RunContext;
    expect(await dueDealsChunk(ctx)).toEqual({ deals_rescored: 0, writes_planned: 0, deals_requeued: 1 });
    const dirty = await env.DB.prepare(`SELECT ref FROM sync_dirty WHERE crm = 'hubspot' AND kind = 'deal'`).all<{ ref: string }>();
    expect(dirty.results.map((r) => r.ref)).toEqual(['huge']);

    // Its deal is not in the CRM mirror here: the step that takes it up cannot compute it, and it is not requeued again.
    const step = await attributeStep(ctx, {});
    expect(step.counts.deals_requeued ?? 0).toBe(0);
    const after = await env.DB.prepare(`SELECT refresh_at FROM deal_influence WHERE crm = 'hubspot' AND deal_id = 'huge'`).first<{ refresh_at: string | null }>();
    expect(after!.refresh_at).toBeNull();
    expect(await dueDealsChunk(ctx)).toBeNull();
  });
});
