import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { dealRefreshAt, scoreDropsAt } from '../../src/attribution/aging';
import { computeDealInfluence } from '../../src/attribution/deal';
import { contactRefreshAt } from '../../src/attribution/people';
import { deal, touch } from '../../src/attribution/testkit';
import type { DealInfluence } from '../../src/attribution/types';
import { upsertContactInfluenceStmt, upsertDealInfluenceStmts } from '../../src/store/influence';
import { attributeStep } from '../../src/sync/stages/attribute';
import { touchesOf } from '../../src/sync/stages/touches';
import { shippedRules } from './helpers';

/**
 * Results that change with time alone, in the attribute stage over D1: open deals whose score fell since they were
 * stored are re-scored from their evidence (and the new score planned as a CRM write), contacts whose activity window
 * moved are recomputed. Nothing else is touched, and each refreshed result says when it is next due.
 */
const { rules, version, context } = await shippedRules();

const DAY = 86_400_000;
const NOW = Date.now();
const ago = (days: number) => new Date(NOW - days * DAY).toISOString();
const ctx = { evidenceBaseUrl: 'https://ci.test', rulesVersion: version };

/** A deal with three touches `lastDaysAgo` days ago and before, stored `storedDaysAgo` days ago. */
function stored(id: string, opts: { isClosed: boolean; lastDaysAgo: number; storedDaysAgo: number }) {
  const d = deal({ id, createdAt: ago(opts.lastDaysAgo + 5), isClosed: opts.isClosed, isWon: opts.isClosed, closedAt: opts.isClosed ? ago(opts.lastDaysAgo - 1) : null });
  const touches = ['github.issues.opened', 'slack.message', 'discourse.post.created'].map((type, k) => ({
    ...touch({ at: 0, type }), occurredAt: ago(opts.lastDaysAgo + 2 - k),
  }));
  const asOf = ago(opts.storedDaysAgo);
  const influence = computeDealInfluence(d, touches, rules, { ...ctx, asOf });
  return { d, touches, influence, row: { influence, deal: { created_at: d.createdAt, close_date: d.closedAt }, refreshAt: dealRefreshAt(influence, rules, asOf, d.closedAt), computedAt: asOf } };
}

