import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { unlimitedGate } from '../../src/crm/call';
import { HubspotConnector } from '../../src/crm/hubspot';
import type { FieldMapping } from '../../src/crm/types';
import { makeOrg } from '../emulators/hubspot/fixtures';
import { makeProperty } from '../emulators/hubspot/properties';
import { startHubspotEmulator, type HubspotEmulator } from '../emulators/hubspot/server';

let emu: HubspotEmulator;
const connector = () => new HubspotConnector({ accessToken: 'pat-test', baseUrl: emu.url, gate: unlimitedGate, sleep: async () => {} });

const mapping = (provision = true): FieldMapping => ({
  crm: 'hubspot',
  group: { name: 'ci_influence', label: 'Community influence' },
  provision,
  fields: [
    { object: 'deal', output: 'influenced', name: 'ci_influenced', label: 'Community influenced', type: 'bool' },
    { object: 'deal', output: 'score', name: 'ci_score', label: 'Influence score', type: 'number' },
    { object: 'deal', output: 'firstTouch', name: 'ci_first_touch', label: 'First touch', type: 'datetime' },
    { object: 'deal', output: 'topChannel', name: 'ci_top_channel', label: 'Top channel', type: 'enumeration', options: ['github', 'slack', 'events'] },
    { object: 'contact', output: 'evidenceUrl', name: 'ci_evidence_url', label: 'Evidence', type: 'string' },
    { object: 'company', output: 'lastTouchDay', name: 'ci_last_touch_day', label: 'Last touch day', type: 'date' },
  ],
});

beforeAll(async () => {
  emu = await startHubspotEmulator({ port: 0 });
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.state.reset();
  emu.faults.clear();
  // The sleep above is a no-op: keep the rolling window from filling across tests.
  emu.limiter.reset();
});

