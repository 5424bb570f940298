/**
 * Fault injection, property-based: random schedules of CRM faults (429 storms, 5xx, dropped connections, answers lost
 * after the write was applied, 207 / per-record failures, slow answers, HubSpot's daily limit) against the real
 * connectors and the emulators over HTTP. Records are written the way the sync's write stage does across runs:
 * records whose outcome is unknown are read back before anything is sent again. Afterwards every record holds its
 * value (nothing lost) and the CRM applied each update exactly once (nothing duplicated).
 *
 * FAULT_RUNS sets the number of schedules per CRM (default 20; `npm run test:faults` runs 300).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlimitedGate } from '../../src/crm/call';
import { HubspotConnector } from '../../src/crm/hubspot';
import { settleByReadBack } from '../../src/crm/reconcile';
import { SalesforceConnector } from '../../src/crm/salesforce';
import { CrmStopError, type CrmConnector, type RecordWrite, type WriteResult } from '../../src/crm/types';
import { makeOrg } from '../emulators/hubspot/fixtures';
import type { Fault } from '../emulators/hubspot/faults';
import { startHubspotEmulator, type HubspotEmulator } from '../emulators/hubspot/server';
import type { FaultsBody } from '../emulators/salesforce/control';
import { startSalesforceEmulator } from '../emulators/salesforce/server';
import { buildOrg } from '../emulators/salesforce/testing';

const RUNS = Number(process.env.FAULT_RUNS ?? 20);
const RECORDS = 150;
/** Successive sync runs allowed to finish the job; every fault schedule is bounded, so a few always suffice. */
const MAX_RUNS = 6;

interface Outcome {
  runs: number;
  unfinished: string[];
}

/**
 * What the write stage does across runs: read back what is in doubt, send the rest, and keep in doubt whatever the CRM
 * may have applied without saying so (IN_DOUBT, or a stop part-way through a call).
 */
async function writeUntilDone(connector: () => CrmConnector, writes: RecordWrite[], field: string): Promise<Outcome> {
  let todo = writes;
  let doubt = new Set<string>();
  let run = 0;
  for (; run < MAX_RUNS && todo.length > 0; run++) {
    const c = connector();
    if (doubt.size) {
      try {
        const check = todo.filter((w) => doubt.has(w.crmId));
        const { records } = await c.readFields('deal', check.map((w) => w.crmId), [field]);
        const landed = new Set(settleByReadBack(check, records).landed.map((w) => w.crmId));
        todo = todo.filter((w) => !landed.has(w.crmId));
        doubt = new Set([...doubt].filter((id) => !landed.has(id)));
      } catch (error) {
        if (!(error instanceof CrmStopError) && !(error instanceof Error)) throw error;
        continue; // the read failed: nothing is sent this run
      }
    }
    let result: WriteResult;
    try {
      result = await c.write(todo);
    } catch (error) {
      if (!(error instanceof CrmStopError)) throw error;
      const partial = (error as { partial?: WriteResult }).partial;
      result = { written: partial?.written ?? [], failed: [], calls: 0 };
      // Whatever was not confirmed may or may not have landed.
      const written = new Set(result.written);
      for (const w of todo) if (!written.has(w.crmId)) doubt.add(w.crmId);
    }
    const written = new Set(result.written);
    for (const f of result.failed) if (f.code === 'IN_DOUBT') doubt.add(f.crmId);
    const permanent = result.failed.filter((f) => !f.retryable);
    expect(permanent, 'only retryable faults are injected').toEqual([]);
    todo = todo.filter((w) => !written.has(w.crmId));
  }
  return { runs: run, unfinished: todo.map((w) => w.crmId) };
}

