import { env, exports } from 'cloudflare:workers';
import { signSession } from '../../src/auth/session';
import { loadConfig } from '../../src/env';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Org } from '../emulators/org';
import { applyActivityMessage } from '../../src/ingest/consumer';
import { call, countRows, waitFor } from '../worker/helpers';
import { daysAgo, emulator, emulatorStats, hubspotDeal, hubspotUpdate, hubspotWebhook, idle, runSync, seed, slackEvent, waitRun } from './helpers';

const org: Org = {
  companies: [
    { key: 'acme', name: 'Acme', domain: 'acme.io', website: 'https://www.acme.io', additionalDomains: [], industry: 'Software', employees: 400, country: 'DE', createdAt: daysAgo(400), updatedAt: daysAgo(300) },
    { key: 'globex', name: 'Globex', domain: 'globex.com', website: null, additionalDomains: [], industry: 'Energy', employees: 9000, country: 'US', createdAt: daysAgo(400), updatedAt: daysAgo(300) },
  ],
  contacts: [
    { key: 'ada', email: 'ada@acme.io', additionalEmails: [], firstName: 'Ada', lastName: 'Lovelace', title: 'CTO', companyKey: 'acme', lifecycleStage: 'opportunity', isLead: false, convertedToContactKey: null, createdAt: daysAgo(60), updatedAt: daysAgo(30) },
    { key: 'bob', email: 'bob@acme.io', additionalEmails: [], firstName: 'Bob', lastName: 'Byte', title: 'Engineer', companyKey: 'acme', lifecycleStage: 'opportunity', isLead: false, convertedToContactKey: null, createdAt: daysAgo(60), updatedAt: daysAgo(30) },
    { key: 'carol', email: 'carol@globex.com', additionalEmails: [], firstName: 'Carol', lastName: 'Chen', title: 'VP Eng', companyKey: 'globex', lifecycleStage: 'opportunity', isLead: false, convertedToContactKey: null, createdAt: daysAgo(90), updatedAt: daysAgo(30) },
  ],
  deals: [
    { key: 'deal-acme', name: 'Acme platform', amount: 120000, currency: 'USD', stage: 'proposal', createdAt: daysAgo(20), closeDate: daysAgo(-40), companyKey: 'acme', contacts: [{ contactKey: 'ada', role: 'Decision Maker', isPrimary: true }, { contactKey: 'bob', role: 'Evaluator', isPrimary: false }], updatedAt: daysAgo(10) },
    { key: 'deal-globex', name: 'Globex pilot', amount: 30000, currency: 'USD', stage: 'won', createdAt: daysAgo(80), closeDate: daysAgo(5), companyKey: 'globex', contacts: [{ contactKey: 'carol', role: 'Economic Buyer', isPrimary: true }], updatedAt: daysAgo(5) },
  ],
};

let ids: Record<string, string>;

beforeAll(async () => {
  ids = (await seed(org)).ids;
});

const envelope = (event: Record<string, unknown>) => ({
  type: 'event_callback', team_id: 'T1', api_app_id: 'A1', event_id: `Ev${crypto.randomUUID()}`, event_time: Math.floor(Date.now() / 1000), event,
});

