import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { activity, call, countRows, postJson, waitFor } from './helpers';

describe('POST /v1/activities', () => {
  it('stores a valid batch once, creating one member per person', async () => {
    const items = Array.from({ length: 20 }, (_, n) => activity(n, { external_id: `batch-a-${n}` }));
    const res = await postJson('/v1/activities', { activities: items });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 20, rejected: [] });
    await waitFor(async () => (await countRows('activities', "external_id LIKE 'batch-a-%'")) === 20);
    expect(await countRows('identities', "source = 'discord'")).toBe(7);
    const members = await env.DB.prepare(
      "SELECT count(DISTINCT member_id) AS n FROM activities WHERE external_id LIKE 'batch-a-%'",
    ).first<{ n: number }>();
    expect(members?.n).toBe(7);
  });

  it('reports invalid items by index and field path and accepts the rest', async () => {
    const good = activity(1, { external_id: 'mixed-good' });
    const bad = { ...activity(2, { external_id: 'mixed-bad' }), occurred_at: 'yesterday' };
    const res = await postJson('/v1/activities', { activities: [good, bad] });
    expect(res.status).toBe(202);
    const body = await res.json<{ accepted: number; rejected: { index: number; issues: { path: string }[] }[] }>();
    expect(body.accepted).toBe(1);
    expect(body.rejected).toHaveLength(1);
    expect(body.rejected[0]!.index).toBe(1);
    expect(body.rejected[0]!.issues[0]!.path).toBe('activities.1.occurred_at');
    await waitFor(async () => (await countRows('activities', "external_id = 'mixed-good'")) === 1);
    expect(await countRows('activities', "external_id = 'mixed-bad'")).toBe(0);
  });

  it('answers 400 naming the fields when nothing is valid, and stores nothing', async () => {
    const res = await postJson('/v1/activities', { activities: [{ source: 'nowhere', external_id: 'x-none' }] });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; issues: { path: string }[] } }>();
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['activities.0.source', 'activities.0.type', 'activities.0.occurred_at', 'activities.0.member']),
    );
  });

  it('rejects malformed JSON, wrong content type, oversize batches and bodies', async () => {
    const malformed = await call('/v1/activities', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"activities": [' });
    expect(malformed.status).toBe(400);
    expect((await malformed.json<{ error: { code: string } }>()).error.code).toBe('malformed_json');

    const wrongType = await call('/v1/activities', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(wrongType.status).toBe(415);

    const tooMany = await postJson('/v1/activities', { activities: Array.from({ length: 1001 }, (_, n) => activity(n)) });
    expect(tooMany.status).toBe(413);
    expect((await tooMany.json<{ error: { issues: { path: string }[] } }>()).error.issues[0]!.path).toBe('activities');

    const huge = await call('/v1/activities', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ activities: [activity(1, { title: 'x'.repeat(1_100_000) })] }),
    });
    expect(huge.status).toBe(413);
  });

  it('keeps exactly one activity when the same external id arrives twice', async () => {
    const item = activity(3, { external_id: 'dupe-1' });
    await postJson('/v1/activities', { activities: [item] });
    await postJson('/v1/activities', { activities: [item, item] });
    await waitFor(async () => (await countRows('activities', "external_id = 'dupe-1'")) === 1);
    // Give any straggling message time to land before asserting the count stayed at one.
    await new Promise((r) => setTimeout(r, 300));
    expect(await countRows('activities', "external_id = 'dupe-1'")).toBe(1);
  });
});

