import { env, exports } from 'cloudflare:workers';
import { signSession } from '../../src/auth/session';
import { loadConfig } from '../../src/env';
import { beforeAll, describe, expect, it } from 'vitest';
import { meteredD1, type D1Meter } from '../../src/store/metered';
import { decodeWritesCursor, listSyncWrites } from '../../src/store/sync-writes';
import { call, postJson } from './helpers';

/**
 * A run's whole plan through GET /v1/sync/runs/:id/writes: keyset pages over (object, crm_id), filters, the CSV diff
 * sheet RevOps take into a spreadsheet, and the run view pointing at it past its first 500 records. Rows are seeded
 * with SQL under run ids of this file's own, so other files' runs do not matter.
 */
const RUN = 'run_swapi_big';
const SMALL = 'run_swapi_small';

interface Rec {
  object: string;
  crm_id: string;
  status: string;
  error: string | null;
  fields: Record<string, unknown>;
  old: Record<string, unknown>;
}
interface Page {
  data: Rec[];
  next_cursor: string | null;
}
interface ErrorJson {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

const STATUSES = ['pending', 'written', 'failed', 'skipped'] as const;

/** 1,200 writes: 200 companies, 400 contacts, 600 deals; ids unpadded, so string order is not number order. */
function seedRows(): Rec[] {
  const rows: Rec[] = [];
  const add = (object: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const status = STATUSES[i % 4]!;
      rows.push({
        object, crm_id: `${object[0]}${i}`, status, error: status === 'failed' ? `VALIDATION_ERROR: bad value ${i}` : null,
        fields: { community_influence_score: i, community_influenced: i % 2 === 0 },
        // Every third record was written before; the others' old values are absent (never written).
        old: i % 3 === 0 ? { community_influence_score: i - 1, community_influenced: false } : {},
      });
    }
  };
  add('company', 198);
  add('contact', 400);
  add('deal', 600);
  // Two companies whose values a spreadsheet must not misread; they sort first ('a…' < 'c…').
  rows.push({
    object: 'company', crm_id: 'a-comma', status: 'failed', error: 'VALIDATION_ERROR: "top channel", not an option',
    fields: { community_top_channel: 'slack, "general"\nthread', community_influence_score: 12.5 },
    old: { community_top_channel: 'github' },
  });
  rows.push({
    object: 'company', crm_id: 'a-formula', status: 'pending', error: null,
    fields: { community_top_channel: '=HYPERLINK("http://evil.example","x")', community_attributed_amount: -5, community_note: '@sum' },
    old: { community_top_channel: '+cmd', community_attributed_amount: 3 },
  });
  return rows;
}

const ROWS = seedRows();
const key = (r: { object: string; crm_id: string }) => `${r.object}/${r.crm_id}`;
// SQLite compares text bytewise; every id here is ASCII, so JS string order is the same.
const ORDERED = [...ROWS].sort((a, b) => (a.object === b.object ? (a.crm_id < b.crm_id ? -1 : 1) : a.object < b.object ? -1 : 1));

async function seedRun(id: string, rows: Rec[]) {
  const now = new Date().toISOString();
  await env.DB.prepare(
    `INSERT INTO sync_runs (id, crm, trigger, dry_run, full, status, stage, created_at, started_at, finished_at, updated_at)
     VALUES (?1, 'hubspot', 'api', 1, 1, 'done', 'finish', ?2, ?2, ?2, ?2)`,
  ).bind(id, now).run();
  const insert = `INSERT INTO sync_writes (run_id, object, crm_id, fields, old, status, error)
                  SELECT ?1, value ->> 'object', value ->> 'crm_id', json(value -> 'fields'), json(value -> 'old'), value ->> 'status', value ->> 'error'
                    FROM json_each(?2)`;
  const chunks = [];
  for (let i = 0; i < rows.length; i += 300) chunks.push(rows.slice(i, i + 300));
  await env.DB.batch(chunks.map((c) => env.DB.prepare(insert).bind(id, JSON.stringify(c))));
}

beforeAll(async () => {
  await seedRun(RUN, ROWS);
  await seedRun(SMALL, ROWS.slice(0, 3));
});

const writes = (query: string, init: Parameters<typeof call>[1] = {}) => call(`/v1/sync/runs/${RUN}/writes${query}`, init);

