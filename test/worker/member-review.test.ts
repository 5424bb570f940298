import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { signSession } from '../../src/auth/session';
import type { Role } from '../../src/auth/scopes';
import { loadConfig } from '../../src/env';
import { call, countRows, postJson } from './helpers';

/**
 * Member matching for people: "these two members may be one person" suggestions and identity conflicts, through the API
 * (GET /v1/members/suggestions|conflicts, POST /v1/members/:id/not-same) and the review and member pages.
 * Rows are seeded with SQL (migrations 0001, 0002, 0012); ids carry the mrv_ prefix so other files' rows do not matter.
 */
const NOW = '2026-11-20T00:00:00.000Z';
const cookies: Partial<Record<Role, string>> = {};

function page(path: string, role: Role | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (role) headers.set('cookie', `ci_session=${cookies[role]}`);
  return exports.default.fetch(new Request(`http://127.0.0.1${path}`, { redirect: 'manual', ...init, headers }));
}

function post(path: string, form: Record<string, string>, role: Role) {
  return page(path, role, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

async function csrfOf(path: string, role: Role): Promise<string> {
  const m = /name="_csrf" value="([^"]+)"/.exec(await (await page(path, role)).text());
  if (!m) throw new Error(`no CSRF token on ${path}`);
  return m[1]!;
}

/** The HTML of one table row of a pair (data-pair="a:b"), or null. */
const pairRow = (html: string, a: string, b: string) => new RegExp(`<tr data-pair="${a}:${b}"[^>]*>[\\s\\S]*?</tr>`).exec(html)?.[0] ?? null;
const text = (html: string) => html.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/\s+/g, ' ');
const location = (res: Response) => decodeURIComponent(res.headers.get('location') ?? '');

type Suggestion = { member_a: { id: string; display_name: string | null }; member_b: { id: string; display_name: string | null }; keep: string; score: number; reasons: string[]; blocked: string[] | null };
type Issues = { error: { code: string; issues?: { path: string; message: string }[] } };

const b64url = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

