import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { unlimitedGate } from '../../src/crm/call';
import { HubspotConnector, HubspotWriteStopped, type HubspotConnectorOptions } from '../../src/crm/hubspot';
import { CrmStopError, type RecordWrite } from '../../src/crm/types';
import { makeOrg } from '../emulators/hubspot/fixtures';
import { startHubspotEmulator, type HubspotEmulator } from '../emulators/hubspot/server';

let emu: HubspotEmulator;
let ids: Record<string, string>;
let clock = Date.parse('2026-03-01T12:00:00.000Z');
const sleeps: number[] = [];

/** Sleeping advances the shared fake clock, so the emulator's rolling window really frees up without real waiting. */
const fakeSleep = async (ms: number) => {
  sleeps.push(ms);
  clock += ms;
};

function connector(extra: Partial<HubspotConnectorOptions> = {}) {
  return new HubspotConnector({ accessToken: 'pat-test', baseUrl: emu.url, gate: unlimitedGate, sleep: fakeSleep, now: () => clock, ...extra });
}

const dealWrites = (n: number, fields: RecordWrite['fields'] = { dealname: 'renamed' }): RecordWrite[] =>
  Array.from({ length: n }, (_, i) => ({ object: 'deal', crmId: ids[`dl${i}`] ?? '', fields }));

beforeAll(async () => {
  emu = await startHubspotEmulator({ port: 0, now: () => clock });
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.state.reset();
  emu.faults.clear();
  emu.limiter.reset();
  emu.limiter.config = { perTenSeconds: 100, daily: 250_000, searchPerSecond: 5 };
  ids = emu.state.seed(makeOrg({ companies: 3, contacts: 300, deals: 300 })).ids;
  sleeps.length = 0;
  clock += 60_000;
});

const applied = () => Object.values(emu.state.stats.recordWrites);

