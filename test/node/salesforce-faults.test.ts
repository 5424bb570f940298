import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localGate } from '../../src/crm/budget/gate';
import { SALESFORCE_LIMITS } from '../../src/crm/budget/limits';
import { SalesforceConnector, type SalesforceConnectorOptions } from '../../src/crm/salesforce';
import { CrmStopError } from '../../src/crm/types';
import type { FaultsBody } from '../emulators/salesforce/control';
import { startSalesforceEmulator } from '../emulators/salesforce/server';
import { buildOrg } from '../emulators/salesforce/testing';

let emu: Awaited<ReturnType<typeof startSalesforceEmulator>>;
beforeAll(async () => {
  emu = await startSalesforceEmulator({ port: 0, dailyApiLimit: 1_000_000 });
});
afterAll(() => emu.close());
beforeEach(async () => {
  // Through the control plane, as tests in workerd do.
  await fetch(`${emu.url}/__emulator/reset`, { method: 'POST', body: JSON.stringify({ dailyApiLimit: 1_000_000 }) });
});

async function waitFor<T>(check: () => Promise<T | null>, ms = 2000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) {
    const value = await check();
    if (value) return value;
  }
  throw new Error('timed out');
}

const faults = async (body: FaultsBody) => {
  const res = await fetch(`${emu.url}/__emulator/faults`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
};
const stats = async () => (await (await fetch(`${emu.url}/__emulator/stats`)).json()) as { calls: Record<string, number>; writeCalls: number; tokensIssued: number; apiUsage: { used: number; limit: number } };

const waits: number[] = [];
const connector = (extra: Partial<SalesforceConnectorOptions> = {}) =>
  new SalesforceConnector({
    loginUrl: emu.url,
    auth: { kind: 'client_credentials', clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret' },
    sleep: async (ms) => {
      waits.push(ms);
    },
    timeoutMs: 1000,
    ...extra,
  });

async function ready(n = 5) {
  emu.state.seed(buildOrg({ contacts: n, deals: n }));
  const sf = connector();
  await sf.pull('contacts', null); // authenticated
  return sf;
}

describe('session', () => {
  it('INVALID_SESSION_ID → re-authenticates once and the call succeeds', async () => {
    const sf = await ready();
    await faults({ expireSession: true });
    const page = await sf.pull('contacts', null);
    expect(page.records).toHaveLength(5);
    const s = await stats();
    expect(s.tokensIssued).toBe(2);
  });

  it('a session that stays invalid stops after one re-auth instead of looping', async () => {
    const sf = await ready();
    await faults({ expireSession: true });
    // Every token the emulator issues from now on is rejected.
    const original = emu.state.tokens.add.bind(emu.state.tokens);
    emu.state.tokens.add = () => emu.state.tokens;
    try {
      await expect(sf.pull('contacts', null)).rejects.toMatchObject({ code: 'auth' });
    } finally {
      emu.state.tokens.add = original;
    }
    expect((await stats()).tokensIssued).toBe(1 + 1);
  });

  it('SOAP (Metadata API) session expiry also re-authenticates', async () => {
    const sf = await ready();
    await faults({ expireSession: true });
    const report = await sf.provision({ crm: 'salesforce', provision: true, fields: [{ object: 'deal', output: 'x', name: 'X__c', label: 'X', type: 'number' }] }, { dryRun: false });
    expect(report.created).toEqual(['deal.X__c']);
  });
});

describe('limits', () => {
  it('tracks Sforce-Limit-Info api usage', async () => {
    const sf = await ready();
    const usage = sf.apiUsage!;
    expect(usage.limit).toBe(1_000_000);
    expect(usage.used).toBe((await stats()).apiUsage.used);
  });

  it('REQUEST_LIMIT_EXCEEDED stops the run with CrmStopError and a clear reason', async () => {
    const sf = await ready();
    await faults({ requestLimitExceeded: true });
    const err = await sf.pull('deals', null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrmStopError);
    expect(err).toMatchObject({ code: 'request_limit', message: expect.stringMatching(/REQUEST_LIMIT_EXCEEDED.*TotalRequests Limit exceeded/) });
    expect(sf.apiUsage).toEqual({ used: 1_000_000, limit: 1_000_000 });
  });

  it('reserveApiCalls stops the run before the org runs dry', async () => {
    await fetch(`${emu.url}/__emulator/reset`, { method: 'POST', body: JSON.stringify({ dailyApiLimit: 10 }) });
    emu.state.seed(buildOrg({ contacts: 2000 }));
    const sf = connector({ reserveApiCalls: 5 });
    let cursor = null;
    const stop = await (async () => {
      for (let i = 0; i < 20; i++) cursor = (await sf.pull('contacts', cursor, 200)).cursor;
    })().catch((e: unknown) => e);
    expect(stop).toMatchObject({ code: 'request_limit', message: expect.stringMatching(/5\/10.*reserved/) });
    expect(emu.state.apiUsed).toBe(5);
  });

  it('a small daily limit runs out mid-run', async () => {
    await fetch(`${emu.url}/__emulator/reset`, { method: 'POST', body: JSON.stringify({ dailyApiLimit: 3 }) });
    emu.state.seed(buildOrg({ contacts: 900 }));
    const sf = connector();
    let cursor = null;
    const stop = await (async () => {
      for (let i = 0; i < 10; i++) cursor = (await sf.pull('contacts', cursor, 200)).cursor;
    })().catch((e: unknown) => e);
    expect(stop).toMatchObject({ code: 'request_limit' });
  });

  it("tells the shared budget when the org's daily allowance runs dry, so every caller sharing it stops", async () => {
    await fetch(`${emu.url}/__emulator/reset`, { method: 'POST', body: JSON.stringify({ dailyApiLimit: 4 }) });
    emu.state.seed(buildOrg({ contacts: 900 }));
    const gate = localGate(SALESFORCE_LIMITS, undefined, { maxWaitMs: 1000 });
    const sf = connector({ gate });
    let cursor = null;
    await (async () => {
      for (let i = 0; i < 10; i++) cursor = (await sf.pull('contacts', cursor, 200)).cursor;
    })().catch(() => null);
    const status = await waitFor(async () => ((await gate.status()).pausedUntil ? gate.status() : null));
    expect(status.reason).toBe('daily limit reached');
    expect(new Date(status.pausedUntil!).toISOString()).toMatch(/T00:00:00\.000Z$/);
  });
});

describe('transient failures', () => {
  it('5xx on a query is retried with backoff', async () => {
    const sf = await ready();
    waits.length = 0;
    await faults({ serverErrors: { count: 2, status: 503, pathPrefix: '/query' } });
    const page = await sf.pull('deals', null);
    expect(page.records).toHaveLength(5);
    expect(waits).toHaveLength(2);
    // describe + COUNT() (2 × 503, then ok) + the page query
    expect(page.calls).toBe(1 + 3 + 1);
  });

  it('5xx on a collections write is retried and the write lands once', async () => {
    const sf = await ready();
    const id = [...emu.state.records.Opportunity.keys()][0]!;
    emu.state.addCustomField('Opportunity', 'Score__c', 'Number');
    await faults({ serverErrors: { count: 1, status: 500, pathPrefix: '/composite/sobjects' } });
    const result = await sf.write([{ object: 'deal', crmId: id, fields: { Score__c: 9 } }]);
    // The 500 may have been applied: a SOQL read-back shows it was not, so the record is sent once more.
    expect(result).toMatchObject({ written: [id], failed: [], calls: 3 });
    expect(emu.state.stats.recordsWritten).toBe(1);
  });

  it('a write whose answer was lost is confirmed by a SOQL read-back, never sent twice', async () => {
    const sf = await ready(250);
    const ids = [...emu.state.records.Opportunity.keys()].slice(0, 250);
    emu.state.addCustomField('Opportunity', 'Score__c', 'Number');
    emu.state.addCustomField('Opportunity', 'Seen__c', 'DateTime');
    await faults({ loseResponse: { count: 1, pathPrefix: '/composite/sobjects' } });
    const result = await sf.write(ids.map((id, i) => ({ object: 'deal', crmId: id, fields: { Score__c: i + 0.5, Seen__c: '2026-03-01T10:00:00.000Z' } })));
    expect(result.failed).toEqual([]);
    expect(result.written).toHaveLength(250);
    expect(result.settled).toBe(200);
    // Two PATCHes (the first one's answer lost) and one query; every record written exactly once.
    expect(emu.state.stats.writeCalls).toBe(2);
    expect(emu.state.stats.recordsWritten).toBe(250);
    expect(result.calls).toBe(3);
  });

  it('5xx from the token endpoint (an HTML page) and from the Metadata API (a SOAP fault) are retried', async () => {
    emu.state.seed(buildOrg({ contacts: 2 }));
    await faults({ serverErrors: { count: 1, status: 503, pathPrefix: '/services/oauth2/token' } });
    const sf = connector();
    expect((await sf.pull('contacts', null)).records).toHaveLength(2);
    await faults({ serverErrors: { count: 1, status: 500, pathPrefix: '/services/Soap/m' } });
    const report = await sf.provision({ crm: 'salesforce', provision: true, fields: [{ object: 'contact', output: 'x', name: 'Y__c', label: 'Y', type: 'date' }] }, { dryRun: false });
    expect(report.created).toEqual(['contact.Y__c']);
    // Two createMetadata attempts, then the permission-set upsert that grants the new field.
    expect((await stats()).calls['POST /services/Soap/m']).toBe(3);
  });

  it('an HTML 503 from the Metadata API (a proxy or maintenance page, not a SOAP fault) is retried', async () => {
    emu.state.seed(buildOrg({ contacts: 2 }));
    const sf = connector();
    await sf.pull('contacts', null);
    await faults({ serverErrors: { count: 2, status: 503, pathPrefix: '/services/Soap/m', html: true } });
    const report = await sf.provision({ crm: 'salesforce', provision: true, fields: [{ object: 'contact', output: 'x', name: 'Y__c', label: 'Y', type: 'date' }] }, { dryRun: false });
    expect(report.created).toEqual(['contact.Y__c']);
    expect(sf.lastCreateFailures).toEqual([]);
    // Two 503 pages, the createMetadata that lands, then the permission-set upsert.
    expect((await stats()).calls['POST /services/Soap/m']).toBe(4);
  });

  it('a dropped connection is retried', async () => {
    const sf = await ready();
    await faults({ drop: { count: 1, pathPrefix: '/query' } });
    const page = await sf.pull('contacts', null);
    expect(page.records).toHaveLength(5);
  });

  it('a slow response times out and is retried, never hangs', async () => {
    const sf = connector({ timeoutMs: 500 });
    emu.state.seed(buildOrg({ contacts: 5 }));
    await sf.pull('contacts', null);
    await faults({ slow: { count: 1, delayMs: 5000, pathPrefix: '/query' } });
    const started = Date.now();
    const page = await sf.pull('contacts', null);
    expect(page.records).toHaveLength(5);
    // One 500 ms timeout, then a normal answer: far below the 5 s the slow response would take.
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('a token request that hangs times out and the next attempt asks for a new token', async () => {
    emu.state.seed(buildOrg({ contacts: 3 }));
    await faults({ slow: { count: 1, delayMs: 3000, pathPrefix: '/services/oauth2/token' } });
    const sf = connector({ timeoutMs: 500 });
    expect((await sf.pull('contacts', null)).records).toHaveLength(3);
    expect((await stats()).calls['POST /services/oauth2/token']).toBe(2);
  });

  it('gives up after maxAttempts on a persistent 5xx and surfaces the error', async () => {
    const sf = connector({ maxAttempts: 3 });
    emu.state.seed(buildOrg({ contacts: 5 }));
    await faults({ serverErrors: { count: 50, status: 503, pathPrefix: '/query' } });
    await expect(sf.pull('contacts', null)).rejects.toMatchObject({ errorCode: 'SERVER_UNAVAILABLE' });
  });
});

describe('control plane', () => {
  it('seeds over HTTP and serves raw records and stats', async () => {
    const seeded = (await (await fetch(`${emu.url}/__emulator/seed`, { method: 'POST', body: JSON.stringify(buildOrg({ contacts: 2, deals: 1 })) })).json()) as { ids: Record<string, string> };
    expect(seeded.ids.d0).toMatch(/^006[0-9A-Za-z]{15}$/);
    expect(seeded.ids.p0).toMatch(/^003/);
    expect(seeded.ids.co0).toMatch(/^001/);
    expect(seeded.ids['d0/p0']).toMatch(/^00K/);
    const raw = (await (await fetch(`${emu.url}/__emulator/objects/Opportunity/${seeded.ids.d0}`)).json()) as Record<string, unknown>;
    expect(raw).toMatchObject({ Id: seeded.ids.d0, StageName: 'Prospecting', IsClosed: false });
    const edited = await fetch(`${emu.url}/__emulator/objects/Opportunity/${seeded.ids.d0}`, { method: 'PATCH', body: JSON.stringify({ StageName: 'Closed Won' }) });
    expect(((await edited.json()) as Record<string, unknown>).StageName).toBe('Closed Won');
    const sf = connector();
    await sf.pull('deals', null);
    const s = await stats();
    expect(s.calls['POST /services/oauth2/token']).toBe(1);
    expect(s.calls['GET /sobjects/Opportunity/describe']).toBe(1);
    expect(s.apiUsage.used).toBeGreaterThan(0);
  });
});