/** Follows next_cursor from the first page to the last; every page but the last is full. */
async function allPages(query: string, limit: number): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const res = await writes(`?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const page = await res.json<Page>();
    pages.push(page);
    cursor = page.next_cursor;
    if (cursor) expect(page.data).toHaveLength(limit);
  } while (cursor);
  return pages;
}

/** Splits CSV text into records of cells (RFC 4180: quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\r' && text[i + 1] === '\n') row.push(cell), out.push(row), (row = []), (cell = ''), i++;
    else cell += ch;
  }
  return out;
}

describe('GET /v1/sync/runs/:id/writes', () => {
  it('pages of 200 cover every write once, in (object, crm_id) order; the last page has no next_cursor', async () => {
    const pages = await allPages('', 200);
    expect(pages).toHaveLength(6);
    expect(pages[5]!.next_cursor).toBeNull();
    const seen = pages.flatMap((p) => p.data);
    expect(seen.map(key)).toEqual(ORDERED.map(key));
    const first = seen.find((r) => r.crm_id === 'a-comma')!;
    expect(first).toEqual({
      object: 'company', crm_id: 'a-comma', status: 'failed', error: 'VALIDATION_ERROR: "top channel", not an option',
      fields: { community_top_channel: 'slack, "general"\nthread', community_influence_score: 12.5 }, old: { community_top_channel: 'github' },
    });
    // The default page is 200; a cursor is opaque base64url naming the last record.
    const page = await (await writes('')).json<Page>();
    expect(page.data).toHaveLength(200);
    expect(page.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeWritesCursor(page.next_cursor!)).toEqual({ object: ORDERED[199]!.object, crmId: ORDERED[199]!.crm_id });
  });

  it('filters by status and by object, alone and together, paging in the same order', async () => {
    for (const status of STATUSES) {
      const got = (await allPages(`status=${status}`, 70)).flatMap((p) => p.data);
      expect(got.map(key), status).toEqual(ORDERED.filter((r) => r.status === status).map(key));
      expect(got.every((r) => r.status === status)).toBe(true);
    }
    for (const object of ['company', 'contact', 'deal']) {
      const got = (await allPages(`object=${object}`, 150)).flatMap((p) => p.data);
      expect(got.map(key), object).toEqual(ORDERED.filter((r) => r.object === object).map(key));
    }
    const both = (await allPages('status=failed&object=deal', 40)).flatMap((p) => p.data);
    expect(both.map(key)).toEqual(ORDERED.filter((r) => r.status === 'failed' && r.object === 'deal').map(key));
    expect(both).toHaveLength(150);
    // A cursor from the unfiltered list still names a position: after the last company, the deals start at the first.
    const lastCompany = ORDERED.filter((r) => r.object === 'company').at(-1)!;
    const unfiltered = await (await writes(`?limit=${ORDERED.indexOf(lastCompany) + 1}`)).json<Page>();
    expect(unfiltered.data.at(-1)!.crm_id).toBe(lastCompany.crm_id);
    const deals = await (await writes(`?object=deal&limit=5&cursor=${unfiltered.next_cursor}`)).json<Page>();
    expect(deals.data.map(key)).toEqual(ORDERED.filter((r) => r.object === 'deal').slice(0, 5).map(key));
    // …and past the last deal there is nothing of an earlier object.
    const end = (await allPages('', 1000)).at(-2)!.next_cursor!;
    expect(await (await writes(`?object=company&cursor=${end}`)).json<Page>()).toEqual({ data: [], next_cursor: null });
  });

  it('a page reads about its own rows, however deep, with or without filters (keyset on an index, no OFFSET)', async () => {
    const meter: D1Meter = { rowsRead: 0, rowsWritten: 0, queries: 0 };
    const db = meteredD1(env.DB, meter);
    const cost = async (opts: Omit<Parameters<typeof listSyncWrites>[2], 'after'>, at: number, expected: Rec[]) => {
      meter.rowsRead = 0;
      const after = { object: ORDERED[at]!.object as 'deal', crmId: ORDERED[at]!.crm_id };
      const page = await listSyncWrites(db, RUN, { ...opts, after });
      expect(page.records.map(key)).toEqual(expected.slice(0, opts.limit).map(key));
      return meter.rowsRead;
    };
    const rest = (at: number) => ORDERED.slice(at + 1);
    // D1 counts about a row read per row returned here; OFFSET, a scan that filters status, or a row-value bound
    // after object = ? would read hundreds.
    expect(await cost({ limit: 50 }, 900, rest(900))).toBeLessThan(60);
    expect(await cost({ limit: 50, status: 'failed' }, 300, rest(300).filter((r) => r.status === 'failed'))).toBeLessThan(60);
    expect(await cost({ limit: 20, object: 'deal' }, 1000, rest(1000))).toBeLessThan(30);
    expect(await cost({ limit: 20, object: 'deal', status: 'written' }, 900, rest(900).filter((r) => r.status === 'written'))).toBeLessThan(30);
  });

  it('CSV: one line per record and field with old → new, RFC 4180 quoting, formulas defused, numbers kept', async () => {
    const res = await writes('?object=company&limit=2&format=csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="sync-writes-${RUN}.csv"`);
    expect(res.headers.get('x-next-cursor')).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await res.text()).toBe([
      'object,crm_id,field,old,new,status,error',
      'company,a-comma,community_top_channel,github,"slack, ""general""\nthread",failed,"VALIDATION_ERROR: ""top channel"", not an option"',
      'company,a-comma,community_influence_score,,12.5,failed,"VALIDATION_ERROR: ""top channel"", not an option"',
      `company,a-formula,community_top_channel,'+cmd,"'=HYPERLINK(""http://evil.example"",""x"")",pending,`,
      'company,a-formula,community_attributed_amount,3,-5,pending,',
      "company,a-formula,community_note,,'@sum,pending,",
      '',
    ].join('\r\n'));
    // Accept: text/csv asks for the same; booleans and numbers are written as such.
    const accepted = await writes('?object=deal&limit=1', { headers: { accept: 'text/csv' } });
    expect(parseCsv(await accepted.text())).toEqual([
      ['object', 'crm_id', 'field', 'old', 'new', 'status', 'error'],
      ['deal', 'd0', 'community_influence_score', '-1', '0', 'pending', ''],
      ['deal', 'd0', 'community_influenced', 'false', 'true', 'pending', ''],
    ]);
    // An explicit ?format=json wins over the Accept header.
    const json = await writes('?object=deal&limit=1&format=json', { headers: { accept: 'text/csv' } });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await json.json<Page>()).data.map((r) => r.crm_id)).toEqual(['d0']);
  });

  it('the audit CSV shares the cell escaping, formula guard included', async () => {
    await env.DB.prepare(
      `INSERT INTO audit_log (at, actor, action, crm, object, crm_id, field, old_value, new_value, run_id)
       VALUES (?1, 'sync', 'crm.write', 'hubspot', 'deal', 'd1', 'name', '-3', '=1+2', ?2)`,
    ).bind(new Date().toISOString(), RUN).run();
    const [header, row] = parseCsv(await (await call(`/v1/audit?run_id=${RUN}&format=csv`)).text());
    expect(header).toEqual(['id', 'at', 'actor', 'action', 'crm', 'object', 'crm_id', 'field', 'old_value', 'new_value', 'run_id', 'detail']);
    expect(row!.slice(2)).toEqual(['sync', 'crm.write', 'hubspot', 'deal', 'd1', 'name', '-3', "'=1+2", RUN, '']);
  });

  it('CSV pages follow x-next-cursor, absent on the last, and cover every field of every record once', async () => {
    const lines: string[][] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const res = await writes(`?format=csv&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const [header, ...rows] = parseCsv(await res.text());
      expect(header).toEqual(['object', 'crm_id', 'field', 'old', 'new', 'status', 'error']);
      lines.push(...rows);
      cursor = res.headers.get('x-next-cursor');
      cursors.push(cursor);
    } while (cursor);
    expect(cursors.map((c) => c !== null)).toEqual([true, true, false]);
    const expected = ORDERED.flatMap((r) => Object.entries(r.fields).map(([field, value]) => [key(r), field, String(value)]));
    expect(lines.map((l) => [`${l[0]}/${l[1]}`, l[2], l[4]!.replace(/^'/, '')])).toEqual(expected);
  });

  it('the run view keeps its first 500 records and points at the rest', async () => {
    const view = await (await call(`/v1/sync/runs/${RUN}`)).json<{ writes: { by_status: Record<string, number>; records: Rec[]; next_cursor: string | null; all_url: string } }>();
    expect(view.writes.records.map(key)).toEqual(ORDERED.slice(0, 500).map(key));
    expect(view.writes.by_status).toEqual(Object.fromEntries(STATUSES.map((s) => [s, ROWS.filter((r) => r.status === s).length])));
    expect(view.writes.all_url).toBe(`/v1/sync/runs/${RUN}/writes`);
    expect(view.writes.next_cursor).not.toBeNull();
    const rest = await (await call(`${view.writes.all_url}?limit=1000&cursor=${view.writes.next_cursor}`)).json<Page>();
    expect(rest.data.map(key)).toEqual(ORDERED.slice(500, 1200).map(key));
    expect(rest.next_cursor).toBeNull();

    const small = await (await call(`/v1/sync/runs/${SMALL}`)).json<{ writes: { records: Rec[]; next_cursor: string | null; all_url: string } }>();
    expect(small.writes.records).toHaveLength(3);
    expect(small.writes.next_cursor).toBeNull();
    expect(small.writes.all_url).toBe(`/v1/sync/runs/${SMALL}/writes`);
  });

  it('an unknown run is 404; bad parameters are 400 naming the parameter', async () => {
    const missing = await call('/v1/sync/runs/run_swapi_nope/writes');
    expect(missing.status).toBe(404);
    expect((await missing.json<ErrorJson>()).error.code).toBe('not_found');
    const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const bad: [string, string][] = [
      ['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=abc', 'limit'], ['limit=2.5', 'limit'],
      ['cursor=not%20a%20cursor', 'cursor'], ['cursor=', 'cursor'], [`cursor=${b64({ object: 'deal' })}`, 'cursor'],
      [`cursor=${b64(['lead', 'x'])}`, 'cursor'], [`cursor=${b64(['deal', 7])}`, 'cursor'], ['cursor=%E2%9C%93', 'cursor'],
      ['status=done', 'status'], ['object=lead', 'object'], ['format=xml', 'format'],
    ];
    for (const [query, field] of bad) {
      const res = await writes(`?${query}`);
      expect(res.status, query).toBe(400);
      const body = await res.json<ErrorJson>();
      expect(body.error.code, query).toBe('invalid_request');
      expect(body.error.issues?.map((i) => i.path), query).toEqual([`query.${field}`]);
    }
  });

  it('needs the read scope: an ingest token is refused, a read token is let through', async () => {
    const token = async (scope: string) => (await (await postJson('/v1/tokens', { name: `swapi-${scope}`, scopes: [scope] })).json<{ token: string }>()).token;
    expect((await writes('', { token: await token('ingest') })).status).toBe(403);
    expect((await writes('', { token: null })).status).toBe(401);
    const read = await writes('?limit=1', { token: await token('read') });
    expect(read.status).toBe(200);
    expect((await read.json<Page>()).data).toHaveLength(1);
  });
});

describe('the run page (admin UI)', () => {
  async function page(path: string, role: 'admin' | 'editor') {
    const cookie = await signSession(loadConfig(env), { sub: `test:${role}`, name: `Test ${role}`, role });
    return exports.default.fetch(new Request(`http://127.0.0.1${path}`, { headers: { cookie: `ci_session=${cookie}` } }));
  }

  it('shows the dry run’s plan (counts, first records field by field) and links the CSV of every write', async () => {
    const html = await (await page(`/sync/runs/${RUN}`, 'admin')).text();
    expect(html).toContain('The plan: what this dry run would write');
    expect(html).toMatch(/1200 records: (pending|written|failed|skipped) \d+/);
    expect(html).toContain(`href="/sync/runs/${RUN}/writes.csv"`);
    const plan = /<table id="plan">[\s\S]*?<\/table>/.exec(html)![0];
    expect(plan).toContain('The first 50 records by object and id; the CSV download has the rest');
    // The first record in (object, crm_id) order, with a field that was never written before.
    expect(plan).toContain(`<code>${ORDERED[0]!.crm_id}</code>`);
    expect(plan).toContain('never written');
    expect((await page(`/sync/runs/${RUN}`, 'editor')).status).toBe(403);
  });

  it('streams the run’s writes as one CSV, a line per field, in order, formulas defused; past the cap the file stops and says so', async () => {
    // PLAN_CSV_MAX_RECORDS is 1,100 in the tests: this run's 1,200 writes take a full page of 1,000 and a cut one.
    const res = await page(`/sync/runs/${RUN}/writes.csv`, 'admin');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="sync-writes-${RUN}-first-1100.csv"`);
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual(['object', 'crm_id', 'field', 'old', 'new', 'status', 'error']);
    const expected = ORDERED.slice(0, 1100).flatMap((r) => Object.keys(r.fields).map((f) => `${r.object}/${r.crm_id}/${f}`));
    expect(rows.slice(1).map((r) => `${r[0]}/${r[1]}/${r[2]}`)).toEqual(expected);
    // Under the cap: every write, and a plain name.
    const small = await page(`/sync/runs/${SMALL}/writes.csv`, 'admin');
    expect(small.headers.get('content-disposition')).toBe(`attachment; filename="sync-writes-${SMALL}.csv"`);
    const smallRows = parseCsv(await small.text());
    const smallOrder = [...ROWS.slice(0, 3)].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(smallRows.slice(1).map((r) => `${r[0]}/${r[1]}/${r[2]}`)).toEqual(smallOrder.flatMap((r) => Object.keys(r.fields).map((f) => `${r.object}/${r.crm_id}/${f}`)));
    const formula = rows.find((r) => r[1] === 'a-formula' && r[2] === 'community_top_channel')!;
    expect(formula.slice(3, 5)).toEqual(["'+cmd", `'=HYPERLINK("http://evil.example","x")`]);
    expect((await page(`/sync/runs/${RUN}/writes.csv`, 'editor')).status).toBe(403);
    expect((await page('/sync/runs/run_nope/writes.csv', 'admin')).status).toBe(404);
  });
});
