import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../src/rules';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import { computeDeals } from '../../src/sync/stages/attribute';
import { postJson, waitFor } from './helpers';

/** computeDeals (the sync's and the preview's path) loads company-only members for scope: account, and only then. */
describe('deal scope in the sync path', () => {
  it("a colleague linked only to the deal's company counts with scope: account, not with deal_contacts", async () => {
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO crm_companies (crm, crm_id, name, domain, created_at, updated_at) VALUES ('hubspot', 'co-s', 'Scope Inc', 'scope.example', '2025-01-01', '2025-01-01')`),
      env.DB.prepare(`INSERT INTO crm_company_domains (crm, domain, crm_id) VALUES ('hubspot', 'scope.example', 'co-s')`),
      env.DB.prepare(`INSERT INTO crm_contacts (crm, crm_id, kind, email, company_id, created_at, updated_at) VALUES ('hubspot', 'ct-s', 'contact', 'buyer@scope.example', 'co-s', '2025-01-01T00:00:00Z', '2025-01-01')`),
      env.DB.prepare(`INSERT INTO crm_deals (crm, crm_id, name, amount, currency, company_id, created_at, is_closed, is_won, updated_at) VALUES ('hubspot', 'dl-s', 'Scope deal', 1000, 'USD', 'co-s', '2025-06-01T00:00:00Z', 0, 0, '2025-06-01')`),
      env.DB.prepare(`INSERT INTO crm_deal_contacts (crm, deal_id, contact_id, is_primary) VALUES ('hubspot', 'dl-s', 'ct-s', 1)`),
    ]);
    const gh = (external_id: string, id: string, email: string) => ({
      source: 'github', type: 'github.issues.opened', occurred_at: '2025-05-01T00:00:00Z', external_id,
      member: { identities: [{ source: 'github', id, handle: `h${id}`, email, email_verified: true }] },
    });
    await postJson('/v1/activities', { activities: [gh('s-1', '9101', 'buyer@scope.example'), gh('s-2', '9102', 'colleague@scope.example')] });
    const memberOf = async (ext: string) => waitFor(async () => (await env.DB.prepare('SELECT member_id FROM activities WHERE external_id = ?').bind(ext).first<{ member_id: string }>())?.member_id);
    const buyer = await memberOf('s-1');
    const colleague = await memberOf('s-2');
    await env.DB.prepare(
      `INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, created_at, updated_at)
       VALUES (?1, 'hubspot', 'contact', 'ct-s', 'email', 'auto', 1, '[]', 'x', 'x'), (?2, 'hubspot', 'company', 'co-s', 'domain', 'auto', 0.9, '[]', 'x', 'x')`,
    ).bind(buyer, colleague).run();

    const base = await loadRules(BUNDLED_MAPPINGS.rules);
    if (!base.ok) throw new Error('bundled rules invalid');
    const compute = async (scope: 'deal_contacts' | 'account') => {
      const [one] = await computeDeals({ db: env.DB, crm: 'hubspot', rules: { ...base.value.rules, scope }, rulesVersion: 'v', evidenceBaseUrl: 'http://x' }, ['dl-s']);
      return one!.influence;
    };
    const contactsOnly = await compute('deal_contacts');
    expect(contactsOnly.touchCount).toBe(1);
    expect(contactsOnly.membersInvolved).toEqual([buyer]);
    const account = await compute('account');
    expect(account.touchCount).toBe(2);
    expect(account.membersInvolved).toEqual([buyer, colleague].sort());
  });
  it('a closed deal whose close date was cleared ends at its last modification: later touches never count', async () => {
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO crm_contacts (crm, crm_id, kind, email, created_at, updated_at) VALUES ('hubspot', 'ct-nc', 'contact', 'nc@noclose.example', '2025-01-01T00:00:00Z', '2025-01-01')`),
      env.DB.prepare(`INSERT INTO crm_deals (crm, crm_id, name, amount, currency, created_at, close_date, is_closed, is_won, updated_at) VALUES ('hubspot', 'dl-nc', 'No close date', 1000, 'USD', '2025-06-01T00:00:00Z', NULL, 1, 1, '2025-07-01T00:00:00Z')`),
      env.DB.prepare(`INSERT INTO crm_deal_contacts (crm, deal_id, contact_id, is_primary) VALUES ('hubspot', 'dl-nc', 'ct-nc', 1)`),
    ]);
    const touch = (external_id: string, occurred_at: string) => ({
      source: 'github', type: 'github.issues.opened', occurred_at, external_id,
      member: { identities: [{ source: 'github', id: '9201', handle: 'nc', email: 'nc@noclose.example', email_verified: true }] },
    });
    await postJson('/v1/activities', { activities: [touch('nc-before', '2025-05-20T00:00:00Z'), touch('nc-after', '2025-09-01T00:00:00Z')] });
    const member = await waitFor(async () => (await env.DB.prepare("SELECT count(*) AS n, max(member_id) AS m FROM activities WHERE external_id LIKE 'nc-%'").first<{ n: number; m: string }>())?.n === 2
      ? (await env.DB.prepare("SELECT member_id FROM activities WHERE external_id = 'nc-after'").first<{ member_id: string }>())!.member_id : null);
    await env.DB.prepare(`INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, created_at, updated_at) VALUES (?1, 'hubspot', 'contact', 'ct-nc', 'email', 'auto', 1, '[]', 'x', 'x')`).bind(member).run();
    const base = await loadRules(BUNDLED_MAPPINGS.rules);
    if (!base.ok) throw new Error('bundled rules invalid');
    const [one] = await computeDeals({ db: env.DB, crm: 'hubspot', rules: base.value.rules, rulesVersion: 'v', evidenceBaseUrl: 'http://x' }, ['dl-nc']);
    expect(one!.influence.touchCount).toBe(1);
    expect(one!.influence.lastTouchAt).toBe('2025-05-20T00:00:00.000Z');
  });
});