describe('HubSpot provisioning', () => {
  it('creates the group and the missing properties with HubSpot types', async () => {
    const report = await connector().provision(mapping(), { dryRun: false });
    expect(report.wrongType).toEqual([]);
    expect(report.missing).toEqual([]);
    expect(report.created.sort()).toEqual(['company.ci_last_touch_day', 'contact.ci_evidence_url', 'deal.ci_first_touch', 'deal.ci_influenced', 'deal.ci_score', 'deal.ci_top_channel']);
    const deals = emu.state.properties.deals;
    expect(deals.get('ci_influenced')).toMatchObject({ type: 'bool', fieldType: 'booleancheckbox', groupName: 'ci_influence' });
    expect(deals.get('ci_first_touch')).toMatchObject({ type: 'datetime', fieldType: 'date' });
    expect(deals.get('ci_top_channel')?.options.map((o) => o.value)).toEqual(['github', 'slack', 'events']);
    expect(emu.state.groups.deals.has('ci_influence')).toBe(true);
    expect(emu.state.properties.companies.get('ci_last_touch_day')).toMatchObject({ type: 'date' });

    const again = await connector().provision(mapping(), { dryRun: false });
    expect(again).toMatchObject({ created: [], missing: [], wrongType: [] });
    expect(again.present).toHaveLength(6);
    expect(again.calls).toBe(3); // one property listing per object type, nothing else
  });

  it('written values land in the created properties', async () => {
    const { ids } = emu.state.seed(makeOrg({ companies: 1, contacts: 1, deals: 1 }));
    await connector().provision(mapping(), { dryRun: false });
    const res = await connector().write([{ object: 'deal', crmId: ids['dl0'] ?? '', fields: { ci_influenced: true, ci_score: 87.5, ci_top_channel: 'github', ci_first_touch: '2026-01-02T03:04:05.000Z' } }]);
    expect(res.failed).toEqual([]);
    expect(emu.state.objects.deals.byId.get(ids['dl0'] ?? '')?.properties).toMatchObject({ ci_influenced: 'true', ci_score: '87.5', ci_top_channel: 'github' });
  });

  it('reports a wrong type and refuses before any write, naming the property', async () => {
    emu.state.properties.deals.set('ci_score', makeProperty('ci_score', 'string', 'text', 'dealinformation', { hubspotDefined: false }));
    const before = emu.state.stats.calls;
    const report = await connector().provision(mapping(), { dryRun: false });
    expect(report.wrongType).toEqual([{ object: 'deal', name: 'ci_score', expected: 'number', actual: 'string' }]);
    expect(report.created).toEqual([]);
    expect(emu.state.properties.deals.has('ci_influenced')).toBe(false);
    expect(emu.state.groups.deals.has('ci_influence')).toBe(false);
    expect(Object.keys(before).every((k) => k.startsWith('GET '))).toBe(true);
  });

  it('dry run and provision:false only list what is missing', async () => {
    for (const [dryRun, provision] of [[true, true], [false, false]] as const) {
      const report = await connector().provision(mapping(provision), { dryRun });
      expect(report.created).toEqual([]);
      expect(report.missing).toContainEqual({ object: 'deal', name: 'ci_influenced', type: 'bool' });
      expect(report.missing).toHaveLength(6);
    }
    expect(emu.state.properties.deals.has('ci_influenced')).toBe(false);
    expect(Object.keys(emu.state.stats.calls).every((k) => k.startsWith('GET '))).toBe(true);
  });

  it('leaves properties the mapping does not declare alone', async () => {
    emu.state.properties.deals.set('ci_legacy', makeProperty('ci_legacy', 'string', 'text', 'dealinformation', { hubspotDefined: false }));
    const snapshot = JSON.stringify([...emu.state.properties.deals.entries()].filter(([k]) => !k.startsWith('ci_') || k === 'ci_legacy'));
    await connector().provision(mapping(), { dryRun: false });
    const after = JSON.stringify([...emu.state.properties.deals.entries()].filter(([k]) => !k.startsWith('ci_') || k === 'ci_legacy'));
    expect(after).toBe(snapshot);
  });

  it('adds declared options an existing enumeration lacks, keeping its own, so those values can be written', async () => {
    const { ids } = emu.state.seed(makeOrg({ companies: 1, contacts: 1, deals: 1 }));
    await connector().provision(mapping(), { dryRun: false });
    // The portal's property predates "events" and has an option of its own.
    emu.state.properties.deals.set('ci_top_channel', makeProperty('ci_top_channel', 'enumeration', 'select', 'ci_influence', {
      hubspotDefined: false, options: ['github', 'meetup', 'slack'].map((value, displayOrder) => ({ label: value, value, displayOrder, hidden: false })),
    }));
    emu.state.resetStats();
    const report = await connector().provision(mapping(), { dryRun: false });
    expect(report).toMatchObject({ wrongType: [], missing: [], created: [], optionsAdded: ['deal.ci_top_channel:events'] });
    expect(report.present).toContain('deal.ci_top_channel');
    expect(report.calls).toBe(4);
    expect(emu.state.stats.calls['PATCH /crm/v3/properties/deals/ci_top_channel']).toBe(1);
    expect(emu.state.properties.deals.get('ci_top_channel')?.options.map((o) => o.value)).toEqual(['github', 'meetup', 'slack', 'events']);
    const res = await connector().write([{ object: 'deal', crmId: ids['dl0'] ?? '', fields: { ci_top_channel: 'events' } }]);
    expect(res.failed).toEqual([]);
  });

  it('with provision off or a dry run, reports missing options as a mismatch to fix by hand, and changes nothing', async () => {
    await connector().provision(mapping(), { dryRun: false });
    emu.state.properties.deals.set('ci_top_channel', makeProperty('ci_top_channel', 'enumeration', 'select', 'ci_influence', {
      hubspotDefined: false, options: [{ label: 'github', value: 'github', displayOrder: 0, hidden: false }],
    }));
    for (const [dryRun, provision] of [[true, true], [false, false]] as const) {
      emu.state.resetStats();
      const report = await connector().provision(mapping(provision), { dryRun });
      expect(report.wrongType).toEqual([{ object: 'deal', name: 'ci_top_channel', expected: 'enumeration', actual: 'enumeration without options slack, events' }]);
      expect(report.present).not.toContain('deal.ci_top_channel');
      expect(Object.keys(emu.state.stats.calls).every((k) => k.startsWith('GET '))).toBe(true);
    }
    expect(emu.state.properties.deals.get('ci_top_channel')?.options).toHaveLength(1);
  });

  it('refuses options HubSpot will not let us edit', async () => {
    await connector().provision(mapping(), { dryRun: false });
    emu.state.properties.deals.set('ci_top_channel', makeProperty('ci_top_channel', 'enumeration', 'select', 'ci_influence', { hubspotDefined: false, readOnlyOptions: true }));
    const report = await connector().provision(mapping(), { dryRun: false });
    expect(report.wrongType).toEqual([expect.objectContaining({ name: 'ci_top_channel', actual: 'enumeration without options github, slack, events (options are read-only)' })]);
  });

  it('reports a calculated or read-only property as unwritable and refuses before any write', async () => {
    emu.state.properties.deals.set('ci_score', makeProperty('ci_score', 'number', 'calculation_equation', 'dealinformation', { hubspotDefined: false, calculated: true }));
    emu.state.properties.contacts.set('ci_evidence_url', makeProperty('ci_evidence_url', 'string', 'text', 'contactinformation', { readOnly: true }));
    const report = await connector().provision(mapping(), { dryRun: false });
    expect(report.wrongType).toEqual([
      { object: 'deal', name: 'ci_score', expected: 'number', actual: 'number (calculated, read-only)' },
      { object: 'contact', name: 'ci_evidence_url', expected: 'string', actual: 'string (read-only value)' },
    ]);
    expect(report.created).toEqual([]);
    expect(Object.keys(emu.state.stats.calls).every((k) => k.startsWith('GET '))).toBe(true);
  });

  it('the emulator enforces them: a calculated property can\'t be written; a PATCH replaces the options it is sent', async () => {
    const { ids } = emu.state.seed(makeOrg({ companies: 1, contacts: 1, deals: 1 }));
    emu.state.properties.deals.set('ci_score', makeProperty('ci_score', 'number', 'calculation_equation', 'dealinformation', { hubspotDefined: false, calculated: true }));
    const res = await connector().write([{ object: 'deal', crmId: ids['dl0'] ?? '', fields: { ci_score: 5 } }]);
    expect(res.failed[0]).toMatchObject({ code: 'VALIDATION_ERROR', message: '"ci_score" is a read only property; its value cannot be set.' });
    const patch = (name: string, body: unknown) => fetch(`${emu.url}/crm/v3/properties/deals/${name}`, {
      method: 'PATCH', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect((await patch('dealstage', { options: [{ label: 'x', value: 'x' }] })).status).toBe(200);
    expect(emu.state.properties.deals.get('dealstage')?.options.map((o) => o.value)).toEqual(['x']);
    expect((await patch('nope', { label: 'x' })).status).toBe(404);
    emu.state.properties.deals.set('locked', makeProperty('locked', 'enumeration', 'select', 'dealinformation', { readOnlyOptions: true }));
    expect((await patch('locked', { options: [] })).status).toBe(400);
  });
});
