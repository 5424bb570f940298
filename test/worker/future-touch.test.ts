import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { dealRefreshAt } from '../../src/attribution/aging';
import { computeDealInfluence } from '../../src/attribution/deal';
import { companyRefreshAt, computeCompanyInfluence, computeContactInfluence, contactRefreshAt } from '../../src/attribution/people';
import type { DealInfluence } from '../../src/attribution/types';
import { loadConfig } from '../../src/env';
import { upsertCompanyInfluenceStmt, upsertContactInfluenceStmt, upsertDealInfluenceStmts } from '../../src/store/influence';
import type { RunContext } from '../../src/sync/context';
import { loadActiveConfig } from '../../src/sync/config';
import { resolverFor } from '../../src/sync/context';
import { attributeStep, loadDealInputs } from '../../src/sync/stages/attribute';
import { resolveStep } from '../../src/sync/stages/resolve';
import { recreditChunk } from '../../src/sync/stages/stored';
import { touchesOf } from '../../src/sync/stages/touches';
import { shippedRules } from './helpers';

/**
 * A touch dated in the future when it arrived (clock skew, a date typed wrong) counts from its own time. Nothing else
 * may change the deal, contact or company by then, so their stored results say when it comes due, and the attribute
 * stage computes them again from their touches at that time (a deal's stored evidence cannot gain a touch).
 */
const { rules, version, context } = await shippedRules();

const DAY = 86_400_000;
const NOW = Date.now();
const ago = (days: number) => new Date(NOW - days * DAY).toISOString();
const ctx = { evidenceBaseUrl: 'https://ci.test', rulesVersion: version };

/**
 * One member linked to contact c-f of company co-f, on open deal d-f: a touch 3 days ago and one 2.4 hours ago, which
 * was still in the future a day ago, when the results below were stored. Seeded once (the file's tests share D1).
 */
let seeded: Promise<unknown> | undefined;
const seed = () => (seeded ??= env.DB.batch([
    env.DB.prepare(`INSERT INTO members (id, created_at, updated_at) VALUES ('mem_f', ?1, ?1)`).bind(ago(30)),
    env.DB.prepare(`INSERT INTO identities (id, source, external_id, member_id, first_seen_at) VALUES (951, 'github', 'f', 'mem_f', ?1)`).bind(ago(30)),
    ...([[3, 'github.issues.opened'], [0.1, 'slack.message']] as const).map(([d, type], i) =>
      env.DB.prepare(
        `INSERT INTO activities (source, external_id, type, occurred_at, member_id, identity_id, origin, received_at)
         VALUES ('github', ?1, ?2, ?3, 'mem_f', 951, 'api', ?4)`,
      ).bind(`f${i}`, type, ago(d), ago(Math.max(d, 1))),
    ),
    env.DB.prepare(`INSERT INTO crm_companies (crm, crm_id, name, domain, created_at, updated_at) VALUES ('hubspot', 'co-f', 'Future Inc', 'future.example', ?1, ?1)`).bind(ago(60)),
    env.DB.prepare(`INSERT INTO crm_contacts (crm, crm_id, kind, email, company_id, created_at, updated_at) VALUES ('hubspot', 'c-f', 'contact', 'f@future.example', 'co-f', ?1, ?1)`).bind(ago(20)),
    env.DB.prepare(
      `INSERT INTO crm_deals (crm, crm_id, name, amount, currency, company_id, created_at, is_closed, is_won, updated_at)
       VALUES ('hubspot', 'd-f', 'Future deal', 5000, 'USD', 'co-f', ?1, 0, 0, ?1)`,
    ).bind(ago(10)),
    env.DB.prepare(`INSERT INTO crm_deal_contacts (crm, deal_id, contact_id, is_primary) VALUES ('hubspot', 'd-f', 'c-f', 1)`),
    env.DB.prepare(
      `INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, decided_by, created_at, updated_at)
       VALUES ('mem_f', 'hubspot', 'contact', 'c-f', 'manual', 'confirmed', 1, '[]', 'test:revops', ?1, ?1)`,
    ).bind(ago(30)),
  ]));