describe('refreshing results that change with time alone', () => {
  it('re-scores the open deals that are due from their evidence, keeps computed_at, and plans the changed fields', async () => {
    // Due: stored the day after its last touch, 44 days ago; its score has fallen since.
    const due = stored('due', { isClosed: false, lastDaysAgo: 45, storedDaysAgo: 44 });
    // Not due: stored now, right after its last touch; its score falls later.
    const fresh = stored('fresh', { isClosed: false, lastDaysAgo: 0.5, storedDaysAgo: 0 });
    // Closed with the window ending at close: recency is measured at the close and never changes.
    const closed = stored('closed', { isClosed: true, lastDaysAgo: 45, storedDaysAgo: 44 });
    // Due, but stored under other rules: left to the recompute those rules' activation starts.
    const other = stored('other-rules', { isClosed: false, lastDaysAgo: 45, storedDaysAgo: 44 });
    other.row.influence = { ...other.influence, rulesVersion: 'sha256:other' };
    expect(Date.parse(due.row.refreshAt!)).toBeLessThan(NOW);
    expect(Date.parse(fresh.row.refreshAt!)).toBeGreaterThan(NOW);
    expect(closed.row.refreshAt).toBeNull();
    await env.DB.batch(upsertDealInfluenceStmts(env.DB, 'hubspot', [due.row, fresh.row, closed.row, other.row], ago(44)));

    const step = await attributeStep(context('run_refresh'), {});
    expect(step.stage).toBe('write');
    expect(step.counts).toMatchObject({ deals_rescored: 1 });
    expect(step.counts.deals_computed ?? 0).toBe(0);

    const rows = await env.DB.prepare(`SELECT deal_id, score, detail, refresh_at, computed_at FROM deal_influence WHERE crm = 'hubspot'`)
      .all<{ deal_id: string; score: number; detail: string; refresh_at: string | null; computed_at: string }>();
    const byId = new Map(rows.results.map((r) => [r.deal_id, r]));
    const rescored = byId.get('due')!;
    // What computing the deal again now gives (the step ran a moment after NOW; the score drops days apart).
    const now = computeDealInfluence(due.d, due.touches, rules, { ...ctx, asOf: new Date().toISOString() });
    expect(rescored.score).toBe(now.score);
    expect(rescored.score).toBeLessThan(due.influence.score);
    expect(JSON.parse(rescored.detail) as DealInfluence).toEqual(now);
    expect(rescored.computed_at).toBe(ago(44));
    // Due again on the hour after its score next drops, in the future.
    const drops = scoreDropsAt(now, rules, null);
    expect(drops).toBeGreaterThan(NOW);
    expect(rescored.refresh_at).toBe(new Date(Math.ceil(drops! / 3_600_000) * 3_600_000).toISOString());
    // The others are left as they were.
    for (const [id, s] of [['fresh', fresh], ['closed', closed], ['other-rules', other]] as const) {
      expect(byId.get(id)!.score, id).toBe(s.influence.score);
      expect(byId.get(id)!.refresh_at, id).toBe(s.row.refreshAt);
    }

    const writes = await env.DB.prepare(`SELECT crm_id, fields FROM sync_writes WHERE run_id = 'run_refresh'`).all<{ crm_id: string; fields: string }>();
    expect(writes.results.map((w) => w.crm_id)).toEqual(['due']);
    expect((JSON.parse(writes.results[0]!.fields) as Record<string, unknown>).community_influence_score).toBe(rescored.score);

    // Nothing is due any more: a second step does nothing.
    const again = await attributeStep(context('run_refresh_2'), {});
    expect(again.counts.deals_rescored ?? 0).toBe(0);
  });

  it('recomputes the contacts whose activity window moved, and says when each is next due', async () => {
    // A member linked to the contact, with one touch 100 days ago (out of the 90-day window now) and one 10 days ago.
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO members (id, created_at, updated_at) VALUES ('mem_r', ?1, ?1)`).bind(ago(200)),
      env.DB.prepare(`INSERT INTO identities (id, source, external_id, member_id, first_seen_at) VALUES (901, 'github', 'r', 'mem_r', ?1)`).bind(ago(200)),
      ...[100, 10].map((d, i) =>
        env.DB.prepare(
          `INSERT INTO activities (source, external_id, type, occurred_at, member_id, identity_id, origin, received_at)
           VALUES ('github', ?1, 'github.issues.opened', ?2, 'mem_r', 901, 'api', ?2)`,
        ).bind(`r${i}`, ago(d)),
      ),
      env.DB.prepare(
        `INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, created_at, updated_at)
         VALUES ('mem_r', 'hubspot', 'contact', 'c-due', 'manual', 'confirmed', 1, '[]', ?1, ?1)`,
      ).bind(ago(200)),
    ]);
    // Stored 20 days ago with both touches in the window; due when the older one left it, 10 days ago.
    const dueRow = { contactId: 'c-due', stage: 'engaged', lastActivityAt: ago(10), activityRecent: 2, channels: ['github'], refreshAt: ago(10) };
    const later = { ...dueRow, contactId: 'c-later', refreshAt: '2999-01-01T00:00:00.000Z' };
    await upsertContactInfluenceStmt(env.DB, 'hubspot', [dueRow, later], ago(20)).run();

    const step = await attributeStep(context('run_contacts'), {});
    expect(step.counts).toMatchObject({ contacts_refreshed: 1, contacts_computed: 1 });
    const rows = await env.DB.prepare(`SELECT contact_id, activity_recent, refresh_at FROM contact_influence WHERE crm = 'hubspot' ORDER BY contact_id`)
      .all<{ contact_id: string; activity_recent: number; refresh_at: string | null }>();
    // Now one touch is in the window; the contact is next due when that one leaves it (80 days on, on the hour).
    const touches = (await touchesOf(env.DB, 'hubspot', ['mem_r'])).get('mem_r') ?? [];
    expect(rows.results).toEqual([
      { contact_id: 'c-due', activity_recent: 1, refresh_at: contactRefreshAt(touches, rules, new Date().toISOString()) },
      { contact_id: 'c-later', activity_recent: 2, refresh_at: '2999-01-01T00:00:00.000Z' },
    ]);
    expect(Date.parse(rows.results[0]!.refresh_at!)).toBeGreaterThan(NOW + 79 * DAY);
  });
});
