import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/env';
import { applyActivityMessage } from '../../src/ingest/consumer';
import { activityMessageSchema } from '../../src/ingest/message';
import { createLogger } from '../../src/log';
import { catchUpMemberMatching, MATCH_ACTOR, matchChainStep } from '../../src/members/match';
import { claimMatchLease } from '../../src/store/member-match';
import { markMatched, recordNotSame, unkeyedMembers, writeMemberKeys } from '../../src/store/member-match';
import { writePlan } from '../../src/store/ingest';
import { mergeMembers, mergeMembersMany } from '../../src/store/merges';
import { identityConfigFor } from '../../src/sync/config';
import { call, countRows, postJson, waitFor } from './helpers';

/**
 * Member matching through the real ingestion queue and D1: a verified identifier merges members (audited, reversible),
 * weak evidence suggests, a blocker or a person's "not the same person" holds, and the cron catches up on members
 * ingestion left unkeyed.
 */
let n = 0;
const at = () => new Date(Date.UTC(2026, 0, 2, 0, n++)).toISOString();
const item = (source: string, type: string, identities: Record<string, unknown>[]) =>
  ({ source, type, occurred_at: at(), external_id: `mm-${n}-${crypto.randomUUID()}`, member: { identities } });

async function ingest(...items: ReturnType<typeof item>[]) {
  const res = await postJson('/v1/activities', { activities: items });
  expect(res.status, await res.clone().text()).toBe(202);
  const ids = items.map((i) => i.external_id);
  await waitFor(async () => (await countRows('activities', `external_id IN (${ids.map(() => '?').join(',')})`, ...ids)) === ids.length);
}

const memberOf = async (source: string, id: string) =>
  (await env.DB.prepare('SELECT member_id FROM identities WHERE source = ? AND external_id = ?').bind(source, id).first<{ member_id: string }>())?.member_id;

/** Matching runs after the batch is stored: wait for the member to be keyed. */
const keyed = (member: string) =>
  waitFor(async () => (await env.DB.prepare('SELECT keys_at FROM members WHERE id = ?').bind(member).first<{ keys_at: string | null }>())?.keys_at ?? null);

const suggestionOf = (a: string, b: string) =>
  env.DB.prepare('SELECT score, reasons, blocked FROM member_suggestions WHERE member_a = ? AND member_b = ?').bind(...(a < b ? [a, b] : [b, a])).first<{ score: number; reasons: string; blocked: string | null }>();