beforeAll(async () => {
  const config = loadConfig(env);
  for (const role of ['viewer', 'editor', 'admin'] as const) cookies[role] = await signSession(config, { sub: `test:${role}`, name: `Test ${role}`, role });
  const db = env.DB;
  const members: [string, string | null][] = [
    ['mrv_hub', 'Hub Person'], ['mrv_o1', 'Other One'], ['mrv_o2', 'Other Two'], ['mrv_o3', 'Other Three'], ['mrv_o4', 'Other Four'], ['mrv_o5', null],
    ['mrv_blk1', 'Blocked One'], ['mrv_blk2', 'Blocked Two'],
    ['mrv_p1', 'Pair One'], ['mrv_p2', 'Pair Two'],
    ['mrv_u1', 'Ui One'], ['mrv_u2', 'Ui Two'],
    ['mrv_m1', 'Merge Into'], ['mrv_m2', 'Merge From'],
    ['mrv_x1', 'Member Page One'], ['mrv_x2', 'Member Page Two'],
  ];
  const suggestion = (a: string, b: string, score: number, reasons: string[], blocked: string[] | null = null) =>
    db.prepare(`INSERT OR REPLACE INTO member_suggestions (member_a, member_b, score, reasons, blocked, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)`)
      .bind(a, b, score, JSON.stringify(reasons), blocked ? JSON.stringify(blocked) : null, NOW);
  await db.batch([
    ...members.map(([id, name]) => db.prepare(`INSERT OR IGNORE INTO members (id, display_name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)`).bind(id, name, NOW)),
    db.prepare(`INSERT OR IGNORE INTO identities (source, external_id, member_id, handle, handle_lc, first_seen_at) VALUES ('github', 'mrv-gh-1', 'mrv_blk1', 'blk1', 'blk1', ?1), ('github', 'mrv-gh-2', 'mrv_blk2', 'blk2', 'blk2', ?1)`).bind(NOW),
    // Two pairs tie on 0.8: the keyset orders them by (member_a, member_b) descending.
    suggestion('mrv_hub', 'mrv_o1', 0.93, ['same handle on GitHub and Discourse', 'same full name']),
    suggestion('mrv_hub', 'mrv_o2', 0.8, ['same full name']),
    suggestion('mrv_hub', 'mrv_o3', 0.8, ['same handle']),
    suggestion('mrv_hub', 'mrv_o4', 0.7, ['same handle']),
    suggestion('mrv_hub', 'mrv_o5', 0.65, ['unverified email matches']),
    suggestion('mrv_blk1', 'mrv_blk2', 0.5, ['share a verified identifier'], ['two different github accounts']),
    suggestion('mrv_p1', 'mrv_p2', 0.75, ['same full name']),
    suggestion('mrv_u1', 'mrv_u2', 0.74, ['same full name']),
    suggestion('mrv_m1', 'mrv_m2', 0.73, ['same handle', 'same full name']),
    suggestion('mrv_x1', 'mrv_x2', 0.72, ['same handle']),
    // member_a (first by id) is the newer member here: a merge keeps the older one, whatever the id order.
    db.prepare(`INSERT OR IGNORE INTO members (id, display_name, created_at, updated_at) VALUES ('mrv_n1', 'Newer Member', ?1, ?1), ('mrv_n2', 'Older Member', ?2, ?2)`)
      .bind('2026-11-21T00:00:00.000Z', '2026-11-01T00:00:00.000Z'),
    suggestion('mrv_n1', 'mrv_n2', 0.71, ['same handle']),
    db.prepare(`INSERT OR IGNORE INTO identity_conflicts (member_id, code, message, refs, created_at) VALUES (?1, ?2, ?3, ?4, ?5)`)
      .bind('mrv_hub', 'duplicate_crm_email', 'hub@acme.test is on 2 HubSpot contacts', '["mrv-c1","mrv-c2"]', '2026-11-18T00:00:00.000Z'),
    db.prepare(`INSERT OR IGNORE INTO identity_conflicts (member_id, code, message, refs, created_at) VALUES (?1, ?2, ?3, ?4, ?5)`)
      .bind('mrv_o2', 'role_mailbox', 'info@acme.test is a shared role mailbox; not linked automatically', '["mrv-c3"]', '2026-11-19T00:00:00.000Z'),
  ]);
});