describe('HubSpot writes under random faults', () => {
  let emu: HubspotEmulator;
  let clock = Date.parse('2026-03-01T12:00:00.000Z');
  beforeAll(async () => {
    emu = await startHubspotEmulator({ port: 0, now: () => clock });
  });
  afterAll(() => emu.close());

  const UPDATE = '/crm/v3/objects/deals/batch/update';
  const READ = '/crm/v3/objects/deals/batch/read';
  const count = fc.integer({ min: 1, max: 3 });
  const where = fc.constantFrom(UPDATE, READ, '/crm/');
  const fault = (ids: string[]): fc.Arbitrary<Fault> =>
    fc.oneof(
      fc.record({ kind: fc.constant('status' as const), status: fc.constantFrom(500 as const, 502 as const, 503 as const, 504 as const), count, pathPrefix: where }),
      fc.record({ kind: fc.constant('drop' as const), count, pathPrefix: where }),
      fc.record({ kind: fc.constant('lose_response' as const), count, pathPrefix: fc.constant(UPDATE) }),
      fc.record({ kind: fc.constant('rate_limit' as const), policy: fc.constant('TEN_SECONDLY_ROLLING' as const), count: fc.integer({ min: 1, max: 8 }), pathPrefix: where }),
      fc.record({ kind: fc.constant('rate_limit' as const), policy: fc.constant('DAILY' as const), count: fc.constant(1), pathPrefix: fc.constant(UPDATE) }),
      fc.record({ kind: fc.constant('delay' as const), ms: fc.integer({ min: 1, max: 30 }), count, pathPrefix: where }),
      fc.record({
        kind: fc.constant('partial' as const), ids: fc.subarray(ids, { minLength: 1, maxLength: 10 }),
        category: fc.constantFrom('INTERNAL_ERROR', 'LOCKED', 'SERVICE_UNAVAILABLE'), message: fc.constant('injected'), count, pathPrefix: fc.constant(UPDATE),
      }),
    );

  it(`${RUNS} fault schedules: nothing lost, nothing written twice`, async () => {
    emu.state.reset();
    const seeded = emu.state.seed(makeOrg({ companies: 2, contacts: 10, deals: RECORDS }));
    const ids = Array.from({ length: RECORDS }, (_, i) => seeded.ids[`dl${i}`]!);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fault(ids), { minLength: 1, maxLength: 5 }), async (faults) => {
        round++;
        emu.faults.clear();
        emu.limiter.reset();
        emu.state.resetStats();
        emu.faults.add(faults);
        const writes: RecordWrite[] = ids.map((id, i) => ({ object: 'deal', crmId: id, fields: { dealname: `round ${round} deal ${i}` } }));
        const connector = () => new HubspotConnector({
          accessToken: 'pat-test', baseUrl: emu.url, gate: unlimitedGate, maxAttempts: 4, writeRetryRounds: 2, timeoutMs: 5000,
          sleep: async (ms) => void (clock += ms), now: () => clock,
        });
        const outcome = await writeUntilDone(connector, writes, 'dealname');
        expect(outcome.unfinished, JSON.stringify(faults)).toEqual([]);
        for (const [i, id] of ids.entries()) {
          expect(emu.state.objects.deals.byId.get(id)?.properties.dealname).toBe(`round ${round} deal ${i}`);
          expect(emu.state.stats.recordWrites[`deals:${id}`], `deal ${id} under ${JSON.stringify(faults)}`).toBe(1);
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});

describe('Salesforce writes under random faults', () => {
  let emu: Awaited<ReturnType<typeof startSalesforceEmulator>>;
  beforeAll(async () => {
    emu = await startSalesforceEmulator({ port: 0, dailyApiLimit: 100_000_000 });
  });
  afterAll(() => emu.close());

  const count = fc.integer({ min: 1, max: 3 });
  const where = fc.constantFrom('/composite/sobjects', '/query', '');
  const faults = (ids: string[]): fc.Arbitrary<FaultsBody> =>
    fc.record(
      {
        serverErrors: fc.record({ count, status: fc.constantFrom(500, 502, 503), pathPrefix: where }),
        drop: fc.record({ count, pathPrefix: where }),
        loseResponse: fc.record({ count, pathPrefix: fc.constant('/composite/sobjects') }),
        slow: fc.record({ count, delayMs: fc.integer({ min: 1, max: 30 }), pathPrefix: where }),
        recordErrors: fc.record({
          ids: fc.subarray(ids, { minLength: 1, maxLength: 10 }), errorCode: fc.constantFrom('UNABLE_TO_LOCK_ROW', 'UNKNOWN_EXCEPTION'),
          times: fc.integer({ min: 1, max: 2 }),
        }),
      },
      { requiredKeys: [] },
    );

  it(`${RUNS} fault schedules: nothing lost, nothing written twice`, async () => {
    emu.state.reset();
    emu.state.seed(buildOrg({ contacts: 5, deals: RECORDS }));
    emu.state.addCustomField('Opportunity', 'Community_Note__c', 'Text');
    const ids = [...emu.state.records.Opportunity.keys()].slice(0, RECORDS);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(faults(ids), async (body) => {
        round++;
        emu.state.faults = [];
        emu.state.recordFaults = [];
        emu.state.stats.recordWrites = {};
        const res = await fetch(`${emu.url}/__emulator/faults`, { method: 'POST', body: JSON.stringify(body) });
        expect(res.status).toBe(200);
        const writes: RecordWrite[] = ids.map((id, i) => ({ object: 'deal', crmId: id, fields: { Community_Note__c: `round ${round} opp ${i}` } }));
        const connector = () => new SalesforceConnector({
          loginUrl: emu.url, auth: { kind: 'client_credentials', clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret' },
          sleep: async () => {}, timeoutMs: 5000, maxAttempts: 4, recordRetries: 2,
        });
        const outcome = await writeUntilDone(connector, writes, 'Community_Note__c');
        expect(outcome.unfinished, JSON.stringify(body)).toEqual([]);
        for (const [i, id] of ids.entries()) {
          expect(emu.state.records.Opportunity.get(id)?.Community_Note__c).toBe(`round ${round} opp ${i}`);
          expect(emu.state.stats.recordWrites[id], `opportunity ${id} under ${JSON.stringify(body)}`).toBe(1);
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
