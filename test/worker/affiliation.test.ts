import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { touchesOf } from '../../src/sync/stages/touches';
import { call, postJson, waitFor } from './helpers';

describe('time-aware affiliation with a manual override', () => {
  it('credits each activity to the company of its time; a person’s override wins', async () => {
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO crm_companies (crm, crm_id, name, domain, created_at, updated_at) VALUES ('hubspot', 'c-old', 'OldCo', 'oldco.com', '2025-01-01', '2025-01-01'), ('hubspot', 'c-new', 'NewCo', 'newco.io', '2025-01-01', '2025-01-01')`),
      env.DB.prepare(`INSERT INTO crm_company_domains (crm, domain, crm_id) VALUES ('hubspot', 'oldco.com', 'c-old'), ('hubspot', 'newco.io', 'c-new')`),
    ]);
    // The same GitHub account first with an OldCo address, later with a NewCo one.
    const gh = (external_id: string, at: string, email: string) => ({
      source: 'github', type: 'github.issue_comment.created', occurred_at: at, external_id,
      member: { identities: [{ source: 'github', id: '777', handle: 'mover', email, email_verified: true }] },
    });
    await postJson('/v1/activities', { activities: [gh('a-1', '2025-03-01T00:00:00Z', 'mover@oldco.com')] });
    await waitFor(async () => (await env.DB.prepare("SELECT count(*) AS n FROM activities WHERE external_id = 'a-1'").first<{ n: number }>())?.n === 1);
    // Identity first-seen times are when we saw them; pin them to the story's dates.
    await env.DB.prepare("UPDATE identities SET first_seen_at = '2025-03-01T00:00:00Z' WHERE email = 'mover@oldco.com'").run();
    await postJson('/v1/activities', { activities: [gh('a-2', '2025-09-01T00:00:00Z', 'mover@newco.io')] });
    const member = await waitFor(async () => (await env.DB.prepare("SELECT member_id FROM activities WHERE external_id = 'a-2'").first<{ member_id: string }>())?.member_id);
    await env.DB.prepare("UPDATE identities SET first_seen_at = '2025-08-01T00:00:00Z' WHERE email = 'mover@newco.io' OR (source = 'email' AND external_id = 'mover@newco.io')").run();

    const companies = async () => (await touchesOf(env.DB, 'hubspot', [member])).get(member)!.map((t) => [t.occurredAt.slice(0, 7), t.companyId]).sort();
    expect(await companies()).toEqual([['2025-03', 'c-old'], ['2025-09', 'c-new']]);

    const set = await postJson(`/v1/members/${member}/affiliations`, { crm: 'hubspot', company_id: null, from: '2025-08-15T00:00:00Z', to: null });
    expect(set.status).toBe(201);
    expect(await companies()).toEqual([['2025-03', 'c-old'], ['2025-09', null]]);
    const bad = await postJson(`/v1/members/${member}/affiliations`, { crm: 'hubspot', company_id: 'c-new', from: '2025-09-01T00:00:00Z', to: '2025-01-01T00:00:00Z' });
    expect(bad.status).toBe(400);
    const { id } = await set.json<{ id: number }>();
    expect((await call(`/v1/members/${member}/affiliations/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await companies()).toEqual([['2025-03', 'c-old'], ['2025-09', 'c-new']]);
  });
});
