import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { ADMIN, activity, call, countRows, postJson, waitFor } from './helpers';

/** Inputs a review found reaching a 5xx, losing rows or storing part of a refused upload; each failed before its fix. */

const mapping = { source: 'events', type: 'events.attended', columns: { email: 'Email', name: 'Name', occurred_at: 'At', title: 'Event' }, properties: ['Notes'] };
const header = 'Email,Name,At,Event,Notes\n';
const row = (tag: string, n: number, notes = '') => `${tag}${n}@rb.example,Person ${n},2026-04-0${1 + (n % 9)}T10:00:00Z,${tag} meetup,${notes}\n`;

function upload(body: BodyInit, type = 'text/csv', map: unknown = mapping) {
  const query = type === 'text/csv' ? `?mapping=${encodeURIComponent(JSON.stringify(map))}` : '';
  return call(`/v1/imports${query}`, { method: 'POST', headers: { 'content-type': type }, body, duplex: 'half' } as RequestInit);
}

interface Job { id: string; status: string; rows_total: number; accepted: number; duplicate: number; rejected: number; errors: { row: number; path: string; message: string }[]; failure: string | null }

const job = (id: string) => call(`/v1/imports/${id}`).then((r) => r.json<Job>());
const settled = (id: string) => waitFor(async () => ((await job(id)).status === 'done' ? job(id) : null), 60_000);
const bytes = (...parts: (string | number[])[]) => new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...new TextEncoder().encode(p)] : p)));

describe('imports: encodings', () => {
  it('a row with bytes that are not UTF-8 (a Windows-1252 "Zoë") is rejected by line; the other rows are stored', async () => {
    const body = bytes(header, row('enc', 1), 'enc2@rb.example,Zo', [0xeb], ',2026-04-02T10:00:00Z,enc meetup,\n', row('enc', 3));
    const res = await upload(body);
    expect(res.status).toBe(202);
    const first = await res.json<Job>();
    expect(first.errors).toEqual([{ row: 3, path: '(row)', message: expect.stringContaining('not UTF-8') }]);
    const done = await settled(first.id);
    expect([done.rows_total, done.accepted, done.rejected]).toEqual([3, 2, 1]);
  });

  it('a header that is not UTF-8, or a UTF-16 file, is a 400 and leaves no job', async () => {
    const before = await countRows('import_jobs');
    const badHeader = await upload(bytes('Email,Na', [0xef], 'me,At,Event,Notes\n', row('h', 1)));
    expect(badHeader.status).toBe(400);
    expect((await badHeader.json<{ error: { issues: { path: string }[] } }>()).error.issues[0]!.path).toBe('(header)');
    const utf16 = new Uint8Array([0xff, 0xfe, ...[...'Email\n'].flatMap((ch) => [ch.charCodeAt(0), 0])]);
    for (const type of ['text/csv', 'application/x-ndjson']) {
      const res = await upload(utf16, type);
      expect(res.status).toBe(400);
      expect((await res.json<{ error: { message: string } }>()).error.message).toMatch(/UTF-16/);
    }
    expect(await countRows('import_jobs')).toBe(before);
  });

  it('an NDJSON line with bytes that are not UTF-8 is rejected by line', async () => {
    const line = (n: number) => JSON.stringify(activity(n, { external_id: `nd-enc-${n}` })) + '\n';
    const res = await upload(bytes(line(1), '{"x":"', [0xeb], '"}\n', line(3)), 'application/x-ndjson');
    expect(res.status).toBe(202);
    const first = await res.json<Job>();
    expect(first.errors).toEqual([{ row: 2, path: '(line)', message: expect.stringContaining('not UTF-8') }]);
    expect((await settled(first.id)).accepted).toBe(2);
  });
});