describe('access control', () => {
  it('requires a bearer token with the right scope', async () => {
    expect((await call('/v1/activities', { token: null })).status).toBe(401);
    expect((await call('/v1/activities', { token: 'nope' })).status).toBe(401);
    const created = await postJson('/v1/tokens', { name: 'reader', scopes: ['read'] });
    expect(created.status).toBe(201);
    const { token, id } = await created.json<{ token: string; id: string }>();
    expect((await call('/v1/activities', { token })).status).toBe(200);
    expect((await postJson('/v1/activities', { activities: [activity(1)] }, { token })).status).toBe(403);
    const stored = await env.DB.prepare('SELECT token_hash FROM api_tokens WHERE id = ?').bind(id).first<{ token_hash: string }>();
    expect(stored?.token_hash).not.toContain(token);
    expect((await call(`/v1/tokens/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call('/v1/activities', { token })).status).toBe(401);
  });

  it('serves health without a token', async () => {
    expect((await call('/healthz', { token: null })).status).toBe(200);
    const ready = await call('/readyz', { token: null });
    expect(ready.status).toBe(200);
  });
});

describe('GET /v1/activities and members', () => {
  it('filters by member identity, source, type and time, pages with a cursor, and shows member detail', async () => {
    const items = [
      { ...activity(1, { external_id: 'q-1', source: 'github', type: 'github.star', occurred_at: '2026-02-01T00:00:00Z' }), member: { identities: [{ source: 'github', id: '4242', handle: 'Octocat' }] } },
      { ...activity(2, { external_id: 'q-2', source: 'github', type: 'github.fork', occurred_at: '2026-03-01T00:00:00Z' }), member: { identities: [{ source: 'github', id: '4242', handle: 'Octocat' }] } },
      { ...activity(3, { external_id: 'q-3', source: 'github', type: 'github.issues.opened', occurred_at: '2026-04-01T00:00:00Z' }), member: { identities: [{ source: 'github', id: '4242', handle: 'Octocat' }] } },
      { ...activity(4, { external_id: 'q-4', source: 'discord', type: 'discord.message', occurred_at: '2026-04-02T00:00:00Z' }), member: { identities: [{ source: 'discord', id: 'other' }] } },
    ];
    await postJson('/v1/activities', { activities: items });
    await waitFor(async () => (await countRows('activities', "external_id LIKE 'q-%'")) === 4);
    type Page = { data: { external_id: string; type: string }[]; next_cursor: number | null };
    const get = async (q: string) => (await call(`/v1/activities?${q}`)).json<Page>();
    expect((await get('identity=github:octocat')).data.map((a) => a.external_id).sort()).toEqual(['q-1', 'q-2', 'q-3']);
    expect((await get('identity=github:4242&type=github.fork')).data.map((a) => a.external_id)).toEqual(['q-2']);
    expect((await get('identity=github:octocat&since=2026-02-15T00:00:00Z&until=2026-04-01T00:00:00Z')).data.map((a) => a.external_id)).toEqual(['q-2']);
    expect((await get('source=discord&type=discord')).data.map((a) => a.external_id)).toContain('q-4');
    const first = await get('identity=github:octocat&limit=2');
    expect(first.data).toHaveLength(2);
    const second = await get(`identity=github:octocat&limit=2&cursor=${first.next_cursor}`);
    expect([...first.data, ...second.data].map((a) => a.external_id).sort()).toEqual(['q-1', 'q-2', 'q-3']);
    expect((await call('/v1/activities?since=yesterday')).status).toBe(400);

    const found = await (await call('/v1/members?identity=github:Octocat')).json<{ data: { id: string }[] }>();
    expect(found.data).toHaveLength(1);
    const member = await (await call(`/v1/members/${found.data[0]!.id}`)).json<{
      identities: { source: string; id: string; handle: string }[];
      activity: { total: number; by_type: Record<string, number>; first_at: string; last_at: string };
    }>();
    expect(member.identities).toEqual([expect.objectContaining({ source: 'github', id: '4242', handle: 'Octocat' })]);
    expect(member.activity).toMatchObject({ total: 3, first_at: '2026-02-01T00:00:00.000Z', last_at: '2026-04-01T00:00:00.000Z' });
    expect(member.activity.by_type['github.fork']).toBe(1);
    expect((await call('/v1/members/mem_nope')).status).toBe(404);
  });
});