describe('a touch dated in the future when it arrived', () => {
  it('is counted once its time comes: the deal is computed again from its touches, not re-scored', async () => {
    await seed();
    const inputs = await loadDealInputs(env.DB, 'hubspot', ['d-f'], false);
    const deal = inputs.deals[0]!;
    const touches = inputs.candidates.get('d-f') ?? [];
    // Stored a day ago: the newer touch was in the future then, so it was left out and the result waits for it.
    const then = ago(1);
    const old = computeDealInfluence(deal, touches, rules, { ...ctx, asOf: then });
    expect(old.touchCount).toBe(1);
    expect(old.nextTouchAt).toBe(ago(0.1));
    const refreshAt = dealRefreshAt(old, rules, then, null);
    expect(Date.parse(refreshAt!)).toBeLessThan(NOW);
    await env.DB.batch(upsertDealInfluenceStmts(env.DB, 'hubspot', [{ influence: old, deal: { created_at: deal.createdAt, close_date: null }, refreshAt, computedAt: then }], then));

    const step = await attributeStep(context('run_future'), {});
    expect(step.counts).toMatchObject({ deals_requeued: 1, deals_computed: 1 });
    expect(step.counts.deals_rescored ?? 0).toBe(0);
    const row = await env.DB.prepare(`SELECT touch_count, detail, refresh_at FROM deal_influence WHERE crm = 'hubspot' AND deal_id = 'd-f'`)
      .first<{ touch_count: number; detail: string; refresh_at: string | null }>();
    const stored = JSON.parse(row!.detail) as DealInfluence;
    expect(row!.touch_count).toBe(2);
    expect(stored.evidence.map((e) => e.type)).toEqual(['github.issues.opened', 'slack.message']);
    expect(stored.nextTouchAt).toBeUndefined();
    // Due again only when its score next drops, in the future.
    expect(Date.parse(row!.refresh_at!)).toBeGreaterThan(NOW);
    const writes = await env.DB.prepare(`SELECT fields FROM sync_writes WHERE run_id = 'run_future' AND object = 'deal'`).first<{ fields: string }>();
    expect((JSON.parse(writes!.fields) as Record<string, unknown>).community_touch_count).toBe(2);
  });

  it("a company's figures are recomputed when it comes due", async () => {
    await seed();
    const touches = (await touchesOf(env.DB, 'hubspot', ['mem_f'])).get('mem_f') ?? [];
    const then = ago(1);
    const old = computeCompanyInfluence('co-f', touches, rules, then);
    expect(old.activityCount).toBe(1);
    const refreshAt = companyRefreshAt('co-f', touches, rules, then);
    expect(Date.parse(refreshAt!)).toBeLessThan(NOW);
    await upsertCompanyInfluenceStmt(env.DB, 'hubspot', [{ ...old, refreshAt }, { ...old, companyId: 'co-later', refreshAt: '2999-01-01T00:00:00.000Z' }], then).run();

    const step = await attributeStep(context('run_future_co'), {});
    expect(step.counts).toMatchObject({ companies_refreshed: 1, companies_computed: 1 });
    const rows = await env.DB.prepare(`SELECT company_id, activity_count, last_activity_at, refresh_at FROM company_influence WHERE crm = 'hubspot' ORDER BY company_id`)
      .all<{ company_id: string; activity_count: number; last_activity_at: string; refresh_at: string | null }>();
    expect(rows.results).toEqual([
      { company_id: 'co-f', activity_count: 2, last_activity_at: ago(0.1), refresh_at: null },
      { company_id: 'co-later', activity_count: 1, last_activity_at: old.lastActivityAt, refresh_at: '2999-01-01T00:00:00.000Z' },
    ]);
  });

  it("a member linked only to a contact marks that contact's company for a recompute when it is resolved", async () => {
    await seed();
    // What a new activity of mem_f leads to: the expand stage marks the member, the resolve stage what it touches.
    const config = loadConfig(env);
    const active = await loadActiveConfig(env.DB, config);
    const ctx = { ...context('run_resolve'), config, active, resolver: resolverFor(active), ownsDeals: true } as RunContext;
    await env.DB.prepare(`DELETE FROM sync_dirty WHERE crm = 'hubspot'`).run();
    await env.DB.prepare(`INSERT INTO sync_dirty (crm, kind, ref) VALUES ('hubspot', 'member', 'mem_f')`).run();
    const step = await resolveStep(ctx, {});
    expect(step.counts).toMatchObject({ members_resolved: 1 });
    const dirty = await env.DB.prepare(`SELECT kind, ref FROM sync_dirty WHERE crm = 'hubspot' ORDER BY kind, ref`).all<{ kind: string; ref: string }>();
    expect(dirty.results).toEqual([{ kind: 'company', ref: 'co-f' }, { kind: 'contact', ref: 'c-f' }, { kind: 'deal', ref: 'd-f' }]);
  });

  it('a re-credit after a refit that reaches such a result requeues it too', async () => {
    await seed();
    const inputs = await loadDealInputs(env.DB, 'hubspot', ['d-f'], false);
    const then = ago(1);
    const old = computeDealInfluence(inputs.deals[0]!, inputs.candidates.get('d-f') ?? [], rules, { ...ctx, asOf: then });
    expect(old.nextTouchAt).toBeDefined();
    await env.DB.batch([
      env.DB.prepare(`DELETE FROM sync_dirty WHERE crm = 'hubspot'`),
      ...upsertDealInfluenceStmts(env.DB, 'hubspot', [{ influence: old, deal: { created_at: old.evidence[0]!.occurredAt, close_date: null }, refreshAt: null, computedAt: then }], then),
    ]);
    const r = await recreditChunk(context('run_future_recredit'), '', {});
    expect(r.counts).toMatchObject({ deals_recredited: 0, deals_requeued: 1 });
    const dirty = await env.DB.prepare(`SELECT ref FROM sync_dirty WHERE crm = 'hubspot' AND kind = 'deal'`).all<{ ref: string }>();
    expect(dirty.results.map((x) => x.ref)).toEqual(['d-f']);
  });

  it("a contact's figures are recomputed when it comes due", async () => {
    await seed();
    const touches = (await touchesOf(env.DB, 'hubspot', ['mem_f'])).get('mem_f') ?? [];
    const then = ago(1);
    const old = computeContactInfluence('c-f', touches, rules, then);
    expect([old.activityRecent, old.lastActivityAt]).toEqual([1, ago(3)]);
    const refreshAt = contactRefreshAt(touches, rules, then);
    expect(Date.parse(refreshAt!)).toBeLessThan(NOW);
    await env.DB.prepare(`DELETE FROM sync_dirty WHERE crm = 'hubspot'`).run();
    await upsertContactInfluenceStmt(env.DB, 'hubspot', [{ ...old, refreshAt }], then).run();

    const step = await attributeStep(context('run_future_contact'), {});
    expect(step.counts).toMatchObject({ contacts_refreshed: 1, contacts_computed: 1 });
    const row = await env.DB.prepare(`SELECT activity_recent, last_activity_at, refresh_at FROM contact_influence WHERE crm = 'hubspot' AND contact_id = 'c-f'`)
      .first<{ activity_recent: number; last_activity_at: string; refresh_at: string | null }>();
    expect([row!.activity_recent, row!.last_activity_at]).toEqual([2, ago(0.1)]);
    // Next due when the older touch leaves the 90-day window.
    expect(Date.parse(row!.refresh_at!)).toBeGreaterThan(NOW + 86 * DAY);
  });
});