describe('GET /v1/members/suggestions', () => {
  it('lists open suggestions best first with both members, reasons and blockers', async () => {
    const res = await call('/v1/members/suggestions?limit=200');
    expect(res.status).toBe(200);
    const { data } = await res.json<{ data: Suggestion[] }>();
    const scores = data.map((s) => s.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    const hub = data.filter((s) => s.member_a.id === 'mrv_hub');
    expect(hub.map((s) => s.member_b.id)).toEqual(['mrv_o1', 'mrv_o3', 'mrv_o2', 'mrv_o4', 'mrv_o5']);
    expect(hub[0]).toMatchObject({ member_a: { id: 'mrv_hub', display_name: 'Hub Person' }, member_b: { id: 'mrv_o1', display_name: 'Other One' }, score: 0.93, reasons: ['same handle on GitHub and Discourse', 'same full name'], blocked: null });
    expect(data.find((s) => s.member_a.id === 'mrv_blk1')).toMatchObject({ blocked: ['two different github accounts'] });
  });

  it('pages with the cursor (ties kept in keyset order) and filters by member', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(`/v1/members/suggestions?member=mrv_hub&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      const body: { data: Suggestion[]; next_cursor: string | null } = await res.json();
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((s) => s.member_b.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(['mrv_o1', 'mrv_o3', 'mrv_o2', 'mrv_o4', 'mrv_o5']);
    expect(pages).toBe(3);
    const other = await (await call('/v1/members/suggestions?member=mrv_o3')).json<{ data: Suggestion[]; next_cursor: string | null }>();
    expect(other.data.map((s) => [s.member_a.id, s.member_b.id])).toEqual([['mrv_hub', 'mrv_o3']]);
    expect(other.next_cursor).toBeNull();
  });

  it('answers 400 naming the field for a bad limit or cursor', async () => {
    for (const [query, field] of [
      ['limit=0', 'query.limit'], ['limit=201', 'query.limit'], ['limit=abc', 'query.limit'],
      ['cursor=%25%25%25', 'query.cursor'], ['cursor=bm90LWpzb24', 'query.cursor'], [`cursor=${b64url('["x",1]')}`, 'query.cursor'], [`cursor=${b64url('{"score":1}')}`, 'query.cursor'],
    ] as const) {
      const res = await call(`/v1/members/suggestions?${query}`);
      expect(res.status, query).toBe(400);
      const body = await res.json<Issues>();
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.issues?.map((i) => i.path), query).toContain(field);
    }
  });
});

describe('GET /v1/members/conflicts', () => {
  it('lists conflicts newest first with the member and refs, for everyone or one member', async () => {
    const all = await call('/v1/members/conflicts');
    expect(all.status).toBe(200);
    const { data } = await all.json<{ data: { member_id: string; display_name: string | null; code: string; message: string; refs: string[]; created_at: string }[] }>();
    const mine = data.filter((c) => c.member_id.startsWith('mrv_'));
    expect(mine.map((c) => c.code)).toEqual(['role_mailbox', 'duplicate_crm_email']);
    const one = await (await call('/v1/members/conflicts?member=mrv_hub')).json<{ data: unknown[] }>();
    expect(one.data).toEqual([{ member_id: 'mrv_hub', display_name: 'Hub Person', code: 'duplicate_crm_email', message: 'hub@acme.test is on 2 HubSpot contacts', refs: ['mrv-c1', 'mrv-c2'], created_at: '2026-11-18T00:00:00.000Z' }]);
    const bad = await call('/v1/members/conflicts?limit=0');
    expect(bad.status).toBe(400);
    expect((await bad.json<Issues>()).error.issues?.[0]?.path).toBe('query.limit');
  });

  it('GET /v1/members/:id carries the member’s suggestions and conflicts', async () => {
    const res = await call('/v1/members/mrv_hub');
    expect(res.status).toBe(200);
    const m = await res.json<{ id: string; suggestions: Suggestion[]; conflicts: { code: string }[] }>();
    expect(m.id).toBe('mrv_hub');
    expect(m.suggestions.map((s) => s.member_b.id)).toEqual(['mrv_o1', 'mrv_o3', 'mrv_o2', 'mrv_o4', 'mrv_o5']);
    expect(m.conflicts.map((c) => c.code)).toEqual(['duplicate_crm_email']);
  });
});

describe('POST /v1/members/:id/not-same', () => {
  it('records the decision, removes the suggestion and audits', async () => {
    const auditBefore = await countRows('audit_log', `action = 'member.not_same'`);
    const res = await postJson('/v1/members/mrv_p2/not-same', { member: 'mrv_p1' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ member_a: 'mrv_p1', member_b: 'mrv_p2', decision: 'not_same' });
    const decision = await env.DB.prepare(`SELECT decision, decided_by FROM member_decisions WHERE member_a = 'mrv_p1' AND member_b = 'mrv_p2'`).first<{ decision: string; decided_by: string }>();
    expect(decision).toMatchObject({ decision: 'not_same' });
    expect(decision!.decided_by).toMatch(/^(bootstrap|token):/);
    expect(await countRows('member_suggestions', `member_a = 'mrv_p1' AND member_b = 'mrv_p2'`)).toBe(0);
    expect(await countRows('audit_log', `action = 'member.not_same'`)).toBe(auditBefore + 1);
    const audit = await env.DB.prepare(`SELECT actor, detail FROM audit_log WHERE action = 'member.not_same' ORDER BY id DESC LIMIT 1`).first<{ actor: string; detail: string }>();
    expect(JSON.parse(audit!.detail)).toEqual({ member_a: 'mrv_p1', member_b: 'mrv_p2' });
    expect(audit!.actor).toBe(decision!.decided_by);
    const listed = await (await call('/v1/members/suggestions?member=mrv_p1')).json<{ data: unknown[] }>();
    expect(listed.data).toEqual([]);
  });

  it('answers 404 for an unknown member and 400 naming member when it is missing or the same', async () => {
    const unknown = await postJson('/v1/members/mrv_p1/not-same', { member: 'mrv_nobody' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json<Issues>()).error.issues?.[0]?.path).toBe('member');
    expect((await postJson('/v1/members/mrv_nobody/not-same', { member: 'mrv_p1' })).status).toBe(404);
    for (const body of [{}, { member: '' }, { member: 'mrv_p1' }]) {
      const res = await postJson('/v1/members/mrv_p1/not-same', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json<Issues>()).error.issues?.map((i) => i.path)).toContain('member');
    }
    expect((await call('/v1/members/mrv_p1/not-same', { method: 'POST', body: 'member=mrv_p2', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
    expect(await countRows('member_decisions', `member_a = 'mrv_p1' AND member_b = 'mrv_nobody'`)).toBe(0);
  });

  it('needs the configure scope', async () => {
    const { token } = await (await postJson('/v1/tokens', { name: 'reader', scopes: ['read'] })).json<{ token: string }>();
    expect((await postJson('/v1/members/mrv_u1/not-same', { member: 'mrv_u2' }, { token })).status).toBe(403);
    expect((await call('/v1/members/suggestions', { token })).status).toBe(200);
    expect(await countRows('member_decisions', `member_a = 'mrv_u1'`)).toBe(0);
  });
});

describe('review page', () => {
  it('shows possible duplicates with Merge and Not the same person, blocked pairs without Merge, and conflicts', async () => {
    const res = await page('/review', 'editor');
    expect(res.status).toBe(200);
    const html = await res.text();
    const t = text(html);
    expect(t).toMatch(/Possible duplicate members/);
    expect(t).toMatch(/Identity conflicts/);

    const row = pairRow(html, 'mrv_hub', 'mrv_o1')!;
    expect(row).not.toBeNull();
    expect(row).toContain('href="/members/mrv_hub"');
    expect(row).toContain('href="/members/mrv_o1"');
    expect(text(row)).toMatch(/93%/);
    expect(text(row)).toMatch(/same handle on GitHub and Discourse/);
    // Merge posts to the member page's merge route (mergeChecked): member_b into member_a, answering on /review.
    expect(row).toMatch(/<form method="post" action="\/members\/mrv_hub\/merge"><input type="hidden" name="_csrf" value="[^"]+"\/><input type="hidden" name="member_id" value="mrv_o1"\/><input type="hidden" name="back" value="review"\/>/);
    expect(row).toMatch(/>Merge<\/button>/);
    expect(row).toMatch(/action="\/members\/mrv_hub\/not-same"[\s\S]*name="member" value="mrv_o1"[\s\S]*>Not the same person<\/button>/);

    const blocked = pairRow(html, 'mrv_blk1', 'mrv_blk2')!;
    expect(blocked).not.toBeNull();
    expect(text(blocked)).toMatch(/two different github accounts/);
    expect(blocked).not.toMatch(/>Merge<\/button>/);
    expect(blocked).not.toContain('/merge"');
    expect(blocked).toMatch(/>Not the same person<\/button>/);

    const conflicts = /<table id="conflicts">[\s\S]*?<\/table>/.exec(html)![0];
    expect(conflicts).toMatch(/<caption>/);
    expect(conflicts).toMatch(/<th scope="col">Code<\/th>/);
    expect(conflicts).toContain('href="/members/mrv_hub"');
    expect(text(conflicts)).toMatch(/duplicate_crm_email hub@acme\.test is on 2 HubSpot contacts mrv-c1 mrv-c2/);
    expect(text(conflicts)).toMatch(/role_mailbox/);
    expect(/<table id="duplicates">[\s\S]*?<\/table>/.exec(html)![0]).toMatch(/<caption>[\s\S]*<th scope="col">Member<\/th>/);
  });

  it('records "not the same person" from the page and comes back to /review with a message', async () => {
    const csrf = await csrfOf('/review', 'editor');
    const res = await post('/members/mrv_u2/not-same', { _csrf: csrf, member: 'mrv_u1' }, 'editor');
    expect(res.status).toBe(303);
    const to = location(res);
    expect(to).toMatch(/^\/review\?done=/);
    expect(to).toMatch(/Ui Two \(mrv_u2\) and Ui One \(mrv_u1\) are not the same person/);
    const decision = await env.DB.prepare(`SELECT decision, decided_by FROM member_decisions WHERE member_a = 'mrv_u1' AND member_b = 'mrv_u2'`).first<{ decision: string; decided_by: string }>();
    expect(decision).toEqual({ decision: 'not_same', decided_by: 'person:test:editor' });
    expect(await countRows('member_suggestions', `member_a = 'mrv_u1'`)).toBe(0);
    expect(await countRows('audit_log', `action = 'member.not_same' AND actor = 'person:test:editor'`)).toBeGreaterThanOrEqual(1);
    const after = await (await page(res.headers.get('location')!, 'editor')).text();
    expect(text(after)).toMatch(/are not the same person/);
    expect(pairRow(after, 'mrv_u1', 'mrv_u2')).toBeNull();

    const unknown = await post('/members/mrv_u1/not-same', { _csrf: csrf, member: 'mrv_nobody' }, 'editor');
    expect(location(unknown)).toMatch(/^\/review\?error=No member mrv_nobody\./);
    const missing = await post('/members/mrv_u1/not-same', { _csrf: csrf }, 'editor');
    expect(location(missing)).toMatch(/^\/review\?error=/);
  });

  it('merges a pair from the page through the member merge route and comes back to /review', async () => {
    const csrf = await csrfOf('/review', 'editor');
    const res = await post('/members/mrv_m1/merge', { _csrf: csrf, member_id: 'mrv_m2', back: 'review' }, 'editor');
    expect(res.status).toBe(303);
    expect(location(res)).toMatch(/^\/review\?done=Merged mrv_m2 into mrv_m1/);
    expect((await env.DB.prepare(`SELECT merged_into FROM members WHERE id = 'mrv_m2'`).first<{ merged_into: string | null }>())!.merged_into).toBe('mrv_m1');
    expect(pairRow(await (await page('/review', 'editor')).text(), 'mrv_m1', 'mrv_m2')).toBeNull();
    // A refused merge (here: blocked) answers on /review with the reasons.
    const blocked = await post('/members/mrv_blk1/merge', { _csrf: csrf, member_id: 'mrv_blk2', back: 'review' }, 'editor');
    expect(location(blocked)).toMatch(/^\/review\?error=These members cannot be one person/);
  });

  it('Merge keeps the older member of a pair, on /review, on the member page and in the API', async () => {
    const api = await (await call('/v1/members/suggestions?member=mrv_n1')).json<{ data: Suggestion[] }>();
    expect(api.data.map((d) => [d.member_a.id, d.member_b.id, d.keep])).toEqual([['mrv_n1', 'mrv_n2', 'mrv_n2']]);
    const form = /action="\/members\/([^/"]+)\/merge"[\s\S]*?name="member_id" value="([^"]+)"[\s\S]*?aria-label="([^"]+)"/;
    const onReview = form.exec(pairRow(await (await page('/review', 'editor')).text(), 'mrv_n1', 'mrv_n2') ?? '');
    expect(onReview?.slice(1)).toEqual(['mrv_n2', 'mrv_n1', 'Merge Newer Member (mrv_n1) into Older Member (mrv_n2)']);
    const onMemberPage = form.exec(pairRow(await (await page('/members/mrv_n1', 'editor')).text(), 'mrv_n1', 'mrv_n2') ?? '');
    expect(onMemberPage?.slice(1, 3)).toEqual(['mrv_n2', 'mrv_n1']);
    // Not the same person from the newer member's page is posted to that page's member, so the answer lands there.
    const notSame = /action="\/members\/([^/"]+)\/not-same"[\s\S]*?name="member" value="([^"]+)"/;
    expect(notSame.exec(pairRow(await (await page('/members/mrv_n1', 'editor')).text(), 'mrv_n1', 'mrv_n2') ?? '')?.slice(1)).toEqual(['mrv_n1', 'mrv_n2']);
    expect(notSame.exec(pairRow(await (await page('/members/mrv_n2', 'editor')).text(), 'mrv_n1', 'mrv_n2') ?? '')?.slice(1)).toEqual(['mrv_n2', 'mrv_n1']);
    const csrf = await csrfOf('/review', 'editor');
    const res = await post('/members/mrv_n2/merge', { _csrf: csrf, member_id: 'mrv_n1', back: 'member' }, 'editor');
    expect(location(res)).toMatch(/^\/members\/mrv_n2\?done=Merged mrv_n1 into this member/);
    expect((await env.DB.prepare(`SELECT merged_into FROM members WHERE id = 'mrv_n1'`).first<{ merged_into: string | null }>())!.merged_into).toBe('mrv_n2');
  });

  it('pages the possible duplicates 100 at a time, best first, without repeats; a bad cursor shows the first page', async () => {
    const db = env.DB;
    const ids = Array.from({ length: 105 }, (_, n) => `mrv_pg${String(n).padStart(3, '0')}`);
    await db.batch([
      ...ids.flatMap((id) => [`${id}a`, `${id}b`]).map((id) => db.prepare(`INSERT INTO members (id, display_name, created_at, updated_at) VALUES (?1, NULL, ?2, ?2)`).bind(id, NOW)),
      ...ids.map((id, n) => db.prepare(`INSERT INTO member_suggestions (member_a, member_b, score, reasons, blocked, created_at, updated_at) VALUES (?1, ?2, ?3, '["same handle"]', NULL, ?4, ?4)`)
        .bind(`${id}a`, `${id}b`, 0.01 + n / 100_000, NOW)),
    ]);
    try {
      const pairsOf = (html: string) => [...html.matchAll(/<tr data-pair="([^"]+)"/g)].map((m) => m[1]!);
      const first = await (await page('/review', 'editor')).text();
      const firstPairs = pairsOf(/<table id="duplicates">[\s\S]*?<\/table>/.exec(first)![0]);
      expect(firstPairs).toHaveLength(100);
      const next = /href="(\/review\?dup_after=[^"#]+)#duplicates-review">Next possible duplicates/.exec(first)?.[1];
      // The links section's pager keeps the duplicates' position and the other way round.
      expect(await (await page(`${next!}&after=7`, 'editor')).text()).toContain('href="/review?after=7#duplicates-review">← Best matches');
      expect(next).toBeTruthy();
      const second = await (await page(next!, 'editor')).text();
      const secondPairs = pairsOf(/<table id="duplicates">[\s\S]*?<\/table>/.exec(second)![0]);
      const all = [...firstPairs, ...secondPairs];
      expect(new Set(all).size).toBe(all.length);
      const { results } = await db.prepare(`SELECT member_a || ':' || member_b AS pair FROM member_suggestions s
        WHERE (SELECT merged_into FROM members WHERE id = s.member_a) IS NULL AND (SELECT merged_into FROM members WHERE id = s.member_b) IS NULL
        ORDER BY score DESC, member_a DESC, member_b DESC`).all<{ pair: string }>();
      expect(all).toEqual(results.map((r) => r.pair));
      expect(second).toContain('href="/review#duplicates-review">← Best matches');
      // Exactly a page left over: no link to an empty page.
      await db.prepare(`DELETE FROM member_suggestions WHERE member_a IN (SELECT member_a FROM member_suggestions ORDER BY score ASC LIMIT ?1)`)
        .bind(all.length - 100).run();
      expect(await (await page('/review', 'editor')).text()).not.toContain('Next possible duplicates');
      expect(second).not.toContain('Next possible duplicates');
      const bad = await (await page('/review?dup_after=not-a-cursor', 'editor')).text();
      expect(pairsOf(/<table id="duplicates">[\s\S]*?<\/table>/.exec(bad)![0])).toEqual(firstPairs);
    } finally {
      await db.batch([
        db.prepare(`DELETE FROM member_suggestions WHERE member_a LIKE 'mrv_pg%'`),
        db.prepare(`DELETE FROM members WHERE id LIKE 'mrv_pg%'`),
      ]);
    }
  });

  it('refuses a viewer and a post without the CSRF token', async () => {
    expect((await page('/review', 'viewer')).status).toBe(403);
    const csrf = await csrfOf('/members/mrv_x1', 'viewer');
    expect((await post('/members/mrv_x1/not-same', { _csrf: csrf, member: 'mrv_x2' }, 'viewer')).status).toBe(403);
    expect((await post('/members/mrv_x1/not-same', { member: 'mrv_x2' }, 'editor')).status).toBe(403);
    expect(await countRows('member_decisions', `member_a = 'mrv_x1'`)).toBe(0);
    expect(await countRows('member_suggestions', `member_a = 'mrv_x1'`)).toBe(1);
  });
});

describe('member page', () => {
  it('shows the member’s possible duplicates and conflicts; editors get both actions, viewers none', async () => {
    const html = await (await page('/members/mrv_hub', 'editor')).text();
    const dup = /<table id="duplicates">[\s\S]*?<\/table>/.exec(html)![0];
    expect(dup).toContain('href="/members/mrv_o1"');
    expect(dup).toMatch(/action="\/members\/mrv_hub\/merge"[\s\S]*?name="member_id" value="mrv_o1"[\s\S]*?name="back" value="member"/);
    expect(dup).toMatch(/>Not the same person<\/button>/);
    expect(text(dup)).toMatch(/mrv_o5/); // no display name: the id stands in
    const conflicts = /<table id="conflicts">[\s\S]*?<\/table>/.exec(html)![0];
    expect(text(conflicts)).toMatch(/duplicate_crm_email/);
    expect(text(conflicts)).not.toMatch(/role_mailbox/);

    const viewer = await (await page('/members/mrv_hub', 'viewer')).text();
    expect(text(viewer)).toMatch(/Other One/);
    expect(viewer).not.toMatch(/>Not the same person<\/button>/);
    expect(viewer).not.toMatch(/>Merge<\/button>/);

    const empty = text(await (await page('/members/mrv_o4', 'editor')).text());
    expect(empty).toMatch(/None: identity resolution settled everything about this member/);
  });

  it('not the same person from the member page answers on the member page', async () => {
    const csrf = await csrfOf('/members/mrv_x1', 'editor');
    const res = await post('/members/mrv_x1/not-same', { _csrf: csrf, member: 'mrv_x2', back: 'member' }, 'editor');
    expect(res.status).toBe(303);
    expect(location(res)).toMatch(/^\/members\/mrv_x1\?done=Recorded: Member Page One \(mrv_x1\) and Member Page Two \(mrv_x2\)/);
    const after = text(await (await page('/members/mrv_x1', 'editor')).text());
    expect(after).toMatch(/No other member looks like the same person/);
  });
});
