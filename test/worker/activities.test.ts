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