describe('HubSpot write', () => {
  it('writes 250 records in 3 batch calls and stamps the modified time', async () => {
    const res = await connector().write(dealWrites(250, { dealname: 'Influenced deal', amount: 42 }));
    expect(res).toMatchObject({ failed: [], calls: 3 });
    expect(res.written).toHaveLength(250);
    expect(emu.state.stats.calls['POST /crm/v3/objects/deals/batch/update']).toBe(3);
    const raw: unknown = await (await fetch(`${emu.url}/__emulator/objects/deals/${ids['dl7']}`)).json();
    expect(raw).toHaveProperty('properties');
    expect(emu.state.objects.deals.byId.get(ids['dl7'] ?? '')?.properties).toMatchObject({ dealname: 'Influenced deal', amount: '42', hs_lastmodifieddate: new Date(clock).toISOString() });
  });

  it('batches per object type and merges repeated ids', async () => {
    const writes: RecordWrite[] = [
      { object: 'contact', crmId: ids['ct1'] ?? '', fields: { jobtitle: 'CTO' } },
      { object: 'company', crmId: ids['co1'] ?? '', fields: { industry: 'SOFTWARE' } },
      { object: 'contact', crmId: ids['ct1'] ?? '', fields: { firstname: 'Ada' } },
    ];
    const res = await connector().write(writes);
    expect(res).toMatchObject({ failed: [], calls: 2 });
    expect(emu.state.objects.contacts.byId.get(ids['ct1'] ?? '')?.properties).toMatchObject({ jobtitle: 'CTO', firstname: 'Ada' });
  });

  it('on a 207, re-sends only the records that failed retryably', async () => {
    const retryable = ids['dl5'] ?? '';
    const permanent = ids['dl6'] ?? '';
    emu.faults.add([
      { kind: 'partial', ids: [retryable], category: 'INTERNAL_ERROR', message: 'try again', pathPrefix: '/crm/', count: 1 },
      { kind: 'partial', ids: [permanent], category: 'VALIDATION_ERROR', message: 'nope', pathPrefix: '/crm/', count: 5 },
    ]);
    const res = await connector().write([...dealWrites(10), { object: 'deal', crmId: '999999999', fields: { dealname: 'x' } }]);
    expect(res.calls).toBe(2);
    expect(res.written).toHaveLength(9);
    expect(res.written).toContain(retryable);
    expect(res.failed).toEqual(expect.arrayContaining([
      { crmId: permanent, code: 'VALIDATION_ERROR', message: 'nope', retryable: false },
      expect.objectContaining({ crmId: '999999999', code: 'OBJECT_NOT_FOUND', retryable: false }),
    ]));
    expect(emu.state.stats.recordWrites[`deals:${retryable}`]).toBe(1);
    expect(applied().every((n) => n === 1)).toBe(true);
  });

  it('reports records still failing retryably after the retry rounds', async () => {
    const flaky = ids['dl1'] ?? '';
    emu.faults.add([{ kind: 'partial', ids: [flaky], category: 'RATE_LIMITS', message: 'busy', pathPrefix: '/crm/', count: 10 }]);
    const res = await connector({ writeRetryRounds: 2 }).write(dealWrites(3));
    expect(res.calls).toBe(3);
    expect(res.failed).toEqual([{ crmId: flaky, code: 'RATE_LIMITS', message: 'busy', retryable: true }]);
  });

  it('records whose value HubSpot rejects fail with its message, without a retry', async () => {
    const res = await connector().write(dealWrites(3, { dealstage: 'not-a-stage' }));
    expect(res.calls).toBe(1);
    expect(res.written).toEqual([]);
    expect(res.failed).toHaveLength(3);
    expect(res.failed[0]).toMatchObject({ code: 'VALIDATION_ERROR', retryable: false, message: expect.stringContaining('dealstage: not-a-stage was not one of the allowed options') as string });
  });

  it('waits on a ten-secondly 429 and succeeds without duplicating a write', async () => {
    emu.faults.add([{ kind: 'rate_limit', policy: 'TEN_SECONDLY_ROLLING', pathPrefix: '/crm/', count: 2 }]);
    const res = await connector().write(dealWrites(150));
    expect(res.failed).toEqual([]);
    expect(res.calls).toBe(4);
    expect(sleeps.slice(0, 2)).toEqual([1000, 2000]);
    expect(applied()).toHaveLength(150);
    expect(applied().every((n) => n === 1)).toBe(true);
  });

  it('paces itself through the real rolling window when the budget is small', async () => {
    emu.limiter.config = { ...emu.limiter.config, perTenSeconds: 2 };
    const res = await connector().write(dealWrites(300));
    expect(res.failed).toEqual([]);
    expect(res.written).toHaveLength(300);
    expect(emu.state.stats.writeCalls).toBe(3);
    expect(applied().every((n) => n === 1)).toBe(true);
    expect(sleeps.length).toBeGreaterThan(0);
  });

  it('waits out the per-second search limit', async () => {
    emu.limiter.config = { ...emu.limiter.config, searchPerSecond: 2 };
    const c = connector();
    let cursor = null;
    for (let i = 0; i < 4; i++) cursor = (await c.pull('contacts', cursor, 50)).cursor;
    expect(emu.state.stats.rateLimited).toBe(1);
    expect(sleeps).toContain(1000);
    expect(c.calls).toBe(5);
  });

  it('stops with CrmStopError on the daily limit, giving when it resumes', async () => {
    emu.limiter.config = { ...emu.limiter.config, daily: 2 };
    const c = connector();
    await c.write(dealWrites(1));
    const err = await c.write(dealWrites(250)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrmStopError);
    expect(err).toMatchObject({ code: 'daily_limit', resumesAt: '2026-03-02T00:00:00.000Z' });
    // What went out before the stop is reported, so the caller does not re-send it after the resume.
    if (!(err instanceof HubspotWriteStopped)) throw new Error('expected HubspotWriteStopped');
    expect(err.partial).toMatchObject({ calls: 2, failed: [] });
    expect(err.partial.written).toHaveLength(100);
    expect(err).toMatchObject({ message: 'daily limit reached, resumes at 2026-03-02T00:00:00.000Z' });
  });

  it('stops with CrmStopError on a rejected token', async () => {
    emu.faults.add([{ kind: 'auth', pathPrefix: '/crm/', count: 1 }]);
    await expect(connector().write(dealWrites(1))).rejects.toMatchObject({ name: 'CrmStopError', code: 'auth' });
  });

  it('after 5xx answers and dropped connections, reads the batch back before sending it again', async () => {
    emu.faults.add([
      { kind: 'status', status: 503, pathPrefix: '/crm/v3/objects/deals/batch/update', count: 1 },
      { kind: 'drop', pathPrefix: '/crm/v3/objects/deals/batch/update', count: 1 },
    ]);
    const res = await connector().write(dealWrites(5));
    // update (503) → read → update (dropped) → read → update.
    expect(res).toMatchObject({ failed: [], calls: 5, settled: 0 });
    expect(emu.state.stats.calls['POST /crm/v3/objects/deals/batch/read']).toBe(2);
    expect(applied()).toEqual([1, 1, 1, 1, 1]);
  });

  it('a write whose answer was lost is confirmed by reading it back, never sent twice', async () => {
    emu.faults.add([{ kind: 'lose_response', pathPrefix: '/crm/v3/objects/deals/batch/update', count: 1 }]);
    const res = await connector().write(dealWrites(150, { dealname: 'Influenced deal', amount: 1234.5, closedate: '2026-02-01T00:00:00.000Z' }));
    expect(res.failed).toEqual([]);
    expect(res.written).toHaveLength(150);
    expect(res.settled).toBe(100);
    // 2 updates (the first one's answer lost) + 1 read, and each record was changed exactly once.
    expect(res.calls).toBe(3);
    expect(applied()).toHaveLength(150);
    expect(applied().every((n) => n === 1)).toBe(true);
  });

  it('a lost answer for a batch HubSpot only partly took re-sends just the records it did not take', async () => {
    const writes = dealWrites(4, { dealname: 'Influenced deal' });
    // dl1 fails inside the batch (207) whose answer is then lost: only dl1 lacks the value on read-back.
    emu.faults.add([
      { kind: 'partial', ids: [writes[1]!.crmId], category: 'INTERNAL_ERROR', message: 'internal error', pathPrefix: '/crm/v3/objects/deals/batch/update', count: 1 },
      { kind: 'lose_response', pathPrefix: '/crm/v3/objects/deals/batch/update', count: 1 },
    ]);
    const res = await connector().write(writes);
    expect(res).toMatchObject({ failed: [], settled: 3, calls: 3 });
    expect(res.written.sort()).toEqual(writes.map((w) => w.crmId).sort());
    expect(applied()).toEqual([1, 1, 1, 1]);
  });

  it('times out a slow response and retries it', async () => {
    emu.faults.add([{ kind: 'delay', ms: 3_000, pathPrefix: '/crm/v3/objects/contacts/search', count: 1 }]);
    const started = Date.now();
    const page = await connector({ timeoutMs: 150 }).pull('contacts', null, 50);
    expect(page.records).toHaveLength(50);
    expect(page.calls).toBe(2);
    expect(sleeps).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('when neither the write nor the read-back gets through, reports the records in doubt (retryable)', async () => {
    emu.faults.add([{ kind: 'status', status: 500, pathPrefix: '/crm/', count: 10 }]);
    const res = await connector({ maxAttempts: 3 }).write(dealWrites(2));
    // One update (500: may have been applied) + 3 read attempts.
    expect(res.calls).toBe(4);
    expect(res.written).toEqual([]);
    expect(res.failed.map((f) => [f.code, f.retryable])).toEqual([['IN_DOUBT', true], ['IN_DOUBT', true]]);
  });
});
