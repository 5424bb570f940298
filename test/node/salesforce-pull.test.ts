import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SalesforceConnector, type SalesforceConnectorOptions } from '../../src/crm/salesforce';
import type { CrmContact, PullCursor } from '../../src/crm/types';
import { startSalesforceEmulator } from '../emulators/salesforce/server';
import { buildOrg } from '../emulators/salesforce/testing';

let emu: Awaited<ReturnType<typeof startSalesforceEmulator>>;
beforeAll(async () => {
  emu = await startSalesforceEmulator({ port: 0, dailyApiLimit: 1_000_000 });
});
afterAll(() => emu.close());
beforeEach(() => emu.state.reset());

const connector = (extra: Partial<SalesforceConnectorOptions> = {}) =>
  new SalesforceConnector({
    loginUrl: emu.url,
    auth: { kind: 'client_credentials', clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret' },
    sleep: async () => {},
    timeoutMs: 5000,
    ...extra,
  });

/** Pulls pages until done; returns everything and the final cursor. */
async function drain<T>(pull: (c: PullCursor | null) => Promise<{ records: T[]; cursor: PullCursor; done: boolean }>, start: PullCursor | null = null) {
  const all: T[] = [];
  let cursor = start;
  let pages = 0;
  for (;;) {
    const page = await pull(cursor);
    all.push(...page.records);
    cursor = page.cursor;
    pages++;
    if (page.done) return { all, cursor, pages };
  }
}

describe('auth', () => {
  it('client credentials: token, then API calls', async () => {
    emu.state.seed(buildOrg({ contacts: 3 }));
    const sf = connector();
    const page = await sf.pull('contacts', null);
    expect(page.records).toHaveLength(3);
    expect(emu.state.stats.tokensIssued).toBe(1);
    expect(sf.apiUsage?.limit).toBe(1_000_000);
  });

  it('JWT bearer with an RS256 assertion signed by a key generated here', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    emu.state.apps.set('jwt-app', { clientId: 'jwt-app', clientSecret: null, publicKeyPem: await exportSPKI(publicKey) });
    emu.state.seed(buildOrg({ contacts: 2 }));
    const sf = connector({ auth: { kind: 'jwt_bearer', clientId: 'jwt-app', username: 'integration@example.com', privateKeyPem: await exportPKCS8(privateKey) } });
    expect((await sf.pull('contacts', null)).records).toHaveLength(2);

    // A key the org doesn't know is refused and stops (no retry loop on bad credentials).
    const other = await generateKeyPair('RS256', { extractable: true });
    const bad = connector({ auth: { kind: 'jwt_bearer', clientId: 'jwt-app', username: 'integration@example.com', privateKeyPem: await exportPKCS8(other.privateKey) } });
    await expect(bad.pull('contacts', null)).rejects.toMatchObject({ name: 'CrmStopError', code: 'auth' });
  });

  it('wrong client secret stops with an auth CrmStopError', async () => {
    const sf = connector({ auth: { kind: 'client_credentials', clientId: 'emulator-client-id', clientSecret: 'wrong' } });
    await expect(sf.pull('contacts', null)).rejects.toMatchObject({ code: 'auth' });
  });
});