describe('member matching', () => {
  it('merges a Slack member into the GitHub member holding the same verified email, audited and reversible', async () => {
    await ingest(item('github', 'github.issue.opened', [{ source: 'github', id: '5001', handle: 'grace-h', email: 'grace@hopper.dev', email_verified: true, name: 'Grace Hopper' }]));
    const gh = (await memberOf('github', '5001'))!;
    await keyed(gh);
    // Slack profile emails are asserted by the workspace (identity.yaml emails.asserted_sources).
    await ingest(item('slack', 'slack.team_join', [{ source: 'slack', id: 'U5001', handle: 'grace', email: 'Grace@Hopper.dev', name: 'Grace Hopper' }]));
    await waitFor(async () => (await memberOf('slack', 'U5001')) === gh);
    const slackMember = (await env.DB.prepare(`SELECT id FROM members WHERE merged_into = ?`).bind(gh).first<{ id: string }>())!.id;
    const merge = await env.DB.prepare('SELECT id, decided_by FROM member_merges WHERE into_member = ? AND from_member = ?').bind(gh, slackMember).first<{ id: string; decided_by: string }>();
    expect(merge!.decided_by).toBe(MATCH_ACTOR);
    const audit = await env.DB.prepare(`SELECT detail FROM audit_log WHERE action = 'member.merge' AND detail LIKE ?`).bind(`%${merge!.id}%`).first<{ detail: string }>();
    expect(JSON.parse(audit!.detail).reasons).toEqual(['both hold verified email:grace@hopper.dev']);
    // Every activity is on the surviving member.
    expect(await countRows('activities', 'member_id = ?', slackMember)).toBe(0);

    // A person undoes it: the two stay apart however often the pair is matched again.
    const undo = await postJson(`/v1/members/${gh}/unmerge`, { merge_id: merge!.id });
    expect(undo.status, await undo.clone().text()).toBe(200);
    expect(await memberOf('slack', 'U5001')).toBe(slackMember);
    await catchUpMemberMatching(env, identityConfigFor(loadConfig(env)));
    await ingest(item('slack', 'slack.message', [{ source: 'slack', id: 'U5001', handle: 'grace', email: 'grace@hopper.dev', name: 'Grace M. Hopper' }]));
    await keyed(slackMember);
    expect(await memberOf('slack', 'U5001')).toBe(slackMember);
    expect(await suggestionOf(gh, slackMember)).toBeNull();
  });

  it('suggests, with reasons, members alike only on weak evidence; "not the same person" removes it for good', async () => {
    await ingest(item('github', 'github.issue.opened', [{ source: 'github', id: '5002', handle: 'linus-t', name: 'Linus Torvalds' }]));
    const gh = (await memberOf('github', '5002'))!;
    await keyed(gh);
    await ingest(item('discourse', 'discourse.post.created', [{ source: 'discourse', id: 'd-5002', handle: 'linus-t', name: 'Linus Torvalds' }]));
    const forum = (await memberOf('discourse', 'd-5002'))!;
    expect(forum).not.toBe(gh);
    const s = await waitFor(() => suggestionOf(gh, forum));
    expect(JSON.parse(s.reasons)).toEqual(['same handle "linus-t" on two platforms', 'same full name "Linus Torvalds"']);
    expect(s.blocked).toBeNull();
    expect(await recordNotSame(env.DB, gh, forum, 'user:revops')).toBe('ok');
    expect(await suggestionOf(gh, forum)).toBeNull();
    // New activity with the same evidence does not bring it back.
    await ingest(item('discourse', 'discourse.post.created', [{ source: 'discourse', id: 'd-5002', handle: 'linus-t', name: 'Linus B. Torvalds' }]));
    await keyed(forum);
    expect(await suggestionOf(gh, forum)).toBeNull();
    expect(await recordNotSame(env.DB, gh, 'mem_nobody', 'user:revops')).toBe('unknown');
  });

  it('never merges two GitHub accounts on one verified email: a blocked suggestion a person settles', async () => {
    await ingest(item('github', 'github.issue.opened', [{ source: 'github', id: '5003', handle: 'kay-1', email: 'kay@shared.dev', email_verified: true }]));
    const one = (await memberOf('github', '5003'))!;
    await keyed(one);
    await ingest(item('github', 'github.issue.opened', [{ source: 'github', id: '5004', handle: 'kay-2', email: 'kay@shared.dev', email_verified: true }]));
    const two = (await memberOf('github', '5004'))!;
    expect(two).not.toBe(one);
    const s = await waitFor(() => suggestionOf(one, two));
    expect(JSON.parse(s.blocked!)).toEqual(['two different github accounts (5003 and 5004)']);
  });

  it('merges members one activity names together, e.g. a relay that knows both accounts', async () => {
    await ingest(item('discord', 'discord.message', [{ source: 'discord', id: 'dc-5005', handle: 'ada5005' }]));
    await ingest(item('github', 'github.issue.opened', [{ source: 'github', id: '5005', handle: 'ada-5005' }]));
    const [discord, github] = [(await memberOf('discord', 'dc-5005'))!, (await memberOf('github', '5005'))!];
    expect(discord).not.toBe(github);
    await keyed(github);
    await ingest(item('discord', 'discord.message', [{ source: 'discord', id: 'dc-5005' }, { source: 'github', id: '5005' }]));
    // The older member (the Discord one, ingested first) stays.
    await waitFor(async () => (await memberOf('github', '5005')) === discord);
    expect(await env.DB.prepare('SELECT merged_into FROM members WHERE id = ?').bind(github).first('merged_into')).toBe(discord);
  });

  it('the cron keys members left unkeyed and merges what it finds', async () => {
    // As before migration 0012: two members holding one verified email, neither keyed.
    const now = new Date().toISOString();
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO members (id, display_name, created_at, updated_at) VALUES ('mem_old_a', 'Old A', '2025-01-01T00:00:00.000Z', ?1), ('mem_old_b', 'Old B', '2025-02-01T00:00:00.000Z', ?1)`).bind(now),
      env.DB.prepare(
        `INSERT INTO identities (source, external_id, member_id, handle, handle_lc, email, email_verified, is_bot, first_seen_at)
         VALUES ('github', '5006', 'mem_old_a', 'olda', 'olda', 'old@acme.dev', 1, 0, ?1), ('email', 'old@acme.dev', 'mem_old_b', NULL, 'old@acme.dev', 'old@acme.dev', 1, 0, ?1)`,
      ).bind(now),
    ]);
    const r = await catchUpMemberMatching(env, identityConfigFor(loadConfig(env)));
    expect(r.keyed).toBeGreaterThanOrEqual(2);
    expect(r.merged).toBeGreaterThanOrEqual(1);
    expect(await memberOf('email', 'old@acme.dev')).toBe('mem_old_a');
    expect(await countRows('members', 'keys_at IS NULL AND merged_into IS NULL')).toBe(0);
    // Nothing left: a second pass does nothing.
    expect(await catchUpMemberMatching(env, identityConfigFor(loadConfig(env)))).toMatchObject({ keyed: 0, merged: 0, suggested: 0 });
    expect((await call('/v1/members/mem_old_b')).status).not.toBe(500);
  });

  it('a decision about a member holds once it is merged into another; a merge into a merged-away member changes nothing', async () => {
    const now = new Date().toISOString();
    const member = (id: string, created: string) => env.DB.prepare(`INSERT INTO members (id, created_at, updated_at, keys_at) VALUES (?1, ?2, ?3, ?3)`).bind(id, created, now);
    const identity = (source: string, id: string, member: string, email: string | null) =>
      env.DB.prepare(`INSERT INTO identities (source, external_id, member_id, email, email_verified, is_bot, first_seen_at) VALUES (?1, ?2, ?3, ?4, 1, 0, ?5)`).bind(source, id, member, email, now);
    await env.DB.batch([
      member('mem_p_a', '2025-01-01T00:00:00.000Z'), member('mem_p_b', '2025-01-02T00:00:00.000Z'), member('mem_p_c', '2025-01-03T00:00:00.000Z'),
      identity('github', '7001', 'mem_p_a', null), identity('discord', 'p-b', 'mem_p_b', null), identity('discourse', 'p-c', 'mem_p_c', 'pc@acme.dev'),
    ]);
    // A person said B is not C; then B was merged into A.
    expect(await recordNotSame(env.DB, 'mem_p_b', 'mem_p_c', 'user:revops')).toBe('ok');
    expect((await mergeMembers(env.DB, 'mem_p_a', 'mem_p_b', 'user:revops')).merged).toBe(true);
    // Deciding about the merged-away member is refused, and merging into it changes nothing.
    expect(await recordNotSame(env.DB, 'mem_p_b', 'mem_p_a', 'user:revops')).toBe('merged');
    const stale = await mergeMembers(env.DB, 'mem_p_b', 'mem_p_c', 'user:revops');
    expect(stale).toMatchObject({ merged: false, identities_moved: 0 });
    expect(await memberOf('discourse', 'p-c')).toBe('mem_p_c');
    // A gains C's verified email: a strong key, but "B is not C" now holds for A.
    await env.DB.prepare(`INSERT INTO identities (source, external_id, member_id, email, email_verified, is_bot, first_seen_at) VALUES ('email', 'pc@acme.dev', 'mem_p_a', 'pc@acme.dev', 1, 0, ?)`).bind(now).run();
    await env.DB.prepare(`UPDATE members SET keys_at = NULL, keys_gen = keys_gen + 1 WHERE id IN ('mem_p_a', 'mem_p_c')`).run();
    await catchUpMemberMatching(env, identityConfigFor(loadConfig(env)));
    expect(await memberOf('discourse', 'p-c')).toBe('mem_p_c');
    expect(await suggestionOf('mem_p_a', 'mem_p_c')).toBeNull();
  });

  it('leaves a member pending when its identities changed while it was being matched', async () => {
    const now = new Date().toISOString();
    await env.DB.prepare(`INSERT INTO members (id, created_at, updated_at) VALUES ('mem_gen', '2025-03-01T00:00:00.000Z', ?)`).bind(now).run();
    const [read] = await unkeyedMembers(env.DB, ['mem_gen'], 10);
    const gens = new Map([['mem_gen', read!.keys_gen]]);
    await writeMemberKeys(env.DB, new Map([['mem_gen', ['discord:gen']]]), gens);
    // Ingestion adds an identity meanwhile (writePlan bumps keys_gen).
    await env.DB.prepare(`UPDATE members SET keys_at = NULL, keys_gen = keys_gen + 1 WHERE id = 'mem_gen'`).run();
    await markMatched(env.DB, [read!]);
    expect((await unkeyedMembers(env.DB, ['mem_gen'], 10)).map((m) => m.id)).toEqual(['mem_gen']);
    // Nor do its stale keys overwrite newer ones.
    await writeMemberKeys(env.DB, new Map([['mem_gen', ['discord:stale']]]), gens);
    const { results } = await env.DB.prepare(`SELECT key FROM member_keys WHERE member_id = 'mem_gen'`).all<{ key: string }>();
    expect(results.map((r) => r.key)).toEqual(['discord:gen']);
  });

  it('merges several members into one with a person\'s link each to the same contact: the person\'s decision moves, nothing fails', async () => {
    const now = new Date().toISOString();
    const link = (member: string, decidedBy: string | null, status: string) =>
      env.DB.prepare(
        `INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, decided_by, decided_at, created_at, updated_at)
         VALUES (?1, 'hubspot', 'contact', 'c-42', 'email', ?3, 0.9, '[]', ?2, ?4, ?4, ?4)`,
      ).bind(member, decidedBy, status, now);
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO members (id, created_at, updated_at) VALUES ('mem_l_a', ?1, ?1), ('mem_l_b', ?1, ?1), ('mem_l_c', ?1, ?1)`).bind(now),
      link('mem_l_a', null, 'auto'), link('mem_l_b', 'user:ana', 'rejected'), link('mem_l_c', 'user:ana', 'rejected'),
    ]);
    const results = await mergeMembersMany(env.DB, [{ into: 'mem_l_a', from: 'mem_l_b' }, { into: 'mem_l_a', from: 'mem_l_c' }], 'user:ana', false);
    expect(results.map((r) => r.merged)).toEqual([true, true]);
    // The person's rejection replaced automation's link on the survivor.
    const survivor = await env.DB.prepare(`SELECT status, decided_by FROM links WHERE member_id = 'mem_l_a' AND crm_id = 'c-42'`).first();
    expect(survivor).toEqual({ status: 'rejected', decided_by: 'user:ana' });
    // Groups must be disjoint: a member merged away twice, or merged away and receiving, is refused before any write.
    await expect(mergeMembersMany(env.DB, [{ into: 'x', from: 'y' }, { into: 'z', from: 'y' }], 'test', true)).rejects.toThrow(/merged away once/);
    await expect(mergeMembersMany(env.DB, [{ into: 'x', from: 'y' }, { into: 'y', from: 'z' }], 'test', true)).rejects.toThrow(/merged away once/);
  });

  it('automation never merges two members a person told apart into one survivor in one call; a person may; others go ahead', async () => {
    const now = new Date().toISOString();
    const ids = ['mem_g_a', 'mem_g_b', 'mem_g_c', 'mem_g_d', 'mem_g_e'];
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO members (id, created_at, updated_at) SELECT value, ?1, ?1 FROM json_each(?2)`).bind(now, JSON.stringify(ids)),
      // b and c are different people (recorded after matching planned b → a and c → a); d has a decision about e,
      // who is not in the call, and b one about an unrelated member: neither stops anything.
      env.DB.prepare(`INSERT INTO member_decisions (member_a, member_b, decision, decided_by, decided_at) VALUES
        ('mem_g_b', 'mem_g_c', 'not_same', 'user:ana', ?1), ('mem_g_d', 'mem_g_e', 'not_same', 'user:ana', ?1), ('mem_g_b', 'mem_g_z', 'not_same', 'user:ana', ?1)`).bind(now),
    ]);
    const wanted = [{ into: 'mem_g_a', from: 'mem_g_b' }, { into: 'mem_g_a', from: 'mem_g_c' }, { into: 'mem_g_a', from: 'mem_g_d' }];
    expect((await mergeMembersMany(env.DB, wanted, 'automation:member-match', true)).map((r) => r.merged)).toEqual([false, false, true]);
    expect((await mergeMembersMany(env.DB, wanted.slice(0, 2), 'user:ana', false)).map((r) => r.merged)).toEqual([true, true]);
  });

  it('refuses to undo a merge into a member that was itself merged away, and never attaches identities to one', async () => {
    const now = new Date().toISOString();
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO members (id, created_at, updated_at) VALUES ('mem_u_a', ?1, ?1), ('mem_u_b', ?1, ?1), ('mem_u_c', ?1, ?1)`).bind(now),
      env.DB.prepare(`INSERT INTO identities (source, external_id, member_id, email_verified, is_bot, first_seen_at) VALUES ('discord', 'u-b', 'mem_u_b', 0, 0, ?1)`).bind(now),
    ]);
    expect((await mergeMembers(env.DB, 'mem_u_a', 'mem_u_b', 'user:ana')).merged).toBe(true);
    expect((await mergeMembers(env.DB, 'mem_u_c', 'mem_u_a', 'user:ana')).merged).toBe(true);
    const res = await postJson('/v1/members/mem_u_a/unmerge', {});
    expect(res.status).toBe(409);
    expect(await memberOf('discord', 'u-b')).toBe('mem_u_c');
    // A message planned before mem_u_a was merged away fails (and is retried, planned again) instead of attaching to it.
    const plan = {
      members: [], changedIdentities: [], conflicts: [], activities: [],
      newIdentities: [{ source: 'discord', external_id: 'u-late', member_id: 'mem_u_a', handle: null, handle_lc: null, email: null, email_verified: 0, name: null, company: null, is_bot: 0 }],
    };
    await expect(writePlan(env.DB, plan, { origin: 'test', receivedAt: now })).rejects.toThrow();
    expect(await memberOf('discord', 'u-late')).toBeUndefined();
  });

  it('members an invocation had no budget to match are matched by the chain on the sync queue, one chain at a time', async () => {
    const identity = identityConfigFor(loadConfig(env));
    const msg = (source: string, id: string) => activityMessageSchema.parse({
      v: 1, origin: 'test', received_at: new Date().toISOString(),
      items: [item(source, `${source}.message`, [{ source, id, handle: `budget-${id}`, email: 'budget@chain.dev', email_verified: true }])],
    });
    await applyActivityMessage(env.DB, msg('github', '9101'), undefined, identity);
    // The next message's invocation has spent its matching budget: stored, left pending.
    const out = await applyActivityMessage(env.DB, msg('discourse', 'b-9101'), undefined, identity, null);
    expect(out.matching).toBe('skipped');
    const forum = (await memberOf('discourse', 'b-9101'))!;
    // Joined at ingestion already through the verified email identity; pending for matching all the same.
    expect(await env.DB.prepare('SELECT keys_at FROM members WHERE id = ?').bind(forum).first('keys_at')).toBeNull();
    // Another chain holds the lease: this message does nothing.
    expect(await claimMatchLease(env.DB, 'other-chain', 60_000)).toBe(true);
    await matchChainStep(env, identity, null, createLogger({}, 'error'));
    expect(await env.DB.prepare('SELECT keys_at FROM members WHERE id = ?').bind(forum).first('keys_at')).toBeNull();
    // That chain goes on with its token and matches everything pending.
    await matchChainStep(env, identity, 'other-chain', createLogger({}, 'error'));
    expect(await countRows('members', 'keys_at IS NULL AND merged_into IS NULL')).toBe(0);
    // Done: the lease is free for the next chain.
    expect(await claimMatchLease(env.DB, 'next-chain', 60_000)).toBe(true);
  });
});
