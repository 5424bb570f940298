import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseFieldMapping } from '../../src/rules/mapping';
import { SalesforceConnector, type SalesforceConnectorOptions } from '../../src/crm/salesforce';
import type { FieldMapping, RecordWrite } from '../../src/crm/types';
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

const mapping = (provision: boolean): FieldMapping => ({
  crm: 'salesforce',
  provision,
  fields: [
    { object: 'deal', output: 'influenced', name: 'Community_Influenced__c', label: 'Community Influenced', type: 'bool' },
    { object: 'deal', output: 'score', name: 'Community_Score__c', label: 'Community Score', type: 'number' },
    { object: 'deal', output: 'top_channel', name: 'Community_Top_Channel__c', label: 'Top Channel', type: 'enumeration', options: ['github', 'slack', 'events'] },
    { object: 'deal', output: 'first_touch', name: 'Community_First_Touch__c', label: 'First Touch', type: 'datetime' },
    { object: 'contact', output: 'last_touch', name: 'Community_Last_Touch__c', label: 'Last Touch', type: 'date' },
    { object: 'company', output: 'evidence', name: 'Community_Evidence__c', label: 'Evidence', type: 'string' },
  ],
});

describe('provision', () => {
  it('reports missing fields with exact API names and types, creating nothing without provision', async () => {
    const report = await connector().provision(mapping(false), { dryRun: false });
    expect(report.missing).toEqual([
      { object: 'deal', name: 'Community_Influenced__c', type: 'bool' },
      { object: 'deal', name: 'Community_Score__c', type: 'number' },
      { object: 'deal', name: 'Community_Top_Channel__c', type: 'enumeration' },
      { object: 'deal', name: 'Community_First_Touch__c', type: 'datetime' },
      { object: 'contact', name: 'Community_Last_Touch__c', type: 'date' },
      { object: 'company', name: 'Community_Evidence__c', type: 'string' },
    ]);
    expect(report.created).toEqual([]);
    expect(emu.state.stats.metadataCreates).toBe(0);
    // A dry run with provision true creates nothing either.
    await connector().provision(mapping(true), { dryRun: true });
    expect(emu.state.stats.metadataCreates).toBe(0);
  });

  it('creates missing custom fields through the Metadata API with the right Salesforce types', async () => {
    const fieldsBefore = emu.state.fields.Opportunity.map((f) => f.name);
    const report = await connector().provision(mapping(true), { dryRun: false });
    expect(report.missing).toEqual([]);
    expect(report.created).toHaveLength(6);
    expect(report.created).toContain('deal.Community_Score__c');
    const type = (obj: 'Opportunity' | 'Contact' | 'Account', name: string) => emu.state.fields[obj].find((f) => f.name === name)?.type;
    expect(type('Opportunity', 'Community_Influenced__c')).toBe('boolean');
    expect(type('Opportunity', 'Community_Score__c')).toBe('double');
    expect(type('Opportunity', 'Community_Top_Channel__c')).toBe('picklist');
    expect(emu.state.fields.Opportunity.find((f) => f.name === 'Community_Top_Channel__c')?.picklistValues.map((p) => p.value)).toEqual(['github', 'slack', 'events']);
    expect(type('Opportunity', 'Community_First_Touch__c')).toBe('datetime');
    expect(type('Contact', 'Community_Last_Touch__c')).toBe('date');
    expect(type('Account', 'Community_Evidence__c')).toBe('string');
    // Undeclared fields untouched: only the declared ones were added.
    expect(emu.state.fields.Opportunity.map((f) => f.name)).toEqual([...fieldsBefore, 'Community_Influenced__c', 'Community_Score__c', 'Community_Top_Channel__c', 'Community_First_Touch__c']);
    // Second run: all present.
    const again = await connector().provision(mapping(true), { dryRun: false });
    expect(again.present).toHaveLength(6);
    expect(again.created).toEqual([]);
  });

  it('contact fields go on Contact and Lead; writes for a Lead id land on the Lead', async () => {
    const ids = emu.state.seed(buildOrg({ contacts: 1, leads: 1 })).ids;
    const sf = connector();
    const report = await sf.provision(mapping(true), { dryRun: false });
    expect(report.created).toContain('contact.Community_Last_Touch__c');
    expect(emu.state.fields.Lead.find((f) => f.name === 'Community_Last_Touch__c')?.type).toBe('date');
    const result = await sf.write([
      { object: 'contact', crmId: ids.p0!, fields: { Community_Last_Touch__c: '2025-03-01' } },
      { object: 'contact', crmId: ids.l0!, fields: { Community_Last_Touch__c: '2025-03-02' } },
    ]);
    expect(result.failed).toEqual([]);
    expect(emu.state.records.Lead.get(ids.l0!)?.Community_Last_Touch__c).toBe('2025-03-02');
    expect(emu.state.records.Contact.get(ids.p0!)?.Community_Last_Touch__c).toBe('2025-03-01');
  });

  it('a wrong type on the Lead side is reported too', async () => {
    emu.state.addCustomField('Lead', 'Community_Last_Touch__c', 'Text');
    const report = await connector().provision(mapping(true), { dryRun: false });
    expect(report.wrongType).toEqual([{ object: 'contact', name: 'Community_Last_Touch__c', expected: 'date', actual: 'string (on Lead)' }]);
    expect(emu.state.stats.metadataCreates).toBe(0);
  });

  it('provisions mappings/salesforce.yaml end to end', async () => {
    const parsed = parseFieldMapping(readFileSync('mappings/salesforce.yaml', 'utf8'), 'mappings/salesforce.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const sf = connector();
    const dry = await sf.provision(parsed.value, { dryRun: true });
    expect(dry.missing.length).toBe(parsed.value.fields.length);
    const done = await sf.provision({ ...parsed.value, provision: true }, { dryRun: false });
    expect(done).toMatchObject({ missing: [], wrongType: [] });
    expect(done.created).toHaveLength(parsed.value.fields.length);
    expect(sf.lastCreateFailures).toEqual([]);
  });

  it('refuses a field of the wrong type before any write, naming it', async () => {
    emu.state.addCustomField('Opportunity', 'Community_Score__c', 'Text');
    const ids = emu.state.seed(buildOrg({ deals: 1 })).ids;
    const sf = connector();
    const report = await sf.provision(mapping(true), { dryRun: false });
    expect(report.wrongType).toEqual([{ object: 'deal', name: 'Community_Score__c', expected: 'number', actual: 'string' }]);
    expect(report.created).toEqual([]);
    expect(emu.state.stats.metadataCreates).toBe(0);
    const writesBefore = emu.state.stats.writeCalls;
    await expect(sf.write([{ object: 'deal', crmId: ids.d0!, fields: { Community_Score__c: 5 } }])).rejects.toThrow(/Opportunity\.Community_Score__c is a string field/);
    expect(emu.state.stats.writeCalls).toBe(writesBefore);
  });

  it('a field that exists but is not updateable (read-only field-level security, a formula) is refused like a wrong type', async () => {
    const field = (body: object) => fetch(`${emu.url}/__emulator/fields`, { method: 'POST', body: JSON.stringify(body) });
    expect((await field({ sobject: 'Opportunity', name: 'Community_Score__c', type: 'Number', readOnly: true })).status).toBe(200);
    expect((await field({ sobject: 'Account', name: 'Community_Evidence__c', type: 'Text', formula: true })).status).toBe(200);
    expect((await field({ sobject: 'Lead', name: 'Community_Last_Touch__c', type: 'Date', readOnly: true })).status).toBe(200);
    const ids = emu.state.seed(buildOrg({ deals: 1 })).ids;
    const sf = connector();
    const report = await sf.provision(mapping(true), { dryRun: false });
    expect(report.wrongType).toEqual([
      { object: 'deal', name: 'Community_Score__c', expected: 'number', actual: 'read-only (not updateable)' },
      { object: 'contact', name: 'Community_Last_Touch__c', expected: 'date', actual: 'read-only (not updateable) (on Lead)' },
      { object: 'company', name: 'Community_Evidence__c', expected: 'string', actual: 'formula (calculated, not updateable)' },
    ]);
    expect(emu.state.stats.metadataCreates).toBe(0);
    const writesBefore = emu.state.stats.writeCalls;
    await expect(sf.write([{ object: 'deal', crmId: ids.d0!, fields: { Community_Score__c: 5 } }])).rejects.toMatchObject({
      code: 'field_type',
      message: expect.stringMatching(/^Opportunity\.Community_Score__c is read-only \(not updateable\) in Salesforce/),
    });
    expect(emu.state.stats.writeCalls).toBe(writesBefore);
  });

  it('refuses to write a field the mapping does not declare', async () => {
    const ids = emu.state.seed(buildOrg({ deals: 1 })).ids;
    const sf = connector();
    await sf.provision(mapping(true), { dryRun: false });
    await expect(sf.write([{ object: 'deal', crmId: ids.d0!, fields: { Name: 'renamed' } }])).rejects.toMatchObject({ code: 'field_undeclared' });
    expect(emu.state.records.Opportunity.get(ids.d0!)?.Name).toBe('Deal 0');
  });
});

describe('field-level security (emulator enforcing FLS like a real org)', () => {
  const one: FieldMapping = { crm: 'salesforce', provision: true, fields: [{ object: 'deal', output: 'score', name: 'Community_Score__c', label: 'Community Score', type: 'number' }] };

  it('created fields are granted through the connector’s permission set, so they can be written', async () => {
    emu.state.reset({ fieldSecurity: true });
    const ids = emu.state.seed(buildOrg({ deals: 1 })).ids;
    const sf = connector();
    const report = await sf.provision(one, { dryRun: false });
    expect(report).toMatchObject({ created: ['deal.Community_Score__c'], missing: [] });
    expect(emu.state.permissionSets.get('Community_Influence')?.get('Opportunity.Community_Score__c')).toEqual({ readable: true, editable: true });
    expect([...emu.state.records.PermissionSetAssignment.values()]).toMatchObject([{ AssigneeId: emu.state.userId }]);
    expect(await sf.write([{ object: 'deal', crmId: ids.d0!, fields: { Community_Score__c: 80 } }])).toMatchObject({ failed: [] });
    // A second provision finds it present and assigns nothing twice.
    expect((await connector().provision(one, { dryRun: false })).present).toEqual(['deal.Community_Score__c']);
    expect(emu.state.records.PermissionSetAssignment.size).toBe(1);
  });

  it('a field that exists but is hidden from us (DUPLICATE_DEVELOPER_NAME) gets granted and then counts as created', async () => {
    emu.state.reset({ fieldSecurity: true });
    emu.state.addCustomField('Opportunity', 'Community_Score__c', 'Number', { secured: true });
    const sf = connector();
    const report = await sf.provision(one, { dryRun: false });
    expect(report).toMatchObject({ created: ['deal.Community_Score__c'], missing: [] });
    expect(sf.lastCreateFailures).toEqual([{ fullName: 'Opportunity.Community_Score__c', message: expect.stringMatching(/^DUPLICATE_DEVELOPER_NAME/) }]);
  });

  it('without the permission set, a created field stays invisible: reported missing, not created', async () => {
    emu.state.reset({ fieldSecurity: true });
    const report = await connector({ permissionSet: false }).provision(one, { dryRun: false });
    expect(report).toMatchObject({ created: [], missing: [{ object: 'deal', name: 'Community_Score__c', type: 'number' }] });
    expect(emu.state.stats.metadataCreates).toBe(1);
  });
});

describe('write', () => {
  async function provisioned(deals: number) {
    const ids = emu.state.seed(buildOrg({ deals, contacts: 5 })).ids;
    const sf = connector();
    await sf.provision(mapping(true), { dryRun: false });
    const dealIds = Array.from({ length: deals }, (_, i) => ids[`d${i}`]!);
    return { sf, ids, dealIds };
  }

  it('450 records → 3 sObject Collections calls; values land', async () => {
    const { sf, dealIds } = await provisioned(450);
    const before = emu.state.stats.writeCalls;
    const writes: RecordWrite[] = dealIds.map((id, i) => ({ object: 'deal', crmId: id, fields: { Community_Score__c: i, Community_Influenced__c: i % 2 === 0, Community_Top_Channel__c: 'github', Community_First_Touch__c: '2025-02-01T10:00:00.000Z' } }));
    const result = await sf.write(writes);
    expect(result.written).toHaveLength(450);
    expect(result.failed).toEqual([]);
    expect(result.calls).toBe(3);
    expect(emu.state.stats.writeCalls - before).toBe(3);
    expect(emu.state.records.Opportunity.get(dealIds[17]!)).toMatchObject({ Community_Score__c: 17, Community_Influenced__c: false });
  });

  it('per-record failure: only the failed retryable records are re-sent, never the succeeded ones', async () => {
    const { sf, dealIds } = await provisioned(10);
    const locked = [dealIds[2]!, dealIds[7]!];
    emu.state.recordFaults.push({ ids: new Set(locked), errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record', remaining: new Map(locked.map((id) => [id, 1])) });
    const sent: number[] = [];
    const original = emu.state.update.bind(emu.state);
    emu.state.update = (object, id, values) => {
      if (object === 'Opportunity') sent.push(dealIds.indexOf(id));
      return original(object, id, values);
    };
    const bad = { object: 'deal' as const, crmId: 'not-an-id', fields: { Community_Score__c: 1 } };
    const result = await sf.write([...dealIds.map((id) => ({ object: 'deal' as const, crmId: id, fields: { Community_Score__c: 42 } })), bad]);
    emu.state.update = original;
    expect(result.written).toHaveLength(10);
    expect(result.failed).toEqual([{ crmId: 'not-an-id', code: 'MALFORMED_ID', message: expect.any(String), retryable: false }]);
    expect(result.calls).toBe(2);
    // Each record applied exactly once: the 8 on the first call, the 2 locked ones on the retry.
    expect(sent.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('non-retryable per-record errors are reported with code and message, not retried', async () => {
    const { sf, dealIds } = await provisioned(3);
    const result = await sf.write([
      { object: 'deal', crmId: dealIds[0]!, fields: { Community_Top_Channel__c: 'carrier-pigeon' } },
      { object: 'deal', crmId: dealIds[1]!, fields: { Community_Score__c: 3 } },
    ]);
    expect(result.written).toEqual([dealIds[1]]);
    expect(result.failed).toEqual([{ crmId: dealIds[0], code: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: expect.stringContaining('carrier-pigeon'), retryable: false }]);
    expect(result.calls).toBe(1);
  });

  it('a record that stays locked is reported retryable after the retry rounds', async () => {
    const { sf, dealIds } = await provisioned(2);
    emu.state.recordFaults.push({ ids: new Set([dealIds[0]!]), errorCode: 'UNABLE_TO_LOCK_ROW', message: 'locked', remaining: new Map([[dealIds[0]!, 99]]) });
    const result = await connector({ recordRetries: 2 }).write(dealIds.map((id) => ({ object: 'deal', crmId: id, fields: { Community_Score__c: 1 } })));
    expect(result.written).toEqual([dealIds[1]]);
    expect(result.failed).toEqual([{ crmId: dealIds[0], code: 'UNABLE_TO_LOCK_ROW', message: 'locked', retryable: true }]);
    expect(result.calls).toBe(1 + 3); // token + first call + 2 retry rounds
    void sf;
  });

  it('a converted Lead, a deleted record and a merged-away one fail as gone (not retryable), without retry rounds', async () => {
    const ids = emu.state.seed(buildOrg({ contacts: 3, leads: 2, deals: 2 })).ids;
    for (const sobject of ['Contact', 'Lead', 'Opportunity'] as const) emu.state.addCustomField(sobject, 'Score__c', 'Number');
    // Over the control plane, as a workerd test would.
    const control = (path: string, method: string, body?: object) => fetch(`${emu.url}/__emulator${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
    expect((await control(`/objects/Lead/${ids.l0}/convert`, 'POST', { contactId: ids.p0 })).status).toBe(200);
    expect((await control(`/objects/Opportunity/${ids.d0}`, 'DELETE')).status).toBe(200);
    expect((await control(`/objects/Contact/${ids.p2}?mergedInto=${ids.p1}`, 'DELETE')).status).toBe(200);
    const sf = connector();
    const write = (object: RecordWrite['object'], id: string): RecordWrite => ({ object, crmId: id, fields: { Score__c: 1 } });
    const result = await sf.write([...[ids.l0!, ids.l1!, ids.p1!, ids.p2!].map((id) => write('contact', id)), ...[ids.d0!, ids.d1!].map((id) => write('deal', id))]);
    expect(result.written.sort()).toEqual([ids.l1, ids.p1, ids.d1].sort());
    expect(result.failed).toEqual([
      { crmId: ids.l0, code: 'CANNOT_UPDATE_CONVERTED_LEAD', message: 'cannot reference converted lead', retryable: false, gone: true },
      { crmId: ids.p2, code: 'ENTITY_IS_DELETED', message: 'entity is deleted', retryable: false, gone: true },
      { crmId: ids.d0, code: 'ENTITY_IS_DELETED', message: 'entity is deleted', retryable: false, gone: true },
    ]);
    expect(result.calls).toBe(1 + 1); // token + one collections call: nothing is re-sent
  });

  it('merges two writes to the same record into one', async () => {
    const { sf, dealIds } = await provisioned(1);
    const result = await sf.write([
      { object: 'deal', crmId: dealIds[0]!, fields: { Community_Score__c: 1 } },
      { object: 'deal', crmId: dealIds[0]!, fields: { Community_Influenced__c: true } },
    ]);
    expect(result.written).toEqual([dealIds[0]]);
    expect(emu.state.records.Opportunity.get(dealIds[0]!)).toMatchObject({ Community_Score__c: 1, Community_Influenced__c: true });
  });
});
