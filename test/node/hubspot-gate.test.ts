import { describe, expect, it } from 'vitest';
import { localGate } from '../../src/crm/budget/gate';
import { HUBSPOT_LIMITS } from '../../src/crm/budget/limits';
import { createLocalGate, HubspotConnector } from '../../src/crm/hubspot';
import { makeOrg } from '../emulators/hubspot/fixtures';
import { startHubspotEmulator } from '../emulators/hubspot/server';

describe('createLocalGate', () => {
  it('holds calls to the rolling window and searches to their own limit', async () => {
    let now = 0;
    const waits: number[] = [];
    const gate = createLocalGate({
      default: { limit: 3, windowMs: 10_000 },
      search: { limit: 2, windowMs: 1_000 },
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    for (let i = 0; i < 3; i++) await gate.take('default');
    expect(waits).toEqual([]);
    await gate.take('default');
    expect(waits).toEqual([10_001]);
    now += 20_000;
    await gate.take('search');
    await gate.take('search');
    await gate.take('search');
    expect(waits.slice(1)).toEqual([1_001]);
  });
});

describe('the shared budget hears what HubSpot says', () => {
  it("learns of calls made outside it (another process on the same app) once the window runs low, and only then", async () => {
    let now = Date.parse('2026-03-01T12:00:00.000Z');
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const emu = await startHubspotEmulator({ port: 0, now: clock.now });
    try {
      const ids = emu.state.seed(makeOrg({ companies: 1, contacts: 5, deals: 5 })).ids;
      const gate = localGate(HUBSPOT_LIMITS, clock);
      const connector = new HubspotConnector({ accessToken: 'pat-test', baseUrl: emu.url, gate, sleep: clock.sleep, now: clock.now });
      const used = async () => (await gate.status()).buckets.find((b) => b.name === 'default')!.used;
      const write = () => connector.write([{ object: 'deal', crmId: ids.dl0!, fields: { dealname: `n${now}` } }]);
      await write();
      // Plenty left in the window: nothing extra is reported, so the budget counts only its own call.
      expect(await used()).toBe(1);
      for (let i = 0; i < 94; i++) {
        const res = await fetch(`${emu.url}/crm/v3/objects/deals/${ids.dl0}`, { headers: { authorization: 'Bearer pat-test' } });
        expect(res.status).toBe(200);
      }
      await write();
      // HubSpot said 4 left of 100: the 94 calls the budget never saw now count against everyone sharing it.
      expect(await used()).toBe(96);
    } finally {
      await emu.close();
    }
  });
});