describe('pull', () => {
  it('pulls every object across queryMore pages, normalised', async () => {
    const org = buildOrg({ companies: 450, contacts: 450, leads: 450, deals: 450 });
    const ids = emu.state.seed(org).ids;
    const sf = connector();
    for (const object of ['contacts', 'leads', 'companies', 'deals'] as const) {
      const { all, pages, cursor } = await drain((c) => sf.pull(object, c, 200));
      expect(all, object).toHaveLength(450);
      expect(pages, object).toBe(3);
      expect(cursor.phase).toBe('incremental');
      expect(new Set(all.map((r) => r.crmId)).size).toBe(450);
    }
    const company = (await sf.pull('companies', null, 200)).records[0]!;
    expect(company).toMatchObject({ crmId: ids.co0, name: 'Company 0', domain: 'company0.example', website: 'https://www.company0.example', employees: 10, country: 'DE' });
    const deal = (await sf.pull('deals', null, 200)).records[0]!;
    expect(deal).toMatchObject({ crmId: ids.d0, name: 'Deal 0', amount: 1000, stage: 'Prospecting', isClosed: false, companyId: ids.co0, currency: null });
    expect(deal.updatedAt).toBe('2025-01-01T00:00:00.000Z');
    expect(emu.state.stats.calls['GET /query/:id']).toBeGreaterThan(0);
  });

  it('resumes from a cursor mid-way without gaps or duplicates', async () => {
    emu.state.seed(buildOrg({ contacts: 1000, sameStamp: true }));
    const sf = connector();
    const first = await sf.pull('contacts', null, 300);
    expect(first.done).toBe(false);
    // A fresh connector (new process) continues from the stored cursor.
    const rest = await drain((c) => connector().pull('contacts', c, 300), first.cursor);
    const ids = [...first.records, ...rest.all].map((r) => r.crmId);
    expect(ids).toHaveLength(1000);
    expect(new Set(ids).size).toBe(1000);
  });

  it('resumes after an expired query locator from (SystemModstamp, Id), even when all stamps tie', async () => {
    emu.state.seed(buildOrg({ contacts: 700, sameStamp: true }));
    const sf = connector();
    const first = await sf.pull('contacts', null, 300);
    emu.state.cursors.clear(); // the server forgot the locator
    const rest = await drain((c) => sf.pull('contacts', c, 300), first.cursor);
    const ids = [...first.records, ...rest.all].map((r) => r.crmId);
    expect(new Set(ids).size).toBe(700);
    expect(ids).toHaveLength(700);
  });

  it('incremental pull after updates returns only what changed', async () => {
    const ids = emu.state.seed(buildOrg({ contacts: 50, deals: 20 })).ids;
    const sf = connector();
    const initial = await drain((c) => sf.pull('contacts', c));
    expect(initial.all).toHaveLength(50);
    const deals = await drain((c) => sf.pull('deals', c));
    emu.state.update('Contact', ids.p7!, { Title: 'CTO' });
    emu.state.update('Contact', ids.p3!, { Email: 'new@x.example' });
    emu.state.update('Opportunity', ids.d5!, { StageName: 'Closed Won', IsClosed: true, IsWon: true });
    const next = await drain((c) => sf.pull('contacts', c), initial.cursor);
    expect(next.all.map((r) => r.crmId).sort()).toEqual([ids.p3, ids.p7].sort());
    expect(next.all.find((r) => r.crmId === ids.p7)?.title).toBe('CTO');
    const nextDeals = await drain((c) => sf.pull('deals', c), deals.cursor);
    expect(nextDeals.all).toMatchObject([{ crmId: ids.d5, isWon: true, stage: 'Closed Won' }]);
    // Nothing changed since: an empty, done page.
    const idle = await sf.pull('contacts', next.cursor);
    expect(idle).toMatchObject({ records: [], done: true });
  });

  it('a converted lead carries ConvertedContactId; open leads do not', async () => {
    const ids = emu.state.seed(buildOrg({ contacts: 5, leads: 3, convertedLeads: 2 })).ids;
    const { all } = await drain((c) => connector().pull('leads', c));
    const byId = new Map<string, CrmContact>(all.map((l) => [l.crmId, l]));
    expect(byId.get(ids.l0!)).toMatchObject({ kind: 'lead', convertedContactId: ids.p0, companyId: ids.co0, lifecycleStage: 'Closed - Converted' });
    expect(byId.get(ids.l4!)).toMatchObject({ kind: 'lead', convertedContactId: null, companyName: '[not provided]' });
    expect(ids.l0!.startsWith('00Q')).toBe(true);
  });

  it('multi-currency orgs (describe shows CurrencyIsoCode) get the deal currency', async () => {
    emu.state.reset({ multiCurrency: true });
    emu.state.seed(buildOrg({ deals: 2 }));
    const { all } = await drain((c) => connector().pull('deals', c));
    expect(all.map((d) => d.currency)).toEqual(['USD', 'EUR']);
  });

  it('initial loads over 2,000 records go through Bulk API 2.0, then continue incrementally', async () => {
    const ids = emu.state.seed(buildOrg({ contacts: 4500, companies: 10, deals: 0 })).ids;
    const sf = connector({ bulkPageSize: 2000, bulkPollMs: 1 });
    const { all, pages, cursor } = await drain((c) => sf.pull('contacts', c));
    expect(all).toHaveLength(4500);
    expect(new Set(all.map((r) => r.crmId)).size).toBe(4500);
    expect(pages).toBe(3);
    expect(all.find((r) => r.crmId === ids.p4499)).toMatchObject({ email: 'person4499@company9.example', title: null, companyId: ids.co9 });
    expect(emu.state.stats.calls['POST /jobs/query']).toBe(1);
    expect(emu.state.stats.calls['GET /jobs/query/:id/results']).toBe(3);
    expect(cursor).toMatchObject({ phase: 'incremental', pageToken: null, updatedAfter: new Date(Date.parse('2025-01-01T00:00:00Z') + 4499_000).toISOString() });
    emu.state.update('Contact', ids.p10!, { Title: 'VP' });
    const next = await drain((c) => sf.pull('contacts', c), cursor);
    expect(next.all.map((r) => r.crmId)).toEqual([ids.p10]);
  });

  it('Bulk CSV round-trips awkward values: commas, quotes, newlines, nulls, numbers', async () => {
    const org = buildOrg({ companies: 2100, contacts: 0, deals: 0 });
    org.companies[5] = { ...org.companies[5]!, name: 'Acme, "The" Company\nGmbH', employees: null, industry: null, website: null, domain: null };
    const ids = emu.state.seed(org).ids;
    const { all } = await drain((c) => connector().pull('companies', c));
    expect(emu.state.stats.calls['POST /jobs/query']).toBe(1);
    expect(all.find((c) => c.crmId === ids.co5)).toMatchObject({ name: 'Acme, "The" Company\nGmbH', employees: null, industry: null, website: null, domain: null });
    expect(all.find((c) => c.crmId === ids.co6)).toMatchObject({ employees: 16, website: 'https://www.company6.example', domain: 'company6.example' });
  });

  it('a Bulk load resumes from its cursor in a new connector, and a still-running job yields an empty page', async () => {
    emu.state.seed(buildOrg({ contacts: 2500 }));
    // One poll per pull: the job is still InProgress after it, so the first page is empty but carries the job.
    const first = await connector({ bulkMaxPolls: 1, bulkPageSize: 1000 }).pull('contacts', null, 100);
    expect(first).toMatchObject({ records: [], done: false, cursor: { phase: 'initial', pageToken: expect.stringMatching(/^bulk2:750\w+:\d{13}:pending$/) } });
    const second = await connector({ bulkPageSize: 1000 }).pull('contacts', first.cursor, 100);
    expect(second.records).toHaveLength(1000);
    const rest = await drain((c) => connector({ bulkPageSize: 1000 }).pull('contacts', c, 100), second.cursor);
    const ids = [...second.records, ...rest.all].map((r) => r.crmId);
    expect(new Set(ids).size).toBe(2500);
    expect(ids).toHaveLength(2500);
    expect(emu.state.stats.calls['POST /jobs/query']).toBe(1);
  });

  it('a record edited during a Bulk load is pulled again even when a later-read record carries a newer stamp', async () => {
    const ids = emu.state.seed(buildOrg({ contacts: 2500 })).ids;
    const sf = connector({ bulkPageSize: 1000 });
    const first = await sf.pull('contacts', null, 100);
    expect(first.records.map((r) => r.crmId)).toContain(ids.p0);
    // Bulk 2.0 results are not a point-in-time snapshot: p0 changes after it was read, p2400 after that and before its
    // page is read, so the load's largest stamp is later than p0's edit.
    emu.state.update('Contact', ids.p0!, { Title: 'Edited during the load' });
    emu.state.update('Contact', ids.p2400!, { Title: 'Also edited' });
    const rest = await drain((c) => sf.pull('contacts', c, 100), first.cursor);
    expect(rest.all.find((r) => r.crmId === ids.p2400)?.title).toBe('Also edited');
    const job = [...emu.state.bulkJobs.values()][0]!;
    // The next incremental pull starts no later than the job's creation, less the margin.
    expect(Date.parse(rest.cursor.updatedAfter!)).toBeLessThanOrEqual(Date.parse(job.createdDate.replace('+0000', 'Z')) - 5000);
    const next = await drain((c) => sf.pull('contacts', c, 100), rest.cursor);
    expect(next.all.find((r) => r.crmId === ids.p0)?.title).toBe('Edited during the load');
    expect(emu.state.stats.calls['POST /jobs/query']).toBe(1);
  });

  it('a Bulk cursor stored before it carried the job’s creation time still ends no later than that time', async () => {
    const ids = emu.state.seed(buildOrg({ contacts: 2100 })).ids;
    const sf = connector({ bulkPageSize: 1000 });
    const first = await sf.pull('contacts', null, 1000);
    // As stored by the previous version: no creation time in the token.
    const legacy = { ...first.cursor, pageToken: first.cursor.pageToken!.replace(/:\d{13}:/, ':') };
    expect(legacy.pageToken).not.toBe(first.cursor.pageToken);
    emu.state.update('Contact', ids.p0!, { Title: 'Edited during the load' });
    emu.state.update('Contact', ids.p2050!, { Title: 'Also edited' });
    const rest = await drain((c) => sf.pull('contacts', c, 1000), legacy);
    expect(new Set([...first.records, ...rest.all].map((r) => r.crmId)).size).toBe(2100);
    const job = [...emu.state.bulkJobs.values()][0]!;
    expect(Date.parse(rest.cursor.updatedAfter!)).toBeLessThanOrEqual(Date.parse(job.createdDate.replace('+0000', 'Z')) - 5000);
    // Two polls, then one job-info call at the end for the creation time the token lacked.
    expect(emu.state.stats.calls['GET /jobs/query/:id']).toBe(3);
    const next = await drain((c) => sf.pull('contacts', c, 1000), rest.cursor);
    expect(next.all.map((r) => r.crmId)).toContain(ids.p0);
  });

  it('a Bulk cursor whose job is gone restarts the initial load instead of skipping records', async () => {
    emu.state.seed(buildOrg({ contacts: 2100 }));
    const first = await connector().pull('contacts', null, 1000);
    emu.state.bulkJobs.clear();
    const rest = await drain((c) => connector().pull('contacts', c, 1000), first.cursor);
    expect(new Set(rest.all.map((r) => r.crmId)).size).toBe(2100);
    expect(emu.state.stats.calls['POST /jobs/query']).toBe(2);
  });

  it('rejects a stored cursor whose pageToken is not a queryMore path (the token would go with it)', async () => {
    const sf = connector();
    await expect(sf.pull('contacts', { phase: 'initial', updatedAfter: null, lastId: null, pageToken: 'https://evil.example/steal' })).rejects.toThrow();
    await expect(sf.pull('contacts', { phase: 'incremental', updatedAfter: 'yesterday', lastId: null, pageToken: null })).rejects.toThrow();
  });

  it('small initial loads stay on REST', async () => {
    emu.state.seed(buildOrg({ contacts: 1999 }));
    await drain((c) => connector().pull('contacts', c));
    expect(emu.state.stats.calls['POST /jobs/query']).toBeUndefined();
  });
});

describe('pullDealLinks', () => {
  it('reads OpportunityContactRole (role, primary) and Opportunity.AccountId, chunking ids into IN clauses', async () => {
    const org = buildOrg({ contacts: 30, deals: 450, rolesPerDeal: 2 });
    const ids = emu.state.seed(org).ids;
    const sf = connector();
    const dealIds = org.deals.map((d) => ids[d.key]!);
    const links = await sf.pullDealLinks(dealIds);
    expect(links.contacts).toHaveLength(900);
    expect(links.companies).toHaveLength(450);
    expect(links.contacts.filter((l) => l.dealId === ids.d3)).toEqual(
      expect.arrayContaining([
        { dealId: ids.d3, contactId: ids.p3, role: 'Decision Maker', isPrimary: true },
        { dealId: ids.d3, contactId: ids.p4, role: 'Technical Buyer', isPrimary: false },
      ]),
    );
    expect(links.companies).toContainEqual({ dealId: ids.d7, companyId: ids.co2 });
    // 450 ids → 3 chunks, two queries each.
    expect(links.calls).toBe(1 + 6);
  });
});
