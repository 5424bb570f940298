import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { signSession } from '../../src/auth/session';
import { loadConfig } from '../../src/env';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { replayDeadLetter } from '../../src/ingest/dead-letters';
import { activity, call, countRows, postJson, waitFor } from './helpers';

interface Summary {
  id: number;
  queue: string;
  reason: string;
  received_at: string;
  replayed_at: string | null;
  replayed_by: string | null;
  replayable: boolean;
  activities: number | null;
  origin: string | null;
}
interface Page {
  data: Summary[];
  next_cursor: number | null;
}
interface ErrorJson {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

/** Every row here is found by a marker of its own in its body, so the file's tests do not depend on each other's rows. */
const rowWith = (marker: string) =>
  waitFor(() => env.DB.prepare('SELECT id, queue, reason, replayed_at FROM dead_letters WHERE instr(body, ?) > 0').bind(marker)
    .first<{ id: number; queue: string; reason: string; replayed_at: string | null }>(), 20_000);

/** A message whose retries ran out, through the real dead-letter consumers (as the queue delivers it). */
async function exhausted(queue: 'ci-activities-dlq' | 'ci-sync-dlq', body: unknown, marker: string): Promise<number> {
  const batch = createMessageBatch(queue, [{ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  await getQueueResult(batch, ctx);
  return (await rowWith(marker)).id;
}

const activitiesMessage = (origin: string, ids: string[]) => ({
  v: 1, origin, received_at: new Date().toISOString(), items: ids.map((id, n) => activity(n, { external_id: id })),
});

const stored = (ids: string[]) => countRows('activities', 'external_id IN (SELECT value FROM json_each(?))', JSON.stringify(ids));
const replay = (id: number | string, token?: string) => call(`/v1/dead-letters/${id}/replay`, { method: 'POST', token });
const listed = async (query: string) => (await (await call(`/v1/dead-letters?${query}`)).json<Page>()).data;

async function tokenWith(scope: string): Promise<string> {
  return (await (await postJson('/v1/tokens', { name: `dl-${scope}`, scopes: [scope] })).json<{ token: string }>()).token;
}

describe('dead letters', () => {
  it('an unparseable message reaches dead_letters through the queue; listed without body, shown with it, refused with 422', { timeout: 30_000 }, async () => {
    const marker = `dl-poison-${crypto.randomUUID()}`;
    const body = { v: 1, origin: marker, received_at: 'not a date', items: [{ nope: true }] };
    await env.ACTIVITIES.send(body, { contentType: 'json' });
    const row = await rowWith(marker);
    expect(row.queue).toBe('ci-activities-dlq');
    expect(row.reason).toMatch(/^unparseable message: .*received_at/);

    const item = (await listed('queue=ci-activities-dlq&state=open&limit=100')).find((r) => r.id === row.id);
    expect(item).toEqual({
      id: row.id, queue: 'ci-activities-dlq', reason: row.reason, received_at: expect.any(String), replayed_at: null, replayed_by: null,
      replayable: false, activities: null, origin: null,
    });
    const one = await call(`/v1/dead-letters/${row.id}`);
    expect(one.status).toBe(200);
    expect((await one.json<{ body: unknown }>()).body).toEqual(body);

    const refused = await replay(row.id);
    expect(refused.status).toBe(422);
    const error = (await refused.json<ErrorJson>()).error;
    expect(error.code).toBe('not_replayable');
    expect(error.message).toContain(row.reason);
    expect(error.issues?.map((i) => i.path)).toContain('body.received_at');
    expect((await rowWith(marker)).replayed_at).toBeNull();
  });

  it('replays a retries-exhausted activities message: stored once (no duplicate of one stored before), marked, audited; again → 409', { timeout: 30_000 }, async () => {
    await postJson('/v1/activities', { activities: [activity(1, { external_id: 'dl-a' })] });
    await waitFor(async () => (await stored(['dl-a'])) === 1);
    const ids = ['dl-a', 'dl-b', 'dl-c'];
    const message = activitiesMessage('discord-relay', ids);
    const id = await exhausted('ci-activities-dlq', message, 'dl-b');
    expect((await rowWith('dl-b')).reason).toBe('retries exhausted on ci-activities');

    const item = (await listed('queue=ci-activities-dlq&limit=100')).find((r) => r.id === id);
    expect(item).toMatchObject({ replayable: true, activities: 3, origin: 'discord-relay', replayed_at: null });
    expect(item).not.toHaveProperty('body');

    const res = await replay(id);
    expect(res.status).toBe(202);
    const replayed = await res.json<Summary & { body: unknown }>();
    expect(replayed).toMatchObject({ id, replayable: false, activities: 3, replayed_by: 'bootstrap:bootstrap-admin', body: message });
    expect(Date.parse(replayed.replayed_at!)).not.toBeNaN();

    // The message is stored in one transaction: once dl-b and dl-c are there, dl-a was met again and skipped.
    await waitFor(async () => (await stored(['dl-b', 'dl-c'])) === 2, 20_000);
    expect(await stored(ids)).toBe(3);
    expect(await stored(['dl-a'])).toBe(1);

    const again = await replay(id);
    expect(again.status).toBe(409);
    const error = (await again.json<ErrorJson>()).error;
    expect(error.code).toBe('already_replayed');
    expect(error.message).toContain('bootstrap:bootstrap-admin');

    expect((await listed('state=replayed&limit=100')).map((r) => r.id)).toContain(id);
    expect((await listed('state=open&limit=100')).map((r) => r.id)).not.toContain(id);
    expect((await listed('state=all&limit=100')).map((r) => r.id)).toContain(id);
    const audit = await (await call('/v1/audit?action=dead_letter')).json<{ data: { action: string; actor: string; detail: string }[] }>();
    const entry = audit.data.find((e) => JSON.parse(e.detail).dead_letter_id === id);
    expect(entry).toMatchObject({ action: 'dead_letter.replay', actor: 'bootstrap:bootstrap-admin' });
    expect(JSON.parse(entry!.detail)).toEqual({ dead_letter_id: id, queue: 'ci-activities-dlq', origin: 'discord-relay', activities: 3 });
  });

  it('two replays at once: one is sent (202), the other is told it was replayed (409)', { timeout: 30_000 }, async () => {
    const id = await exhausted('ci-activities-dlq', activitiesMessage('api', ['dl-race']), 'dl-race');
    const statuses = (await Promise.all([replay(id), replay(id)])).map((r) => r.status).sort();
    expect(statuses).toEqual([202, 409]);
    await waitFor(async () => (await stored(['dl-race'])) === 1, 20_000);
  });

  it('a message the queue does not take: not marked, nothing audited; a later replay goes through', { timeout: 30_000 }, async () => {
    const id = await exhausted('ci-activities-dlq', activitiesMessage('api', ['dl-down']), 'dl-down');
    const down = { send: () => Promise.reject(new Error('queue unavailable')) } as unknown as Queue;
    expect(await replayDeadLetter(env.DB, down, id, 'token:tok_test')).toMatchObject({ ok: false, code: 'queue_unavailable' });
    expect((await rowWith('dl-down')).replayed_at).toBeNull();
    const audited = () => countRows('audit_log', "action = 'dead_letter.replay' AND detail ->> 'dead_letter_id' = ?", id);
    expect(await audited()).toBe(0);

    expect((await replay(id)).status).toBe(202);
    expect(await audited()).toBe(1);
    await waitFor(async () => (await stored(['dl-down'])) === 1, 20_000);
  });

  it('list, view and replay agree on a body that only looks like an activities message (no items)', { timeout: 30_000 }, async () => {
    const id = await exhausted('ci-activities-dlq', { ...activitiesMessage('dl-empty-items', []), items: [] }, 'dl-empty-items');
    expect((await listed('queue=ci-activities-dlq&limit=100')).find((r) => r.id === id)).toMatchObject({ replayable: false, activities: null });
    expect(await (await call(`/v1/dead-letters/${id}`)).json()).toMatchObject({ replayable: false, activities: null });
    expect((await replay(id)).status).toBe(422);
  });

  it('a sync-queue dead letter is not replayable: the next run takes up the work', { timeout: 30_000 }, async () => {
    const id = await exhausted('ci-sync-dlq', { kind: 'step', runId: 'run_dl_gone', step: 2 }, 'run_dl_gone');
    expect((await rowWith('run_dl_gone')).reason).toBe('sync step retries exhausted');
    const item = (await listed('queue=ci-sync-dlq&limit=100')).find((r) => r.id === id);
    expect(item).toMatchObject({ queue: 'ci-sync-dlq', replayable: false, activities: null, origin: null });
    expect((await (await call(`/v1/dead-letters/${id}`)).json<{ body: unknown }>()).body).toEqual({ kind: 'step', runId: 'run_dl_gone', step: 2 });
    const refused = await replay(id);
    expect(refused.status).toBe(422);
    const error = (await refused.json<ErrorJson>()).error;
    expect(error.code).toBe('not_replayable');
    expect(error.message).toMatch(/next sync run/);
  });

  it('pages newest first, across pages, without gaps or repeats', { timeout: 30_000 }, async () => {
    const mine: number[] = [];
    for (let i = 0; i < 5; i++) mine.push(await exhausted('ci-sync-dlq', { kind: 'step', runId: `run_dl_page_${i}`, step: i }, `run_dl_page_${i}`));
    const seen: number[] = [];
    let cursor: number | null = null;
    do {
      const res = await call(`/v1/dead-letters?queue=ci-sync-dlq&state=all&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page: Page = await res.json<Page>();
      expect(page.data.length).toBeLessThanOrEqual(2);
      if (page.next_cursor !== null) expect(page.next_cursor).toBe(page.data.at(-1)!.id);
      expect(page.data.every((r) => r.queue === 'ci-sync-dlq')).toBe(true);
      seen.push(...page.data.map((r) => r.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => mine.includes(id))).toEqual([...mine].reverse());
  });

  it('admin only: 401 without a token, 403 with ingest, read or configure', async () => {
    const routes = [['GET', '/v1/dead-letters'], ['GET', '/v1/dead-letters/1'], ['POST', '/v1/dead-letters/1/replay']] as const;
    const tokens = await Promise.all(['ingest', 'read', 'configure'].map(tokenWith));
    for (const [method, path] of routes) {
      expect((await call(path, { method, token: null })).status).toBe(401);
      for (const token of tokens) {
        const res = await call(path, { method, token });
        expect(res.status).toBe(403);
        expect((await res.json<ErrorJson>()).error.code).toBe('forbidden');
      }
    }
  });

  it('bad parameters answer 400 naming the field; an unknown id 404', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v1/dead-letters?limit=0', 'query.limit'],
      ['GET', '/v1/dead-letters?limit=101', 'query.limit'],
      ['GET', '/v1/dead-letters?limit=ten', 'query.limit'],
      ['GET', '/v1/dead-letters?cursor=abc', 'query.cursor'],
      ['GET', '/v1/dead-letters?cursor=-3', 'query.cursor'],
      ['GET', '/v1/dead-letters?state=closed', 'query.state'],
      ['GET', '/v1/dead-letters?queue=ci-activities', 'query.queue'],
      ['GET', '/v1/dead-letters/abc', 'params.id'],
      ['GET', '/v1/dead-letters/1.5', 'params.id'],
      ['GET', '/v1/dead-letters/99999999999999999999', 'params.id'],
      ['POST', '/v1/dead-letters/0/replay', 'params.id'],
      ['POST', '/v1/dead-letters/-1/replay', 'params.id'],
    ];
    for (const [method, path, field] of cases) {
      const res = await call(path, { method });
      expect(res.status, path).toBe(400);
      const error = (await res.json<ErrorJson>()).error;
      expect(error.code).toBe('invalid_request');
      expect(error.issues?.map((i) => i.path), path).toContain(field);
    }
    for (const [method, path] of [['GET', '/v1/dead-letters/987654321'], ['POST', '/v1/dead-letters/987654321/replay']] as const) {
      const res = await call(path, { method });
      expect(res.status).toBe(404);
      expect((await res.json<ErrorJson>()).error.code).toBe('not_found');
    }
  });

  it('the /sync page lists open dead letters; Replay sends an activities message again, a poison one is for diagnosis', { timeout: 30_000 }, async () => {
    const cookie = await signSession(loadConfig(env), { sub: 'test:admin', name: 'Test admin', role: 'admin' });
    const page = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(`http://127.0.0.1${path}`, {
      redirect: 'manual', ...init, headers: { cookie: `ci_session=${cookie}`, ...(init.headers as Record<string, string> | undefined) },
    }));
    const id = await exhausted('ci-activities-dlq', activitiesMessage('relay-ui', ['dl-ui']), 'dl-ui');
    const html = await (await page('/sync')).text();
    const row = new RegExp(`<tr data-dead-letter="${id}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
    expect(row).toContain('1 activity from relay-ui');
    expect(row).toContain(`aria-label="Replay dead letter ${id}"`);
    expect(html).toMatch(/<tr data-dead-letter="\d+">(?:(?!<\/tr>)[\s\S])*unparseable message(?:(?!<\/tr>)[\s\S])*for diagnosis/);

    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    const form = (body: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(body), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect((await page(`/sync/dead-letters/${id}/replay`, form({}))).status).toBe(403);
    const res = await page(`/sync/dead-letters/${id}/replay`, form({ _csrf: csrf }));
    expect(res.status).toBe(303);
    expect(decodeURIComponent(res.headers.get('location') ?? '')).toMatch(new RegExp(`^/sync\\?done=Dead letter ${id} sent to the activities queue again\\.&sig=[\\w-]+#dead-letters$`));
    // The page shows the notice it was sent, and not one a crafted link carries.
    expect(await (await page(res.headers.get('location')!.replace('#dead-letters', ''))).text()).toContain(`Dead letter ${id} sent to the activities queue again.`);
    expect(await (await page('/sync?done=Re-enter%20your%20password%20at%20evil.example')).text()).not.toContain('evil.example');
    await waitFor(async () => (await stored(['dl-ui'])) === 1, 20_000);
    expect((await rowWith('dl-ui')).replayed_at).not.toBeNull();
    const again = await page(`/sync/dead-letters/${id}/replay`, form({ _csrf: csrf }));
    expect(decodeURIComponent(again.headers.get('location') ?? '')).toMatch(new RegExp(`^/sync\\?error=dead letter ${id} was replayed at`));
    expect(await (await page('/sync')).text()).not.toContain(`data-dead-letter="${id}"`);
  });

  // Last in the file: the erasure it makes refuses every replay of a message parked before it.
  it('a member erased since the message was parked: replay is refused (409 erased_since), nothing is sent, the row stays open', { timeout: 30_000 }, async () => {
    const id = await exhausted('ci-activities-dlq', activitiesMessage('api', ['dl-erased']), 'dl-erased');
    await postJson('/v1/activities', { activities: [activity(7, { external_id: 'dl-erase-me' })] });
    await waitFor(async () => (await stored(['dl-erase-me'])) === 1);
    const member = await env.DB.prepare(`SELECT member_id FROM activities WHERE external_id = 'dl-erase-me'`).first<{ member_id: string }>();
    expect((await call(`/v1/members/${member!.member_id}`, { method: 'DELETE' })).status).toBe(200);

    const res = await replay(id);
    expect(res.status).toBe(409);
    const error = (await res.json<ErrorJson>()).error;
    expect(error.code).toBe('erased_since');
    expect(error.message).toContain(`GET /v1/dead-letters/${id}`);
    expect((await rowWith('dl-erased')).replayed_at).toBeNull();
    await new Promise((r) => setTimeout(r, 500));
    expect(await stored(['dl-erased'])).toBe(0);

    // A message accepted before the erasure but parked after it (its retries ran out later) is held back too.
    const early = await exhausted('ci-activities-dlq', { ...activitiesMessage('api', ['dl-accepted-early']), received_at: '2026-01-01T00:00:00.000Z' }, 'dl-accepted-early');
    expect((await (await replay(early)).json<ErrorJson>()).error.code).toBe('erased_since');
    expect((await listed('queue=ci-activities-dlq&limit=100')).find((r) => r.id === early)).toMatchObject({ replayable: false, activities: 1 });

    // A message accepted after the erasure replays as usual.
    const later = await exhausted('ci-activities-dlq', activitiesMessage('api', ['dl-after-erase']), 'dl-after-erase');
    expect((await replay(later)).status).toBe(202);
    await waitFor(async () => (await stored(['dl-after-erase'])) === 1, 20_000);
  });
});
