import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { dealRefreshAt } from '../../src/attribution/aging';
import { computeDealInfluence } from '../../src/attribution/deal';
import { deal, touch } from '../../src/attribution/testkit';
import type { DealInfluence } from '../../src/attribution/types';
import { loadConfig } from '../../src/env';
import { loadRules, parseFieldMapping } from '../../src/rules';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import { upsertContactInfluenceStmt, upsertDealInfluenceStmt } from '../../src/store/influence';
import type { RunContext } from '../../src/sync/context';
import { attributeStep } from '../../src/sync/stages/attribute';

/**
 * Results that change with time alone, in the attribute stage over D1: open deals whose score fell since they were
 * stored are re-scored from their evidence (and the new score planned as a CRM write), contacts whose activity window
 * moved are recomputed. Nothing else is touched.
 */
const loaded = await loadRules(BUNDLED_MAPPINGS.rules);
if (!loaded.ok) throw new Error('rules invalid');
const { rules, version } = loaded.value;
const mapping = parseFieldMapping(BUNDLED_MAPPINGS.hubspot, 'hubspot.yaml');
if (!mapping.ok) throw new Error('mapping invalid');

const context = (runId: string): RunContext =>
  ({
    env, db: env.DB, config: loadConfig(env), crm: 'hubspot', ownsDeals: true, run: { id: runId },
    active: { rules, rulesVersion: version, mappings: { hubspot: mapping.value }, identity: {} }, spent: () => false,
  }) as unknown as RunContext;

const STORED_AT = '2025-03-10T00:00:00.000Z';
const row = (id: string, isClosed: boolean) => {
  // Computed (and stored) right after a burst of activity; looked at again long after, with nothing new since.
  const d = deal({ id, isClosed, isWon: isClosed, closedAt: isClosed ? '2025-03-09T00:00:00.000Z' : null });
  const ts = ['github.issues.opened', 'slack.message', 'discourse.post.created'].map((type, k) => touch({ at: 1 + k, type }));
  const influence = computeDealInfluence(d, ts, rules, { evidenceBaseUrl: 'https://ci.test', rulesVersion: version, asOf: STORED_AT });
  return { influence, deal: { created_at: d.createdAt, close_date: d.closedAt }, refreshAt: dealRefreshAt(influence, rules, STORED_AT, d.closedAt) };
};

describe('refreshing results that change with time alone', () => {
  it('re-scores the open deals that are due from their evidence, keeps computed_at, and plans the changed fields', async () => {
    const open = row('open', false);
    const closed = row('closed', true);
    const other = { ...row('other-rules', false), influence: { ...row('other-rules', false).influence, rulesVersion: 'sha256:other' } };
    expect(open.refreshAt).not.toBeNull();
    expect(closed.refreshAt).toBeNull(); // recency is measured at the close
    await upsertDealInfluenceStmt(env.DB, 'hubspot', [open, closed, other], STORED_AT).run();

    const step = await attributeStep(context('run_refresh'), {});
    expect(step.stage).toBe('write');
    expect(step.counts).toMatchObject({ deals_rescored: 1 });
    expect(step.counts.deals_computed ?? 0).toBe(0);

    const rows = await env.DB.prepare(`SELECT deal_id, score, detail, refresh_at, computed_at FROM deal_influence WHERE crm = 'hubspot' ORDER BY deal_id`)
      .all<{ deal_id: string; score: number; detail: string; refresh_at: string | null; computed_at: string }>();
    const byId = new Map(rows.results.map((r) => [r.deal_id, r]));
    const now = Date.now();
    const rescored = byId.get('open')!;
    // A year and more without activity: the recency part of the score is gone.
    expect(rescored.score).toBeLessThan(open.influence.score);
    expect((JSON.parse(rescored.detail) as DealInfluence).score).toBe(rescored.score);
    expect(rescored.computed_at).toBe(STORED_AT);
    // Due again only when the score next changes, never at once (null: it has no further to fall).
    if (rescored.refresh_at !== null) expect(Date.parse(rescored.refresh_at)).toBeGreaterThan(now);
    // The closed deal and the result under other rules are left as they were.
    expect(byId.get('closed')!.score).toBe(closed.influence.score);
    expect(byId.get('other-rules')!.score).toBe(other.influence.score);

    const writes = await env.DB.prepare(`SELECT crm_id, fields FROM sync_writes WHERE run_id = 'run_refresh'`).all<{ crm_id: string; fields: string }>();
    expect(writes.results.map((w) => w.crm_id)).toContain('open');
    const fields = JSON.parse(writes.results.find((w) => w.crm_id === 'open')!.fields) as Record<string, unknown>;
    expect(fields.community_influence_score).toBe(rescored.score);

    // Nothing is due any more: a second step does nothing.
    const again = await attributeStep(context('run_refresh_2'), {});
    expect(again.counts.deals_rescored ?? 0).toBe(0);
  });

  it('recomputes contacts whose activity window moved', async () => {
    const stale = { contactId: 'c-stale', stage: 'engaged', lastActivityAt: '2025-03-01T00:00:00.000Z', activityRecent: 4, channels: ['github'], refreshAt: '2025-05-30T00:00:00.001Z' };
    const later = { ...stale, contactId: 'c-later', refreshAt: '2999-01-01T00:00:00.000Z' };
    await upsertContactInfluenceStmt(env.DB, 'hubspot', [stale, later], STORED_AT).run();
    const step = await attributeStep(context('run_contacts'), {});
    expect(step.counts).toMatchObject({ contacts_refreshed: 1, contacts_computed: 1 });
    const rows = await env.DB.prepare(`SELECT contact_id, activity_recent, refresh_at FROM contact_influence WHERE crm = 'hubspot' ORDER BY contact_id`)
      .all<{ contact_id: string; activity_recent: number; refresh_at: string | null }>();
    // The due contact has no linked member's activity in the window any more; the other is not due yet.
    expect(rows.results).toEqual([
      { contact_id: 'c-later', activity_recent: 4, refresh_at: '2999-01-01T00:00:00.000Z' },
      { contact_id: 'c-stale', activity_recent: 0, refresh_at: null },
    ]);
  });
});