describe('imports: rows', () => {
  it('a stray quote mid-file costs its own row only, even thousands of rows in', async () => {
    let text = header;
    for (let n = 0; n < 3000; n++) text += row('sq', n);
    text += 'sqbad@rb.example,C"D,2026-04-01T10:00:00Z,sq meetup,\n';
    for (let n = 3000; n < 3100; n++) text += row('sq', n);
    const res = await upload(text);
    expect(res.status).toBe(202);
    const first = await res.json<Job>();
    expect(first.errors).toEqual([{ row: 3002, path: '(row)', message: expect.stringContaining('a quote inside an unquoted field') }]);
    const done = await settled(first.id);
    expect([done.rows_total, done.rejected, done.accepted + done.duplicate]).toEqual([3101, 1, 3100]);
  });

  it('a row over the 64 KB activity cap is rejected by line, not a 503', async () => {
    const res = await upload(header + row('big', 1) + row('big', 2, 'n'.repeat(150_000)) + row('big', 3));
    expect(res.status).toBe(202);
    const first = await res.json<Job>();
    expect(first.errors).toEqual([{ row: 3, path: '(row)', message: expect.stringMatching(/at most 64000/) }]);
    expect((await settled(first.id)).accepted).toBe(2);
  });

  it('an upload that breaks off after rows were enqueued answers with the job, which says what was kept', { timeout: 90_000 }, async () => {
    // A chunked upload (no content-length) that outgrows MAX_IMPORT_BYTES, here 5 MB, after chunks went to the queue.
    const encoder = new TextEncoder();
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(encoder.encode(header));
        let chunk = '';
        for (let k = 0; k < 1000; k++, sent++) chunk += row('brk', sent, 'x'.repeat(60));
        controller.enqueue(encoder.encode(chunk));
        if (sent >= 200_000) controller.close();
      },
    });
    const url = `http://ci.test/v1/imports?mapping=${encodeURIComponent(JSON.stringify(mapping))}`;
    const request = new Request(url, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' }, body: stream, duplex: 'half' } as RequestInit);
    const res = await worker.fetch!(request as Parameters<NonNullable<typeof worker.fetch>>[0], { ...env, MAX_IMPORT_BYTES: '5000000' }, createExecutionContext());
    expect(res.status).toBe(413);
    const { error } = await res.json<{ error: { message: string; import: { id: string; status: string; rows_sent: number; last_row: number } } }>();
    expect(error.import.status).toBe('failed');
    expect(error.import.rows_sent).toBeGreaterThan(0);
    expect(error.import.last_row).toBeGreaterThan(error.import.rows_sent);
    expect(error.message).toContain(error.import.id);
    expect(error.message).toMatch(/send the file again/);
    const stored = await waitFor(async () => {
      const j = await job(error.import.id);
      return j.accepted + j.duplicate >= error.import.rows_sent ? j : null;
    }, 60_000);
    expect(stored.status).toBe('failed');
    expect(stored.accepted + stored.duplicate).toBe(error.import.rows_sent);
    expect(stored.failure).toMatch(/broke off after line \d+: import exceeds 5000000 bytes/);
  });
});

describe('batch API: inputs that reached a 5xx or were silently changed', () => {
  const post = (items: unknown[]) => postJson('/v1/activities', { activities: items });

  it('sizes queue batches in bytes: six 60 KB items of CJK text are accepted', { timeout: 40_000 }, async () => {
    const items = Array.from({ length: 6 }, (_, n) => activity(n, { external_id: `cjk-${n}`, properties: { text: '漢'.repeat(20_000) } }));
    const res = await post(items);
    expect(res.status).toBe(202);
    expect((await res.json<{ accepted: number }>()).accepted).toBe(6);
    expect(await waitFor(async () => (await countRows('activities', "external_id LIKE 'cjk-%'")) === 6 || null, 30_000)).toBe(true);
  });

  it('refuses, naming the field: deep nesting, a __proto__ key, a javascript: URL, a time outside 1970–9999', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ properties: { x: deep } }, 'activities.0.properties.x', /nested deeper than 32/],
      [{ properties: JSON.parse('{"__proto__": {"polluted": 1}, "ok": 1}') as unknown }, 'activities.0.properties.__proto__', /__proto__/],
      [{ url: 'javascript:alert(document.cookie)' }, 'activities.0.url', /./],
      [{ occurred_at: '9999-12-31T23:59:59-01:00' }, 'activities.0.occurred_at', /1970/],
      [{ occurred_at: '0000-01-01T00:00:00+01:00' }, 'activities.0.occurred_at', /1970/],
    ];
    for (const [override, path, message] of cases) {
      const res = await post([activity(1, { external_id: 'refused', ...override })]);
      expect(res.status, path).toBe(400);
      const issue = (await res.json<{ error: { issues: { path: string; message: string }[] } }>()).error.issues[0]!;
      expect(issue.path.startsWith(path), `${issue.path} vs ${path}`).toBe(true);
      expect(issue.message).toMatch(message);
    }
    expect(await countRows('activities', "external_id = 'refused'")).toBe(0);
  });
});

describe('dead-letter queue', () => {
  it('a dead letter that cannot be recorded (D1 failing) is retried, not acked and lost', async () => {
    const body = { v: 1, origin: 'api', received_at: new Date().toISOString(), items: [activity(1, { external_id: 'dlq-retry' })] };
    await env.DB.exec('ALTER TABLE dead_letters RENAME TO dead_letters_hold');
    try {
      for (const queue of ['ci-activities-dlq', 'ci-sync-dlq']) {
        const batch = createMessageBatch(queue, [{ id: `dl-${queue}`, timestamp: new Date(), attempts: 1, body }]);
        const ctx = createExecutionContext();
        await worker.queue(batch, env, ctx);
        const result = await getQueueResult(batch, ctx);
        expect(result.explicitAcks, queue).toEqual([]);
        expect(result.retryMessages.map((m) => m.msgId), queue).toEqual([`dl-${queue}`]);
      }
    } finally {
      await env.DB.exec('ALTER TABLE dead_letters_hold RENAME TO dead_letters');
    }
    const batch = createMessageBatch('ci-activities-dlq', [{ id: 'dl-again', timestamp: new Date(), attempts: 2, body }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['dl-again']);
    expect(await countRows('dead_letters', "instr(body, 'dlq-retry') > 0")).toBe(1);
  });
});
