import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { unlimitedGate } from '../../src/crm/call';
import { HubspotConnector } from '../../src/crm/hubspot';
import type { CrmContact, PullCursor } from '../../src/crm/types';
import { makeOrg } from '../emulators/hubspot/fixtures';
import { startHubspotEmulator, type HubspotEmulator } from '../emulators/hubspot/server';

let emu: HubspotEmulator;
const connector = () => new HubspotConnector({ accessToken: 'pat-test', baseUrl: emu.url, gate: unlimitedGate, sleep: async () => {} });

beforeAll(async () => {
  emu = await startHubspotEmulator({ port: 0, rateLimit: { perTenSeconds: 100_000, searchPerSecond: 100_000 } });
});
afterAll(() => emu.close());
beforeEach(() => emu.state.reset());

async function pullAll(c: HubspotConnector, cursor: PullCursor | null, pageSize: number, maxPages = 1000) {
  const records: CrmContact[] = [];
  let pages = 0;
  for (;;) {
    const page = await c.pull('contacts', cursor, pageSize);
    records.push(...page.records);
    cursor = page.cursor;
    pages++;
    if (page.done || pages >= maxPages) return { records, cursor, pages, done: page.done };
  }
}

describe('HubSpot pull', () => {
  it('walks 12,000 contacts past the 10,000 search cap, including a block sharing one timestamp', async () => {
    const { ids } = emu.state.seed(makeOrg({ companies: 5, contacts: 12_000, deals: 0, sameTimeFrom: 5000, sameTimeCount: 450 }));
    const c = connector();
    const { records, cursor, done } = await pullAll(c, null, 200);
    expect(done).toBe(true);
    const unique = new Set(records.map((r) => r.crmId));
    expect(unique.size).toBe(12_000);
    expect(unique).toEqual(new Set(Object.entries(ids).filter(([k]) => k.startsWith('ct')).map(([, id]) => id)));
    expect(cursor.phase).toBe('incremental');
    // No record is read twice except inside the shared-timestamp block, which the id keyset may re-read once.
    expect(records.length).toBeLessThanOrEqual(12_000 + 450);
    const first = records.find((r) => r.crmId === ids['ct0']);
    expect(first).toMatchObject({ email: 'person0@company0.example', additionalEmails: ['p0@gmail.example'], companyId: ids['co0'], kind: 'contact' });
  });

  it('the emulator refuses offset paging past 10,000 results, as HubSpot does', async () => {
    emu.state.seed(makeOrg({ companies: 0, contacts: 10_050, deals: 0 }));
    const res = await fetch(`${emu.url}/crm/v3/objects/contacts/search`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ limit: 100, after: '10000', sorts: ['hs_object_id'] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
  });

  it('resumes from a cursor mid-way with a new connector instance', async () => {
    emu.state.seed(makeOrg({ companies: 2, contacts: 1_000, deals: 0 }));
    const firstHalf = await pullAll(connector(), null, 100, 4);
    expect(firstHalf.done).toBe(false);
    const rest = await pullAll(connector(), JSON.parse(JSON.stringify(firstHalf.cursor)), 100);
    const all = new Set([...firstHalf.records, ...rest.records].map((r) => r.crmId));
    expect(all.size).toBe(1_000);
  });

  it('an incremental pull after updates returns only the changed records', async () => {
    const { ids } = emu.state.seed(makeOrg({ companies: 2, contacts: 300, deals: 0 }));
    const c = connector();
    const full = await pullAll(c, null, 100);
    const changed = ['ct3', 'ct150', 'ct299'].map((k) => ids[k] ?? '');
    const w = await c.write(changed.map((crmId) => ({ object: 'contact' as const, crmId, fields: { jobtitle: 'Staff Engineer' } })));
    expect(w.written.sort()).toEqual([...changed].sort());
    const inc = await pullAll(c, full.cursor, 100);
    expect(inc.records.map((r) => r.crmId).sort()).toEqual([...changed].sort());
    expect(inc.records.every((r) => r.title === 'Staff Engineer')).toBe(true);
    const again = await c.pull('contacts', inc.cursor, 100);
    expect(again.records).toEqual([]);
    expect(again.done).toBe(true);
  });

  it('walks our own write-back (batches of 100 sharing one timestamp) reading each record once', async () => {
    const { ids } = emu.state.seed(makeOrg({ companies: 2, contacts: 1_000, deals: 0 }));
    const c = connector();
    const full = await pullAll(c, null, 200);
    const all = Object.entries(ids).filter(([k]) => k.startsWith('ct')).map(([, id]) => id);
    // Ten batch updates: HubSpot stamps each batch with one modified time.
    const w = await c.write(all.map((crmId) => ({ object: 'contact' as const, crmId, fields: { jobtitle: 'Engineer' } })));
    expect(w.written).toHaveLength(1_000);
    emu.state.resetStats();
    const echo = await pullAll(c, full.cursor, 200);
    expect(echo.done).toBe(true);
    expect(echo.records).toHaveLength(1_000);
    expect(new Set(echo.records.map((r) => r.crmId)).size).toBe(1_000);
    // Five full pages and the empty one that ends the walk, each page resuming after the ids it already returned.
    expect(emu.state.stats.calls['POST /crm/v3/objects/contacts/search']).toBe(6);
    expect((await c.pull('contacts', echo.cursor, 200)).records).toEqual([]);
  });

  it('a page that is all one instant carries its ids forward, then falls back to the id keyset past 100', async () => {
    emu.state.seed(makeOrg({ companies: 1, contacts: 900, deals: 0, sameTimeFrom: 100, sameTimeCount: 250 }));
    const c = connector();
    for (const size of [100, 200]) {
      const { records, done } = await pullAll(c, null, size);
      expect(done).toBe(true);
      expect(new Set(records.map((r) => r.crmId)).size).toBe(900);
      // Past 100 shared ids the tie mode re-reads the block once at most.
      expect(records.length).toBeLessThanOrEqual(900 + 250);
    }
  });

  it('pulls companies and deals (with the associated primary company) normalised', async () => {
    const { ids } = emu.state.seed(makeOrg({ companies: 4, contacts: 10, deals: 12 }));
    const c = connector();
    const companies = await c.pull('companies', null, 100);
    expect(companies.records).toHaveLength(4);
    expect(companies.records.find((r) => r.crmId === ids['co0'])).toMatchObject({ name: 'Company 0', domain: 'company0.example', additionalDomains: ['co0.example'], employees: 10 });
    const deals = await c.pull('deals', null, 100);
    expect(deals.calls).toBe(2); // one search, one association read for the page
    const d4 = deals.records.find((r) => r.crmId === ids['dl4']);
    expect(d4).toMatchObject({ name: 'Deal 4', amount: 5000, currency: 'EUR', stage: 'closedwon', pipeline: 'default', isClosed: true, isWon: true, companyId: ids['co0'] });
    expect(deals.records.find((r) => r.crmId === ids['dl3'])?.companyId).toBeNull();
    const leads = await c.pull('leads', null);
    expect(leads).toMatchObject({ records: [], done: true, calls: 0 });
  });

  it('reads deal links with v4 batch reads, 1000 deals a call', async () => {
    const { ids } = emu.state.seed(makeOrg({ companies: 3, contacts: 20, deals: 1_500 }));
    const c = connector();
    const dealIds = Object.entries(ids).filter(([k]) => k.startsWith('dl')).map(([, id]) => id);
    emu.state.resetStats();
    const links = await c.pullDealLinks(dealIds);
    expect(links.calls).toBe(4);
    expect(emu.state.stats.calls['POST /crm/v4/associations/deals/contacts/batch/read']).toBe(2);
    expect(links.contacts).toHaveLength(3_000);
    expect(links.contacts).toContainEqual({ dealId: ids['dl0'], contactId: ids['ct0'], role: 'Decision maker', isPrimary: true });
    expect(links.contacts).toContainEqual({ dealId: ids['dl0'], contactId: ids['ct1'], role: null, isPrimary: false });
    expect(links.companies).toHaveLength(1_125); // every fourth deal has no company
    expect(links.companies).toContainEqual({ dealId: ids['dl0'], companyId: ids['co0'] });
  });
});