describe('HubSpot end to end', () => {
  it('a first full run provisions the properties and writes every deal', async () => {
    const run = await runSync('?full=1');
    expect(run.status, JSON.stringify(run)).toBe('done');
    expect(run.counts.pulled_deals).toBe(2);
    expect(run.counts.properties_created).toBeGreaterThan(0);
    const deal = await hubspotDeal(ids['deal-acme']!);
    expect(deal.community_influenced).toBe('false');
    expect(deal.community_evidence_url).toBe(`https://influence.example.test/deals/hubspot/${ids['deal-acme']}`);
  });

  it('signed Slack events reach the deal fields through a debounced run, with evidence', async () => {
    const ts = (Date.now() / 1000).toFixed(6);
    const join = await slackEvent(envelope({
      type: 'team_join',
      user: { id: 'UADA', team_id: 'T1', name: 'ada', real_name: 'Ada Lovelace', is_bot: false, profile: { email: 'Ada@Acme.io', real_name: 'Ada Lovelace' } },
    }));
    expect(join.status).toBe(202);
    const message = await slackEvent(envelope({ type: 'message', channel: 'C1', channel_type: 'channel', user: 'UADA', text: 'Is there an SDK for the batch API?', ts }));
    expect(message.status).toBe(202);

    const fields = await waitFor(async () => {
      const d = await hubspotDeal(ids['deal-acme']!);
      return d.community_influenced === 'true' ? d : null;
    }, 60_000);
    expect(Number(fields.community_touch_count)).toBe(2);
    expect(fields.community_top_channel).toBe('slack');
    expect(Number(fields.community_attributed_amount)).toBeGreaterThan(0);

    const evidence = await (await call(`/v1/deals/hubspot/${ids['deal-acme']}/influence`)).json<{
      influence: { influenced: boolean; evidence: { type: string; credit: Record<string, number> }[] };
      contacts: { contact_id: string; members: { method: string }[] }[];
    }>();
    expect(evidence.influence.influenced).toBe(true);
    expect(evidence.influence.evidence.map((e) => e.type).sort()).toEqual(['slack.message', 'slack.team_join']);
    const credits = evidence.influence.evidence.reduce((s, e) => s + (e.credit.w_shaped ?? 0), 0);
    expect(credits).toBeCloseTo(1, 6);
    expect(evidence.contacts.find((c) => c.contact_id === ids.ada)?.members[0]?.method).toBe('email');
    // The other deal had no community touch and keeps its values.
    expect((await hubspotDeal(ids['deal-globex']!)).community_influenced).toBe('false');
  });

  it('a rerun with nothing changed writes nothing', async () => {
    await idle();
    const before = await emulatorStats();
    const run = await runSync();
    expect(run.status).toBe('done');
    expect(run.counts.records_written ?? 0).toBe(0);
    // Our own writes bumped the deals' modified time; the pull sees they are otherwise unchanged and recomputes nothing.
    expect(run.counts.pulled_deals).toBeGreaterThan(0);
    expect(run.counts.changed_deals ?? 0).toBe(0);
    expect(run.counts.deals_computed ?? 0).toBe(0);
    expect((await emulatorStats()).writeCalls).toBe(before.writeCalls);
  });

  it('a dry run writes nothing and reports its plan', async () => {
    await idle();
    // Stored the way the consumer stores it, but without the debounced run it would schedule: the dry run must see it first.
    await applyActivityMessage(env.DB, {
      v: 1, origin: 'api', received_at: new Date().toISOString(),
      items: [{
        source: 'events', type: 'events.attended', occurred_at: daysAgo(10), external_id: 'meetup-carol',
        member: { identities: [{ source: 'email', id: 'carol@globex.com', name: 'Carol Chen' }] }, title: 'Berlin meetup',
      }],
    });
    const before = await emulatorStats();
    const run = await runSync('?dryRun=1');
    expect(run.status).toBe('done');
    expect(run.writes?.records.some((w) => w.crm_id === ids['deal-globex'] && w.fields.community_influenced === true)).toBe(true);
    expect((await emulatorStats()).writeCalls).toBe(before.writeCalls);
    expect((await hubspotDeal(ids['deal-globex']!)).community_influenced).toBe('false');
  });

  it('a CRM fault during the write is retried and the run still writes each record once', async () => {
    await idle();
    // The dry run changed nothing: this run writes the pending change while the CRM answers 503 twice.
    await emulator('/faults', { method: 'POST', body: JSON.stringify({ kind: 'status', status: 503, count: 2, pathPrefix: '/crm/v3/objects/deals/batch/update' }) });
    const before = await emulatorStats();
    const run = await runSync();
    expect(run.status, JSON.stringify(run)).toBe('done');
    expect((await hubspotDeal(ids['deal-globex']!)).community_influenced).toBe('true');
    const after = await emulatorStats();
    expect(after.recordWrites[`deals:${ids['deal-globex']}`]! - (before.recordWrites[`deals:${ids['deal-globex']}`] ?? 0)).toBe(1);
  });

  it('a run that dies after HubSpot took a batch, before D1 recorded it, resumes without writing anything twice', async () => {
    await idle();
    await hubspotUpdate('deals', ids['deal-globex']!, { amount: '45000' });
    const amountBefore = Number((await hubspotDeal(ids['deal-globex']!)).community_attributed_amount);
    // HubSpot holds the batch update for 3 s (then applies it); meanwhile the table that records the CRM's answer
    // disappears, so the step dies after HubSpot applied the write and before D1 knew.
    await emulator('/faults', { method: 'POST', body: JSON.stringify({ kind: 'delay', ms: 3000, count: 1, pathPrefix: '/crm/v3/objects/deals/batch/update' }) });
    const before = await emulatorStats();
    const update = 'POST /crm/v3/objects/deals/batch/update';
    const res = await call('/v1/sync', { method: 'POST' });
    const runId = (await res.json<{ runs: { run_id: string }[] }>()).runs[0]!.run_id;
    await waitFor(async () => ((await emulatorStats()).calls[update] ?? 0) > (before.calls[update] ?? 0), 60_000);
    await env.DB.exec('ALTER TABLE crm_written RENAME TO crm_written_hold');
    try {
      await waitFor(async () => {
        const r = await (await call(`/v1/sync/runs/${runId}`)).json<{ reason: string | null }>();
        return r.reason?.startsWith('retrying after') ? r : null;
      }, 60_000);
    } finally {
      await env.DB.exec('ALTER TABLE crm_written_hold RENAME TO crm_written');
    }
    const run = await waitRun(runId);
    expect(run.status, JSON.stringify(run)).toBe('done');
    // The resumed step read the batch back and recorded it as written instead of sending it again.
    expect(run.counts.records_settled).toBeGreaterThanOrEqual(1);
    const after = await emulatorStats();
    expect(after.recordWrites[`deals:${ids['deal-globex']}`]! - (before.recordWrites[`deals:${ids['deal-globex']}`] ?? 0)).toBe(1);
    expect(after.calls['POST /crm/v3/objects/deals/batch/read'] ?? 0).toBeGreaterThan(before.calls['POST /crm/v3/objects/deals/batch/read'] ?? 0);
    expect(Number((await hubspotDeal(ids['deal-globex']!)).community_attributed_amount)).toBeCloseTo(amountBefore * 1.5, 2);
    expect(await countRows('crm_write_inflight')).toBe(0);
    // The audit log holds the write once, and the next run has nothing left to do.
    const again = await runSync();
    expect(again.counts.records_written ?? 0).toBe(0);
  });

  it('a signed HubSpot change notification pulls the change and updates the fields; our own writes are ignored', async () => {
    await idle();
    const before = Number((await hubspotDeal(ids['deal-acme']!)).community_attributed_amount);
    await hubspotUpdate('deals', ids['deal-acme']!, { amount: '240000' });
    const echo = await hubspotWebhook([{ subscriptionType: 'deal.propertyChange', objectId: Number(ids['deal-acme']), propertyName: 'community_influence_score', occurredAt: Date.now() }]);
    expect(await echo.json()).toMatchObject({ status: 'ignored' });
    expect((await hubspotWebhook([{ subscriptionType: 'deal.propertyChange', objectId: 1, propertyName: 'amount' }], { secret: 'forged' })).status).toBe(401);
    expect((await hubspotWebhook([{ subscriptionType: 'deal.propertyChange' }], { ts: Date.now() - 6 * 60_000 })).status).toBe(401);
    const res = await hubspotWebhook([{ subscriptionType: 'deal.propertyChange', objectId: Number(ids['deal-acme']), propertyName: 'amount', occurredAt: Date.now() }]);
    expect(res.status).toBe(202);
    const after = await waitFor(async () => {
      const v = Number((await hubspotDeal(ids['deal-acme']!)).community_attributed_amount);
      return v !== before ? v : null;
    }, 60_000);
    expect(after).toBeCloseTo(before * 2, 2);
  });

  it('a run that dies between stages resumes from its checkpoint: nothing pulled twice, nothing lost', async () => {
    await idle();
    // The attribute stage cannot write while its table is gone: the step fails after pull, expand and resolve committed.
    await env.DB.exec('ALTER TABLE deal_influence RENAME TO deal_influence_hold');
    let runId = '';
    try {
      const res = await call('/v1/sync?full=1', { method: 'POST' });
      runId = (await res.json<{ runs: { run_id: string }[] }>()).runs[0]!.run_id;
      const stuck = await waitFor(async () => {
        const r = await (await call(`/v1/sync/runs/${runId}`)).json<{ stage: string; reason: string | null; counts: Record<string, number> }>();
        return r.reason?.startsWith('retrying after') ? r : null;
      }, 60_000);
      expect(stuck.stage).toBe('attribute');
      expect(stuck.counts.pulled_deals).toBe(2);
    } finally {
      await env.DB.exec('ALTER TABLE deal_influence_hold RENAME TO deal_influence');
    }
    const run = await waitFor(async () => {
      const r = await (await call(`/v1/sync/runs/${runId}`)).json<{ status: string; counts: Record<string, number> }>();
      return r.status === 'running' ? null : r;
    }, 90_000);
    expect(run.status).toBe('done');
    // Resumed at the failed step: the pull was not repeated, and every deal was computed once.
    expect(run.counts.pulled_deals).toBe(2);
    expect(run.counts.deals_computed).toBe(2);
    expect((await hubspotDeal(ids['deal-acme']!)).community_influenced).toBe('true');
  });

  it('the sync page shows the CRM rate budget the runs share', async () => {
    const session = await signSession(loadConfig(env), { sub: 'test:admin', name: 'Admin', role: 'admin' });
    const res = await exports.default.fetch(new Request('http://ci.test/sync', { headers: { cookie: `ci_session=${session}` } }));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('CRM rate budget');
    expect(html).toMatch(/default: 100 per 10 s/);
  });

  it("HubSpot's daily limit stops the run with when it resumes; nothing is lost: the next run writes it", async () => {
    await idle();
    await hubspotUpdate('deals', ids['deal-acme']!, { amount: '360000' });
    await emulator('/faults', { method: 'POST', body: JSON.stringify({ kind: 'rate_limit', policy: 'DAILY', count: 1, pathPrefix: '/crm/v3/objects/deals/batch/update' }) });
    const stopped = await runSync();
    expect(stopped.status).toBe('stopped');
    expect(stopped.reason).toMatch(/daily limit reached, resumes at/);
    const before = Number((await hubspotDeal(ids['deal-acme']!)).community_attributed_amount);
    const resumed = await runSync();
    expect(resumed.status).toBe('done');
    expect(resumed.counts.records_written).toBeGreaterThan(0);
    expect(Number((await hubspotDeal(ids['deal-acme']!)).community_attributed_amount)).toBeCloseTo(before * 1.5, 2);
  });

  it('a step stops taking work at its D1-query budget and the next step carries on: no step comes near the limit', async () => {
    await idle();
    // A larger org (appended to the emulator's): 300 contacts, 150 deals, so stages have many chunks.
    const companies = Array.from({ length: 10 }, (_, i) => ({ key: `bco${i}`, name: `Budget ${i}`, domain: `budget${i}.example`, website: null, additionalDomains: [], industry: null, employees: 50, country: null, createdAt: daysAgo(400), updatedAt: daysAgo(300) }));
    const contacts = Array.from({ length: 300 }, (_, i) => ({ key: `bct${i}`, email: `p${i}@budget${i % 10}.example`, additionalEmails: [], firstName: `P${i}`, lastName: 'Budget', title: null, companyKey: `bco${i % 10}`, lifecycleStage: 'opportunity', isLead: false, convertedToContactKey: null, createdAt: daysAgo(60), updatedAt: daysAgo(30) }));
    const deals = Array.from({ length: 150 }, (_, i) => ({ key: `bdl${i}`, name: `Budget deal ${i}`, amount: 1000 + i, currency: 'USD', stage: 'proposal', createdAt: daysAgo(20), closeDate: daysAgo(-40), companyKey: `bco${i % 10}`, contacts: [{ contactKey: `bct${2 * i}`, role: null, isPrimary: true }, { contactKey: `bct${2 * i + 1}`, role: null, isPrimary: false }], updatedAt: daysAgo(10) }));
    const added = await (await emulator('/seed', { method: 'POST', body: JSON.stringify({ companies, contacts, deals }) })).json<{ ids: Record<string, string> }>();
    const run = await runSync('?full=1');
    expect(run.status, JSON.stringify(run)).toBe('done');
    expect(run.counts.pulled_deals).toBeGreaterThanOrEqual(150);
    // SYNC_STEP_MAX_QUERIES is 20 in this project: a step stops at 20 statements plus the chunk it was in (without the
    // budget, the attribute stage alone issues over 100 in one step).
    expect(run.counts.d1_queries).toBeGreaterThan(100);
    expect(run.counts.d1_queries_max_step, JSON.stringify(run.counts)).toBeLessThanOrEqual(45);
    expect((await hubspotDeal(added.ids['bdl149']!)).community_evidence_url).toMatch(/\/deals\/hubspot\//);
  });

  it('a deal deleted in HubSpot is recorded as gone (skipped), not failed, and is not planned again', async () => {
    await idle();
    const id = ids['deal-acme']!;
    const deleted = await fetch(`${env.E2E_HUBSPOT_URL}/crm/v3/objects/deals/${id}`, { method: 'DELETE', headers: { authorization: 'Bearer someone-else' } });
    expect(deleted.status).toBe(204);
    // New activity from Ada changes the deal's influence, so a write is planned for the deleted deal.
    await applyActivityMessage(env.DB, {
      v: 1, origin: 'api', received_at: new Date().toISOString(),
      items: [{ source: 'events', type: 'events.attended', occurred_at: daysAgo(2), external_id: 'gone-ada', member: { identities: [{ source: 'email', id: 'ada@acme.io', name: 'Ada Lovelace' }] }, title: 'Gone meetup' }],
    });
    const run = await runSync();
    expect(run.status, JSON.stringify(run)).toBe('done');
    const write = await env.DB.prepare("SELECT status, error FROM sync_writes WHERE run_id = ? AND object = 'deal' AND crm_id = ?").bind(run.id, id).first<{ status: string; error: string }>();
    expect(write?.status).toBe('skipped');
    expect(write?.error).toMatch(/^gone from the CRM: OBJECT_NOT_FOUND/);
    expect(await countRows('sync_dirty', "kind = 'deal' AND ref = ?", id)).toBe(0);
    const again = await runSync();
    expect(again.counts.records_failed ?? 0).toBe(0);
  });
});
