import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, countRows, postJson, waitFor } from './helpers';

const act = (external_id: string, identities: unknown[], source = 'discord', type = 'discord.message') => ({
  source, type, occurred_at: '2026-06-01T10:00:00Z', external_id, member: { identities },
});

async function memberOf(identity: string): Promise<string> {
  return waitFor(async () => {
    const { data } = await (await call(`/v1/members?identity=${identity}`)).json<{ data: { id: string }[] }>();
    return data[0]?.id ?? null;
  });
}

describe('merge, unmerge, erase, export', () => {
  it('a person merges two members and can undo it exactly; "not the same" is recorded', async () => {
    await postJson('/v1/activities', { activities: [
      act('m-1', [{ source: 'discord', id: 'd-ada', handle: 'ada' }]),
      act('m-2', [{ source: 'discord', id: 'd-ada', handle: 'ada' }]),
      act('m-3', [{ source: 'slack', id: 'U-ADA', name: 'Ada' }], 'slack', 'slack.message'),
    ] });
    const a = await memberOf('discord:d-ada');
    const b = await memberOf('slack:U-ADA');
    expect(a).not.toBe(b);
    const merged = await postJson(`/v1/members/${a}/merge`, { member_id: b });
    expect(merged.status).toBe(200);
    const result = await merged.json<{ merge_id: string; identities_moved: number; activities_moved: number }>();
    expect(result).toMatchObject({ identities_moved: 1, activities_moved: 1 });
    expect(await memberOf('slack:U-ADA')).toBe(a);
    expect(await countRows('activities', 'member_id = ?', a)).toBe(3);

    const undone = await postJson(`/v1/members/${a}/unmerge`, {});
    expect(undone.status).toBe(200);
    expect(await memberOf('slack:U-ADA')).toBe(b);
    expect(await countRows('activities', 'member_id = ?', b)).toBe(1);
    const decision = await env.DB.prepare('SELECT decision FROM member_decisions').first<{ decision: string }>();
    expect(decision?.decision).toBe('not_same');
    const actions = (await (await call('/v1/audit?action=member')).json<{ data: { action: string }[] }>()).data.map((r) => r.action);
    expect(actions).toEqual(['member.unmerge', 'member.merge']);
  });

  it("an unmerge gives back the person's link decisions and manual affiliations the merge moved", async () => {
    await postJson('/v1/activities', { activities: [
      act('um-1', [{ source: 'discord', id: 'd-kim', handle: 'kim' }]),
      act('um-2', [{ source: 'slack', id: 'U-LEE', name: 'Lee' }], 'slack', 'slack.message'),
    ] });
    const a = await memberOf('discord:d-kim');
    const b = await memberOf('slack:U-LEE');
    await env.DB.prepare(
      `INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, decided_by, decided_at, created_at, updated_at)
       VALUES (?1, 'hubspot', 'contact', 'c-lee', 'manual', 'confirmed', 1, '[]', 'test:revops', ?2, ?2, ?2)`,
    ).bind(b, new Date().toISOString()).run();
    expect((await postJson(`/v1/members/${b}/affiliations`, { crm: 'hubspot', company_id: 'co-lee' })).status).toBeLessThan(300);
    expect((await postJson(`/v1/members/${a}/merge`, { member_id: b })).status).toBe(200);
    expect(await countRows('links', "member_id = ? AND crm_id = 'c-lee'", a)).toBe(1);
    expect(await countRows('affiliation_overrides', "member_id = ? AND company_id = 'co-lee'", a)).toBe(1);

    expect((await postJson(`/v1/members/${a}/unmerge`, {})).status).toBe(200);
    expect(await countRows('links', "member_id = ? AND crm_id = 'c-lee' AND status = 'confirmed'", b)).toBe(1);
    expect(await countRows('links', "member_id = ? AND crm_id = 'c-lee'", a)).toBe(0);
    expect(await countRows('affiliation_overrides', "member_id = ? AND company_id = 'co-lee'", b)).toBe(1);
    expect(await countRows('affiliation_overrides', 'member_id = ?', a)).toBe(0);
  });

  it('refuses merges a person could not mean: two GitHub accounts, unknown or same member', async () => {
    await postJson('/v1/activities', { activities: [
      act('g-1', [{ source: 'github', id: '1001', handle: 'one' }], 'github', 'github.star'),
      act('g-2', [{ source: 'github', id: '1002', handle: 'two' }], 'github', 'github.star'),
    ] });
    const one = await memberOf('github:1001');
    const two = await memberOf('github:1002');
    const blocked = await postJson(`/v1/members/${one}/merge`, { member_id: two });
    expect(blocked.status).toBe(409);
    expect((await blocked.json<{ error: { issues: { message: string }[] } }>()).error.issues[0]!.message).toMatch(/github/i);
    expect((await postJson(`/v1/members/${one}/merge`, { member_id: one })).status).toBe(400);
    expect((await postJson(`/v1/members/${one}/merge`, { member_id: 'mem_nope' })).status).toBe(404);
    expect((await postJson(`/v1/members/${one}/merge`, { nope: true })).status).toBe(400);
  });

  it('exports and erases a member: nothing personal remains, the audit names only the id', async () => {
    await postJson('/v1/activities', { activities: [act('e-1', [{ source: 'email', id: 'grace@navy.mil', name: 'Grace Hopper' }], 'events', 'events.attended')] });
    const id = await memberOf('email:grace@navy.mil');
    const exported = await (await call(`/v1/members/${id}/export`)).json<{ identities: unknown[]; activities: unknown[] }>();
    expect(exported.identities).toHaveLength(1);
    expect(exported.activities).toHaveLength(1);
    const erased = await call(`/v1/members/${id}`, { method: 'DELETE' });
    expect(erased.status).toBe(200);
    expect(await countRows('identities', 'member_id = ?', id)).toBe(0);
    expect(await countRows('activities', 'member_id = ?', id)).toBe(0);
    const audit = await (await call('/v1/audit?action=member.erase&format=csv')).text();
    expect(audit).toContain(id);
    expect(audit).not.toContain('grace');
  });

  it('erasing a person also erases what merges left: merged-away names, merge reasons, affiliations; a merged-away id is refused', async () => {
    const email = 'erin.secret@corp.io';
    await postJson('/v1/activities', { activities: [act('er-1', [{ source: 'slack', id: 'U-ERIN', name: 'Erin S' }], 'slack', 'slack.message')] });
    const slackOnly = await memberOf('slack:U-ERIN');
    await postJson('/v1/activities', { activities: [act('er-2', [{ source: 'github', id: '7001', handle: 'erin', name: 'Erin S', email, email_verified: true }], 'github', 'github.star')] });
    const github = await memberOf('github:7001');
    // Slack now says the same verified address: member matching merges the two people automatically, with its reasons.
    await postJson('/v1/activities', { activities: [act('er-3', [{ source: 'slack', id: 'U-ERIN', name: 'Erin S', email, email_verified: true }], 'slack', 'slack.message')] });
    const merge = await waitFor(async () => env.DB.prepare(`SELECT into_member, from_member FROM member_merges WHERE from_member IN (?1, ?2)`).bind(slackOnly, github).first<{ into_member: string; from_member: string }>(), 20_000);
    const audit = () => env.DB.prepare(`SELECT group_concat(detail) AS d FROM audit_log WHERE action = 'member.merge' AND detail ->> 'from' = ?1`).bind(merge.from_member).first<{ d: string }>();
    expect((await audit())?.d).toContain(email);
    const aff = await postJson(`/v1/members/${merge.into_member}/affiliations`, { crm: 'hubspot', company_id: 'co-erin' });
    expect(aff.status).toBeLessThan(300);

    const refused = await call(`/v1/members/${merge.from_member}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect((await refused.json<{ error: { code: string; message: string } }>()).error.message).toContain(merge.into_member);

    expect((await call(`/v1/members/${merge.into_member}`, { method: 'DELETE' })).status).toBe(200);
    expect((await audit())?.d).not.toContain(email);
    const shell = await env.DB.prepare('SELECT display_name FROM members WHERE id = ?').bind(merge.from_member).first<{ display_name: string | null }>();
    expect(shell?.display_name).toBeNull();
    expect(await countRows('affiliation_overrides', 'member_id = ?', merge.into_member)).toBe(0);
  });

  it('only admins export, erase and read the audit log', async () => {
    const { token } = await (await postJson('/v1/tokens', { name: 'editor', scopes: ['configure'] })).json<{ token: string }>();
    expect((await call('/v1/audit', { token })).status).toBe(403);
    expect((await call('/v1/members/mem_x', { method: 'DELETE', token })).status).toBe(403);
    expect((await call('/v1/members/mem_x/export', { token })).status).toBe(403);
    const tokenAudit = await (await call('/v1/audit?action=token')).json<{ data: { action: string }[] }>();
    expect(tokenAudit.data.map((r) => r.action)).toContain('token.create');
  });
});
