/**
 * Writes HubSpot refuses in part: a batch 400 caused by some records' values, and records deleted or merged away. All
 * against the emulator over HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RateGate } from '../../src/crm/call';
import { HubspotConnector, SPLIT_CALLS, type HubspotConnectorOptions } from '../../src/crm/hubspot';
import type { RecordWrite } from '../../src/crm/types';
import { makeOrg } from '../emulators/hubspot/fixtures';
import { startHubspotEmulator, type HubspotEmulator } from '../emulators/hubspot/server';

let emu: HubspotEmulator;
let ids: Record<string, string>;
let gateTakes = 0;
const countingGate: RateGate = { take: async () => void gateTakes++ };

function connector(extra: Partial<HubspotConnectorOptions> = {}) {
  return new HubspotConnector({ accessToken: 'pat-test', baseUrl: emu.url, gate: countingGate, sleep: async () => {}, ...extra });
}

const id = (key: string) => ids[key] ?? '';
const dealWrites = (n: number, fields: RecordWrite['fields'] = { dealname: 'renamed' }): RecordWrite[] =>
  Array.from({ length: n }, (_, i) => ({ object: 'deal', crmId: id(`dl${i}`), fields }));
const batchUpdates = () => emu.state.stats.calls['POST /crm/v3/objects/deals/batch/update'] ?? 0;
const applied = () => Object.values(emu.state.stats.recordWrites);

/** A fetch that strips the problem list from 400 messages: HubSpot wording the connector can't attribute. */
const vagueFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (res.status !== 400) return res;
  const body = (await res.json()) as Record<string, unknown>;
  return new Response(JSON.stringify({ ...body, message: 'Property values were not valid' }), { status: 400, headers: res.headers });
};

