import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, countRows, waitFor } from './helpers';

const mapping = {
  source: 'events',
  type: 'events.attended',
  columns: { email: 'Email', name: 'Name', company: 'Company', occurred_at: 'Attended At', title: 'Event' },
  properties: ['Ticket'],
};

function upload(body: BodyInit, type = 'text/csv', map: unknown = mapping) {
  const query = map ? `?mapping=${encodeURIComponent(JSON.stringify(map))}&filename=attendees.csv` : '';
  return call(`/v1/imports${query}`, { method: 'POST', headers: { 'content-type': type }, body, duplex: 'half' } as RequestInit);
}

interface Job {
  id: string;
  status: string;
  rows_total: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  errors: { row: number; path: string; message: string }[];
}

async function settled(id: string, timeoutMs = 60_000): Promise<Job> {
  return waitFor(async () => {
    const job = await (await call(`/v1/imports/${id}`)).json<Job>();
    return job.status === 'done' ? job : null;
  }, timeoutMs);
}

const csv = [
  'Email,Name,Company,Attended At,Event,Ticket',
  'ada@acme.io,Ada Lovelace,Acme,2026-03-04 17:00,"Meetup: Workers, D1 and you",VIP',
  'grace@navy.mil,"Hopper, Grace",US Navy,2026-03-04T17:05:00Z,"Meetup: Workers, D1 and you",GA',
  'bad-row@acme.io,No Date,Acme,,"Meetup",GA',
  'ada@acme.io,Ada Lovelace,Acme,2026-03-04 17:00,"Meetup: Workers, D1 and you",VIP',
].join('\r\n');

describe('POST /v1/imports', () => {
  it('imports a CSV with a column mapping, reporting rejected rows by line and duplicates', async () => {
    const res = await upload(csv);
    expect(res.status).toBe(202);
    const first = await res.json<Job>();
    expect(first.rows_total).toBe(4);
    expect(first.rejected).toBe(1);
    expect(first.errors).toEqual([{ row: 4, path: 'occurred_at', message: expect.any(String) }]);
    const job = await settled(first.id);
    expect(job).toMatchObject({ accepted: 2, duplicate: 1, rejected: 1 });
    const ada = await env.DB.prepare(
      `SELECT a.type, a.title, a.occurred_at, a.properties, i.source, i.external_id, i.name
         FROM activities a JOIN identities i ON i.id = a.identity_id WHERE i.external_id = 'ada@acme.io'`,
    ).all();
    expect(ada.results).toEqual([
      {
        type: 'events.attended', title: 'Meetup: Workers, D1 and you', occurred_at: '2026-03-04T17:00:00.000Z',
        properties: '{"Ticket":"VIP"}', source: 'email', external_id: 'ada@acme.io', name: 'Ada Lovelace',
      },
    ]);
  });

  it('re-importing the same file stores nothing new', async () => {
    const again = await settled((await (await upload(csv)).json<Job>()).id);
    expect(again).toMatchObject({ accepted: 0, duplicate: 3, rejected: 1 });
    expect(await countRows('activities', "type = 'events.attended'")).toBe(2);
  });

  it('imports NDJSON and reports bad lines', async () => {
    const lines = [
      JSON.stringify({ source: 'docs', type: 'docs.visit', occurred_at: '2026-02-01T10:00:00Z', external_id: 'nd-1',
        member: { identities: [{ source: 'email', id: 'Reader@Example.com' }] }, url: 'https://docs.example.com/a' }),
      '{not json',
      JSON.stringify({ source: 'docs', type: 'docs.visit', occurred_at: '2026-02-01T10:00:00Z', external_id: 'nd-2', member: { identities: [] } }),
      '',
    ].join('\n');
    const res = await upload(lines, 'application/x-ndjson', null);
    expect(res.status).toBe(202);
    const job = await settled((await res.json<Job>()).id);
    expect(job).toMatchObject({ rows_total: 3, accepted: 1, rejected: 2 });
    expect(job.errors.map((e) => [e.row, e.path])).toEqual([[2, '(line)'], [3, 'member.identities']]);
    expect(await countRows('identities', "source = 'email' AND external_id = 'reader@example.com'")).toBe(1);
  });

  it('refuses bad uploads before storing anything', async () => {
    const before = await countRows('import_jobs');
    expect((await upload(csv, 'text/csv', null)).status).toBe(400);
    expect((await upload(csv, 'text/plain')).status).toBe(415);
    const missingColumn = await upload('Email,When\nx@y.io,2026-01-01', 'text/csv', mapping);
    expect(missingColumn.status).toBe(400);
    const body = await missingColumn.json<{ error: { issues: { path: string; message: string }[] } }>();
    expect(body.error.issues.map((i) => i.message)).toContain('no column "Name" in the header');
    const badMapping = await upload(csv, 'text/csv', { columns: { email: 'Email' } });
    expect(badMapping.status).toBe(400);
    expect((await badMapping.json<{ error: { issues: { path: string }[] } }>()).error.issues[0]!.path).toMatch(/^query\.mapping/);
    expect(await countRows('import_jobs')).toBe(before);
  });

  it('streams 200,000 rows / 50 MB without holding the file', { timeout: 300_000 }, async () => {
    const rows = 200_000;
    const padding = 'x'.repeat(200);
    let n = 0;
    const encoder = new TextEncoder();
    let bytes = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (n === 0) controller.enqueue(encoder.encode('Email,Name,Company,Attended At,Event,Ticket\n'));
        const lines: string[] = [];
        for (let k = 0; k < 2000 && n < rows; k++, n++) {
          lines.push(`p${n % 40_000}@bulk${n % 500}.example,Person ${n},Bulk ${n % 500},2026-05-01T00:00:00Z,Conf ${n % 5},${padding}${n}`);
        }
        const chunk = encoder.encode(lines.join('\n') + '\n');
        bytes += chunk.byteLength;
        controller.enqueue(chunk);
        if (n >= rows) controller.close();
      },
    });
    const res = await upload(stream, 'text/csv', { ...mapping, columns: { ...mapping.columns }, type: 'events.registered' });
    expect(res.status).toBe(202);
    expect(bytes).toBeGreaterThan(50_000_000);
    const first = await res.json<Job>();
    expect(first.rows_total).toBe(rows);
    expect(first.rejected).toBe(0);
    const job = await settled(first.id, 200_000);
    expect(job.accepted + job.duplicate).toBe(rows);
    expect(await countRows('activities', "type = 'events.registered'")).toBe(job.accepted);
  });
});

describe('malformed CSV', () => {
  it('a broken header is a 400 naming the problem, not a server error (found by the fuzzer)', async () => {
    const res = await upload('Gf9@"l', 'text/csv', { source: 'events', type: 'events.attended', columns: { email: 'e', occurred_at: 't' } });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { code: string; issues: { path: string }[] } }>()).error.issues[0]!.path).toBe('(header)');
  });
});
