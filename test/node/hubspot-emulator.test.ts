import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeOrg } from '../emulators/hubspot/fixtures';
import { endpointKey, startHubspotEmulator, type HubspotEmulator } from '../emulators/hubspot/server';

let emu: HubspotEmulator;
/** Test-side shapes of control-plane and API answers (parsed, not cast). */
const seedAnswer = z.object({ ids: z.record(z.string(), z.string()) });
const rawObject = z.object({
  properties: z.record(z.string(), z.string().nullable()),
  associations: z.record(z.string(), z.array(z.object({ id: z.string() }))),
});
const statsAnswer = z.object({ total: z.number(), calls: z.record(z.string(), z.number()) }).loose();
const searchPage = z.object({ results: z.array(z.unknown()) }).loose();
const read = async <T>(schema: z.ZodType<T>, res: Response | Promise<Response>): Promise<T> => schema.parse(await (await res).json());

const auth = { authorization: 'Bearer pat-test', 'content-type': 'application/json' };
const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${emu.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

beforeAll(async () => {
  emu = await startHubspotEmulator({ port: 0, rateLimit: { perTenSeconds: 5, daily: 1000 } });
});
afterAll(() => emu.close());
beforeEach(async () => {
  await post('/__emulator/reset', {});
});

describe('HubSpot emulator control plane', () => {
  it('seeds over HTTP and shows raw objects with associations', async () => {
    const seeded = await read(seedAnswer, post('/__emulator/seed', makeOrg({ companies: 1, contacts: 2, deals: 1 })));
    expect(Object.keys(seeded.ids)).toEqual(['co0', 'ct0', 'ct1', 'dl0']);
    const deal = await read(rawObject, fetch(`${emu.url}/__emulator/objects/0-3/${seeded.ids.dl0}`));
    expect(deal.properties).toMatchObject({ dealname: 'Deal 0', dealstage: 'appointmentscheduled', pipeline: 'default', hs_is_closed: 'false' });
    expect(deal.associations.contacts?.map((a) => a.id).sort()).toEqual([seeded.ids.ct0, seeded.ids.ct1].sort());
    const stats = await read(statsAnswer, fetch(`${emu.url}/__emulator/stats`));
    expect(stats.total).toBe(0);
  });

  it('rejects a bad org with a 400', async () => {
    const res = await post('/__emulator/seed', { companies: [{ key: 1 }] });
    expect(res.status).toBe(400);
  });

  it('answers object-type ids like names and counts calls per endpoint', async () => {
    await post('/__emulator/seed', makeOrg({ companies: 0, contacts: 3, deals: 0 }));
    const res = await post('/crm/v3/objects/0-1/search', { limit: 2, sorts: ['hs_object_id'], properties: ['email'] });
    expect(res.status).toBe(200);
    const page = await read(searchPage, res);
    expect(page).toMatchObject({ total: 3, paging: { next: { after: '2' } } });
    expect(page.results[0]).toMatchObject({ id: '1000001', properties: { email: 'person0@company0.example', hs_object_id: '1000001' }, archived: false });
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('5');
    expect(res.headers.get('x-hubspot-ratelimit-remaining')).toBe('4');
    const stats = await read(statsAnswer, fetch(`${emu.url}/__emulator/stats`));
    expect(stats.calls).toEqual({ 'POST /crm/v3/objects/contacts/search': 1 });
    expect(endpointKey('GET', '/crm/v3/objects/0-3/123')).toBe('GET /crm/v3/objects/deals/:id');
  });

  it('requires a Bearer token, with HubSpot\'s 401 body', async () => {
    const res = await post('/crm/v3/objects/contacts/search', {}, { 'content-type': 'application/json' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION', correlationId: expect.any(String) });
  });

  it('limits per token over a rolling ten seconds with the real 429 body and headers', async () => {
    for (let i = 0; i < 5; i++) expect((await post('/crm/v3/objects/deals/search', {})).status).toBe(200);
    const limited = await post('/crm/v3/objects/deals/search', {});
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({
      status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT',
      correlationId: expect.any(String), policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(limited.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
    const other = await post('/crm/v3/objects/deals/search', {}, { ...auth, authorization: 'Bearer other-token' });
    expect(other.status).toBe(200);
  });

  it('injects faults over HTTP: status, daily limit, then expires them', async () => {
    await post('/__emulator/faults', { faults: [
      { kind: 'status', status: 502, pathPrefix: '/crm/v3/objects/deals', count: 1 },
      { kind: 'rate_limit', policy: 'DAILY', count: 1 },
    ] });
    expect((await post('/crm/v3/objects/deals/search', {})).status).toBe(502);
    const daily = await post('/crm/v3/objects/deals/search', {});
    expect(daily.status).toBe(429);
    expect(await daily.json()).toMatchObject({ policyName: 'DAILY', errorType: 'RATE_LIMIT' });
    expect((await post('/crm/v3/objects/deals/search', {})).status).toBe(200);
    expect((await post('/__emulator/faults', { kind: 'nope' })).status).toBe(400);
  });

  it('drops the connection when told to', async () => {
    await post('/__emulator/faults', { kind: 'drop' });
    await expect(post('/crm/v3/objects/deals/search', {})).rejects.toThrow();
  });

  it('searches with NOT_IN over ids, and refuses a list of more than 100 values', async () => {
    const { ids } = await read(seedAnswer, post('/__emulator/seed', makeOrg({ companies: 0, contacts: 3, deals: 0 })));
    const filter = (values: string[]) => ({ filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'NOT_IN', values }] }], sorts: ['hs_object_id'], limit: 10 });
    const page = await read(searchPage, post('/crm/v3/objects/contacts/search', filter([ids.ct0!, ids.ct2!])));
    expect(page.results).toHaveLength(1);
    const tooMany = await post('/crm/v3/objects/contacts/search', filter(Array.from({ length: 101 }, (_, i) => String(i))));
    expect(tooMany.status).toBe(400);
  });

  it('rejects writes to unknown or read-only properties for the whole batch', async () => {
    const { ids } = await read(seedAnswer, post('/__emulator/seed', makeOrg({ companies: 0, contacts: 0, deals: 2 })));
    const res = await post('/crm/v3/objects/deals/batch/update', { inputs: [
      { id: ids.dl0, properties: { dealname: 'ok' } },
      { id: ids.dl1, properties: { hs_lastmodifieddate: '1', nope: 'x' } },
    ] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ category: 'VALIDATION_ERROR', message: expect.stringContaining('PROPERTY_DOESNT_EXIST') });
    const raw = await read(rawObject, fetch(`${emu.url}/__emulator/objects/deals/${ids.dl0}`));
    expect(raw.properties.dealname).toBe('Deal 0');
  });

  it('seeds 100k contacts and 20k deals quickly', () => {
    emu.state.reset();
    const org = makeOrg({ companies: 2_000, contacts: 100_000, deals: 20_000 });
    const started = performance.now();
    const { ids } = emu.state.seed(org);
    const ms = performance.now() - started;
    expect(Object.keys(ids)).toHaveLength(122_000);
    // ~1.3 s of CPU on a quiet machine; the bound only guards against accidental quadratic work on a loaded CI box.
    expect(ms).toBeLessThan(15_000);
  }, 30_000);
});

describe('HubSpot emulator search shortcuts', () => {
  it('the range shortcuts (binary search to the lower bound, counted tail) answer exactly as a full scan', async () => {
    const { HubspotState } = await import('../emulators/hubspot/state');
    const { runSearch, searchRequest } = await import('../emulators/hubspot/search');
    const fc = await import('fast-check');
    const state = new HubspotState();
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    // Many ties: 2,000 deals over 300 distinct modified times.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const at = t0 + Math.floor(rnd() * 300) * 1000;
      const o = state.insert('deals', { dealname: `d${i}`, amount: String(i) }, at, at);
      if (i % 97 === 0) o.properties.hs_lastmodifieddate = null;
    }
    const stamp = (s: number) => new Date(t0 + s * 1000).toISOString();
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 305 }), fc.integer({ min: 3_000_001, max: 3_002_001 }), fc.constantFrom('gt', 'gte', 'eq-id', 'none', 'two'),
        fc.integer({ min: 0, max: 2100 }), fc.integer({ min: 1, max: 200 }),
        (s, id, form, after, limit) => {
          const modified = 'hs_lastmodifieddate';
          const groups =
            form === 'gt' ? [{ filters: [{ propertyName: modified, operator: 'GT', value: stamp(s) }] }]
            : form === 'gte' ? [{ filters: [{ propertyName: modified, operator: 'GTE', value: stamp(s) }] }]
            : form === 'eq-id' ? [{ filters: [{ propertyName: modified, operator: 'EQ', value: stamp(s) }, { propertyName: 'hs_object_id', operator: 'GT', value: String(id) }] }]
            : form === 'two' ? [{ filters: [{ propertyName: modified, operator: 'GT', value: stamp(s) }] }, { filters: [{ propertyName: modified, operator: 'EQ', value: stamp(s) }, { propertyName: 'hs_object_id', operator: 'GT', value: String(id) }] }]
            : [];
          const req = searchRequest.parse({ filterGroups: groups, sorts: [form === 'eq-id' ? 'hs_object_id' : modified], limit, after: Math.min(after, 9_999), properties: ['dealname'] });
          expect(runSearch(state, 'deals', req)).toEqual(runSearch(state, 'deals', req, true));
        },
      ),
      { numRuns: Number(process.env.SEARCH_RUNS ?? 300) },
    );
  }, 120_000);
});