const api = (method: string, path: string, body?: unknown) =>
  fetch(`${emu.url}${path}`, { method, headers: { authorization: 'Bearer pat-test', 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

beforeAll(async () => {
  emu = await startHubspotEmulator({ port: 0 });
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.state.reset();
  emu.faults.clear();
  emu.limiter.reset();
  ids = emu.state.seed(makeOrg({ companies: 2, contacts: 10, deals: 100 })).ids;
  gateTakes = 0;
});

describe('HubSpot write: a batch rejected for some of its values', () => {
  it('fails only the record with the invalid option, with HubSpot\'s message, and writes the other 99 in one more call', async () => {
    const writes = dealWrites(100);
    writes[37] = { object: 'deal', crmId: id('dl37'), fields: { dealname: 'renamed', dealstage: 'champion' } };
    const res = await connector().write(writes);
    expect(res.written).toHaveLength(99);
    expect(res.failed).toEqual([{
      crmId: id('dl37'), code: 'VALIDATION_ERROR', retryable: false,
      message: expect.stringMatching(/^dealstage: champion was not one of the allowed options: \[/) as string,
    }]);
    expect(res.calls).toBe(2);
    expect(batchUpdates()).toBe(2);
    // Every attempt went through the shared gate, as all other calls do.
    expect(gateTakes).toBe(2);
    expect(applied()).toHaveLength(99);
    expect(emu.state.objects.deals.byId.get(id('dl37'))?.properties.dealname).toBe('Deal 37');
  });

  it('fails every record carrying a read-only property, writes the rest', async () => {
    const writes = dealWrites(10);
    for (const i of [2, 5]) writes[i] = { object: 'deal', crmId: id(`dl${i}`), fields: { hs_is_closed: 'true' } };
    const res = await connector().write(writes);
    expect(res.calls).toBe(2);
    expect(res.written).toHaveLength(8);
    expect(res.failed.map((f) => f.crmId).sort()).toEqual([id('dl2'), id('dl5')].sort());
    expect(res.failed[0]?.message).toContain('read only property');
  });

  it('when HubSpot\'s 400 does not say which value, halves the batch: about 2·log2(100) extra calls for one bad record', async () => {
    const writes = dealWrites(100);
    writes[61] = { object: 'deal', crmId: id('dl61'), fields: { amount: 'lots' } };
    const res = await connector({ fetch: vagueFetch }).write(writes);
    expect(res.written).toHaveLength(99);
    expect(res.failed).toEqual([expect.objectContaining({ crmId: id('dl61'), code: 'VALIDATION_ERROR', retryable: false })]);
    expect(res.calls).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(100)));
    expect(gateTakes).toBe(res.calls);
    expect(applied().every((n) => n === 1)).toBe(true);
  });

  it('stops splitting at its call budget when nothing can be isolated', async () => {
    const res = await connector({ fetch: vagueFetch }).write(dealWrites(100, { amount: 'lots' }));
    expect(res.written).toEqual([]);
    expect(res.failed).toHaveLength(100);
    expect(res.calls).toBe(1 + SPLIT_CALLS);
  });

  it('a lone record HubSpot rejects fails with the whole message', async () => {
    const res = await connector({ fetch: vagueFetch }).write(dealWrites(1, { amount: 'lots' }));
    expect(res).toMatchObject({ calls: 1, written: [], failed: [{ code: 'VALIDATION_ERROR', retryable: false }] });
  });
});

describe('HubSpot write: records that no longer exist', () => {
  it('a deleted deal fails alone as gone; the rest of its batch is written', async () => {
    expect((await api('DELETE', `/crm/v3/objects/deals/${id('dl3')}`)).status).toBe(204);
    const res = await connector().write(dealWrites(10));
    expect(res.calls).toBe(1);
    expect(res.written).toHaveLength(9);
    expect(res.failed).toEqual([expect.objectContaining({ crmId: id('dl3'), code: 'OBJECT_NOT_FOUND', retryable: false, gone: true })]);
  });

  it('a contact merged into another fails as gone (HubSpot answers under the surviving id)', async () => {
    const merged = await api('POST', '/crm/v3/objects/contacts/merge', { primaryObjectId: id('ct0'), objectIdToMerge: id('ct1') });
    expect(merged.status).toBe(200);
    const writes: RecordWrite[] = ['ct1', 'ct2', 'ct3'].map((k) => ({ object: 'contact', crmId: id(k), fields: { jobtitle: 'Champion' } }));
    const res = await connector().write(writes);
    expect(res.calls).toBe(1);
    expect(res.written.sort()).toEqual([id('ct2'), id('ct3')].sort());
    expect(res.failed).toEqual([expect.objectContaining({ crmId: id('ct1'), code: 'MERGED', retryable: false, gone: true })]);
    // As in HubSpot, the value sent to the merged-away id landed on the record it was merged into.
    expect(emu.state.objects.contacts.byId.get(id('ct0'))?.properties.jobtitle).toBe('Champion');
  });

  it('a write in doubt for a deleted record is read back, sent again and then marked gone, never retried blindly', async () => {
    await api('DELETE', `/crm/v3/objects/deals/${id('dl4')}`);
    emu.faults.add([{ kind: 'lose_response', pathPrefix: '/crm/v3/objects/deals/batch/update', count: 1 }]);
    const res = await connector().write(dealWrites(5));
    expect(res.written).toHaveLength(4);
    expect(res.settled).toBe(4);
    expect(res.failed).toEqual([expect.objectContaining({ crmId: id('dl4'), gone: true })]);
    expect(applied().every((n) => n === 1)).toBe(true);
  });
});

describe('HubSpot emulator: deleted and merged records', () => {
  it('a merged id reads as the surviving record; a deleted one is not found', async () => {
    await api('POST', '/crm/v3/objects/contacts/merge', { primaryObjectId: id('ct0'), objectIdToMerge: id('ct1') });
    await api('DELETE', `/crm/v3/objects/contacts/${id('ct2')}`);
    const read = (await (await api('POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: id('ct1') }, { id: id('ct2') }], properties: ['email'] })).json()) as {
      results: { id: string; properties: Record<string, string | null> }[];
      errors: { category: string; context: { ids: string[] } }[];
    };
    expect(read.results.map((r) => r.id)).toEqual([id('ct0')]);
    expect(read.results[0]?.properties.email).toBe('person0@company0.example');
    expect(read.errors).toEqual([expect.objectContaining({ category: 'OBJECT_NOT_FOUND', context: { ids: [id('ct2')] } })]);
    expect(((await (await api('GET', `/crm/v3/objects/contacts/${id('ct1')}`)).json()) as { id: string }).id).toBe(id('ct0'));
    expect((await api('GET', `/crm/v3/objects/contacts/${id('ct2')}`)).status).toBe(404);
    expect(emu.state.objects.contacts.byId.get(id('ct0'))?.properties.hs_merged_object_ids).toBe(id('ct1'));
  });
});
