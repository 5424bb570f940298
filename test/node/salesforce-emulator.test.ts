import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isValidId, makeId, toEighteen } from '../emulators/salesforce/ids';
import { parseSoql, SoqlError } from '../emulators/salesforce/soql';
import { startSalesforceEmulator } from '../emulators/salesforce/server';
import { SalesforceState } from '../emulators/salesforce/state';
import { buildOrg } from '../emulators/salesforce/testing';

describe('ids', () => {
  it('computes the 18-character case-safe suffix', () => {
    // Known pair from Salesforce documentation examples.
    expect(toEighteen('001D000000IqhSL')).toBe('001D000000IqhSLIAZ');
    expect(isValidId('001D000000IqhSLIAZ')).toBe(true);
    expect(isValidId('001D000000IqhSLIAA')).toBe(false);
  });
  it('sorts as strings in creation order', () => {
    const ids = [1, 61, 62, 63, 3843, 3844, 100_000].map((n) => makeId('003', n));
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('SOQL subset', () => {
  const state = new SalesforceState();
  const parse = (q: string) => parseSoql(q, (o) => state.fieldsOf(o));

  it('parses the connector’s incremental query', () => {
    const q = parse("SELECT Id, Email FROM Contact WHERE (SystemModstamp > 2025-01-01T00:00:00.000Z OR (SystemModstamp = 2025-01-01T00:00:00.000+0000 AND Id > '003')) ORDER BY SystemModstamp ASC, Id ASC LIMIT 10");
    expect(q).toMatchObject({ object: 'Contact', select: ['Id', 'Email'], limit: 10, orderBy: [{ field: 'SystemModstamp', desc: false }, { field: 'Id', desc: false }] });
  });
  it('parses COUNT(), IN lists and case-insensitive keywords and fields', () => {
    expect(parse("select count() from Opportunity where id in ('a', 'b')").select).toBe('count');
    expect(parse('SELECT id, systemmodstamp FROM Contact').select).toEqual(['Id', 'SystemModstamp']);
  });
  it.each([
    ['SELECT FROM Contact', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Contact WHERE', 'MALFORMED_QUERY'],
    ['SELECT Nope FROM Contact', 'INVALID_FIELD'],
    ['SELECT Id FROM Widget__c', 'INVALID_TYPE'],
    ["SELECT Id FROM Contact WHERE SystemModstamp > '2025-01-01'", 'INVALID_FIELD'],
  ])('%s → %s', (q, code) => {
    try {
      parse(q);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SoqlError);
      expect((e as SoqlError).errorCode).toBe(code);
    }
  });
  it('filters on booleans (IsConverted = false) and follows conversions and deletions', () => {
    const s = new SalesforceState();
    const { ids } = s.seed(buildOrg({ contacts: 3, leads: 2, convertedLeads: 1 }));
    const open = () => s.run(s.parse('SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id')).map((r) => r.Id);
    expect(open()).toEqual([ids.l1, ids.l2]);
    s.convertLead(ids.l1!, ids.p1!);
    expect(open()).toEqual([ids.l2]);
    expect(s.records.Lead.get(ids.l1!)).toMatchObject({ IsConverted: true, ConvertedContactId: ids.p1, ConvertedAccountId: ids.co1 });
    s.delete('Contact', ids.p2!, ids.p0!);
    expect(s.run(s.parse('SELECT Id FROM Contact')).map((r) => r.Id)).toEqual([ids.p0, ids.p1]);
    expect(s.recycleBin.get(ids.p2!)?.record).toMatchObject({ IsDeleted: true, MasterRecordId: ids.p0 });
  });
  it('evaluates (SystemModstamp, Id) paging with ties', () => {
    const s = new SalesforceState();
    s.seed(buildOrg({ contacts: 10, sameStamp: true }));
    const all = s.run(s.parse('SELECT Id FROM Contact ORDER BY SystemModstamp, Id'));
    const mid = String(all[4]!.Id);
    const rest = s.run(s.parse(`SELECT Id FROM Contact WHERE SystemModstamp > 2025-01-01T00:00:00Z OR (SystemModstamp = 2025-01-01T00:00:00Z AND Id > '${mid}') ORDER BY SystemModstamp, Id`));
    expect(rest.map((r) => r.Id)).toEqual(all.slice(5).map((r) => r.Id));
  });
});

describe('seeding', () => {
  it('maps the org: stages, leads, conversions, contact roles', () => {
    const s = new SalesforceState();
    const { ids } = s.seed(buildOrg({ contacts: 4, leads: 1, convertedLeads: 1, deals: 6, rolesPerDeal: 2 }));
    expect([...s.records.Opportunity.values()].map((o) => o.StageName)).toEqual(['Prospecting', 'Qualification', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost']);
    expect(s.records.Opportunity.get(ids.d4!)).toMatchObject({ IsClosed: true, IsWon: true });
    expect(s.records.Lead.get(ids.l0!)).toMatchObject({ IsConverted: true, ConvertedContactId: ids.p0 });
    expect(s.records.Lead.get(ids.l1!)).toMatchObject({ IsConverted: false, ConvertedContactId: null });
    expect(s.records.OpportunityContactRole.get(ids['d0/p0']!)).toMatchObject({ OpportunityId: ids.d0, ContactId: ids.p0, Role: 'Decision Maker', IsPrimary: true });
  });

  // Generous bounds: the machine may be shared; ~1 s is typical for the seed itself.
  it('seeds 100k contacts + 20k opportunities quickly', { timeout: 60_000 }, () => {
    const org = buildOrg({ companies: 5000, contacts: 100_000, deals: 20_000, rolesPerDeal: 2 });
    const s = new SalesforceState();
    const started = performance.now();
    const { ids } = s.seed(org);
    const ms = performance.now() - started;
    expect(Object.keys(ids)).toHaveLength(5000 + 100_000 + 20_000 + 40_000);
    expect(ms).toBeLessThan(10_000);
  });
});

describe('HTTP shapes', () => {
  let emu: Awaited<ReturnType<typeof startSalesforceEmulator>>;
  let token = '';
  beforeAll(async () => {
    emu = await startSalesforceEmulator({ port: 0 });
  });
  afterAll(() => emu.close());
  beforeEach(async () => {
    emu.state.reset({ dailyApiLimit: 15_000 });
    const res = await fetch(`${emu.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=emulator-client-id&client_secret=emulator-client-secret',
    });
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ instance_url: emu.url, token_type: 'Bearer', id: expect.stringMatching(/\/id\/00D\w{15}\/005\w{15}$/) });
    token = body.access_token!;
  });
  const get = (path: string) => fetch(`${emu.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  it('default daily limit is 15,000 and every response carries Sforce-Limit-Info', async () => {
    const res = await get('/services/data/v62.0/sobjects/Contact/describe');
    expect(res.headers.get('sforce-limit-info')).toBe('api-usage=1/15000');
  });
  it('errors are [{message, errorCode}] with the right status', async () => {
    const bad = await get(`/services/data/v62.0/query?q=${encodeURIComponent('SELECT FROM')}`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual([{ message: expect.any(String), errorCode: 'MALFORMED_QUERY' }]);
    const unauth = await fetch(`${emu.url}/services/data/v62.0/sobjects/Contact/describe`);
    expect(unauth.status).toBe(401);
    expect(await unauth.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    emu.state.apiUsed = 15_000;
    const limited = await get('/services/data/v62.0/sobjects/Contact/describe');
    expect(limited.status).toBe(403);
    expect(await limited.json()).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
  });
  it('the seed endpoint validates the Org', async () => {
    const res = await fetch(`${emu.url}/__emulator/seed`, { method: 'POST', body: JSON.stringify({ companies: [{ key: 1 }], contacts: [], deals: [] }) });
    expect(res.status).toBe(400);
  });
  it('Metadata API: elements out of WSDL order are a SOAP client fault, as in Salesforce', async () => {
    const envelope = (inner: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Header xmlns="http://soap.sforce.com/2006/04/metadata"><SessionHeader><sessionId>${token}</sessionId></SessionHeader></soapenv:Header><soapenv:Body xmlns="http://soap.sforce.com/2006/04/metadata"><createMetadata><metadata xsi:type="CustomField">${inner}</metadata></createMetadata></soapenv:Body></soapenv:Envelope>`;
    const post = (inner: string) => fetch(`${emu.url}/services/Soap/m/62.0`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: envelope(inner) });
    const bad = await post('<fullName>Contact.A__c</fullName><label>A</label><defaultValue>false</defaultValue><type>Checkbox</type>');
    expect(bad.status).toBe(500);
    expect(await bad.text()).toContain('defaultValue invalid at this location in type CustomField');
    const good = await post('<fullName>Contact.A__c</fullName><defaultValue>false</defaultValue><label>A</label><type>Checkbox</type>');
    expect(await good.text()).toContain('<success>true</success>');
  });
  it('describe says which fields are updateable: system fields, formulas and read-only field-level security are not', async () => {
    emu.state.addCustomField('Opportunity', 'Open__c', 'Number');
    emu.state.addCustomField('Opportunity', 'Formula__c', 'Number', { formula: true });
    emu.state.addCustomField('Opportunity', 'Locked__c', 'Number', { readOnly: true });
    const { fields } = (await (await get('/services/data/v62.0/sobjects/Opportunity/describe')).json()) as { fields: { name: string; updateable: boolean; calculated: boolean }[] };
    const f = (name: string) => fields.find((x) => x.name === name);
    expect(f('Open__c')).toMatchObject({ updateable: true, calculated: false });
    expect(f('Formula__c')).toMatchObject({ type: 'double', updateable: false, calculated: true });
    expect(f('Locked__c')).toMatchObject({ updateable: false, calculated: false });
    expect(f('IsWon')).toMatchObject({ updateable: false });
  });
  it('a converted Lead and a deleted record refuse updates, per record', async () => {
    const { ids } = emu.state.seed(buildOrg({ contacts: 2, leads: 2, deals: 1 }));
    await fetch(`${emu.url}/__emulator/objects/Lead/${ids.l0}/convert`, { method: 'POST', body: JSON.stringify({ contactId: ids.p0 }) });
    await fetch(`${emu.url}/__emulator/objects/Opportunity/${ids.d0}`, { method: 'DELETE' });
    const res = await fetch(`${emu.url}/services/data/v62.0/composite/sobjects`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        allOrNone: false,
        records: [
          { attributes: { type: 'Lead' }, Id: ids.l0, Title: 'x' },
          { attributes: { type: 'Lead' }, Id: ids.l1, Title: 'x' },
          { attributes: { type: 'Opportunity' }, Id: ids.d0, Name: 'x' },
        ],
      }),
    });
    expect(await res.json()).toEqual([
      { id: ids.l0, success: false, errors: [{ statusCode: 'CANNOT_UPDATE_CONVERTED_LEAD', message: 'cannot reference converted lead', fields: [] }] },
      { id: ids.l1, success: true, errors: [] },
      { id: ids.d0, success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] },
    ]);
    expect((await get(`/services/data/v62.0/sobjects/Opportunity/${ids.d0}`)).status).toBe(404);
  });
  it('collections refuse more than 200 records', async () => {
    const res = await fetch(`${emu.url}/services/data/v62.0/composite/sobjects`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ allOrNone: false, records: Array.from({ length: 201 }, () => ({ attributes: { type: 'Contact' }, Id: makeId('003', 1) })) }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errorCode: string }[])[0]?.errorCode).toBe('EXCEEDED_ID_LIMIT');
  });
  it('query results have attributes and +0000 datetimes', async () => {
    const { ids } = emu.state.seed(buildOrg({ contacts: 1 }));
    const res = await get(`/services/data/v62.0/query?q=${encodeURIComponent('SELECT Id, SystemModstamp FROM Contact')}`);
    expect(await res.json()).toEqual({
      totalSize: 1,
      done: true,
      records: [{ attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${ids.p0}` }, Id: ids.p0, SystemModstamp: '2025-01-01T00:00:00.000+0000' }],
    });
  });
});
