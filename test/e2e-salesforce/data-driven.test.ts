import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyActivityMessage } from '../../src/ingest/consumer';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import type { Org } from '../emulators/org';
import { call } from '../worker/helpers';
import { daysAgo, emulator, idle, seed, waitRun } from '../e2e/helpers';

/**
 * Markov as the primary model with Salesforce owning the deals. Salesforce's mapping writes no rules version, so after
 * a rules change a deal whose fitted values are unchanged plans no write in the pass that uses the fit: the pass
 * before it, computed without a fit (linear), must not reach the Opportunity.
 */
const SF = () => env.E2E_SALESFORCE_URL;
const person = (key: string) => ({
  key, email: `${key}@umbrella.example`, additionalEmails: [], firstName: key, lastName: 'U', title: 'Engineer', companyKey: 'umbrella',
  lifecycleStage: 'opportunity', isLead: false, convertedToContactKey: null, createdAt: daysAgo(200), updatedAt: daysAgo(100),
});
const opp = (key: string, contact: string, stage: 'won' | 'lost' | 'proposal') => ({
  key, name: key, amount: 10_000, currency: 'USD', stage, createdAt: daysAgo(60), closeDate: stage === 'proposal' ? daysAgo(-30) : daysAgo(5),
  companyKey: 'umbrella', contacts: [{ contactKey: contact, role: 'Decision Maker', isPrimary: true }], updatedAt: daysAgo(5),
});
const org: Org = {
  companies: [{ key: 'umbrella', name: 'Umbrella', domain: 'umbrella.example', website: null, additionalDomains: [], industry: 'Software', employees: 80, country: 'US', createdAt: daysAgo(400), updatedAt: daysAgo(300) }],
  contacts: ['wa', 'wb', 'la', 'lb', 'op'].map(person),
  deals: [opp('won-a', 'wa', 'won'), opp('won-b', 'wb', 'won'), opp('lost-a', 'la', 'lost'), opp('lost-b', 'lb', 'lost'), opp('open', 'op', 'proposal')],
};
const touches: Record<string, [type: string, daysAgo: number][]> = {
  wa: [['github.issues.opened', 50], ['slack.message', 40]],
  wb: [['github.fork', 45]],
  la: [['slack.message', 45]],
  lb: [['events.attended', 50], ['slack.message', 40]],
  // Linear splits the open deal three ways (top channel: "events", the first of the tie); markov favours GitHub.
  op: [['github.issues.opened', 40], ['slack.message', 30], ['events.attended', 20]],
};
const markov = BUNDLED_MAPPINGS.rules.replace(/^  primary: w_shaped$/m, '  primary: markov').replace(/^  compare: \[.*\]$/m, '  compare: [linear]');

let ids: Record<string, string>;
beforeAll(async () => {
  ids = (await seed(org, SF())).ids;
  for (const [contact, list] of Object.entries(touches)) {
    await applyActivityMessage(env.DB, {
      v: 1, origin: 'api', received_at: new Date().toISOString(),
      items: list.map(([type, ago], i) => ({
        source: type.split('.')[0]!, type, occurred_at: daysAgo(ago), external_id: `sf-${contact}-${i}`,
        member: { identities: [{ source: 'email', id: `${contact}@umbrella.example`, name: contact }] },
      })),
    });
  }
});

async function activate(kind: 'rules' | 'salesforce', content: string) {
  await idle();
  const res = await call('/v1/rules', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind, content }) });
  expect(res.status, await res.clone().text()).toBe(200);
  const run = (await res.json<{ runs: { run_id: string; started: boolean }[] }>()).runs[0]!;
  expect(run.started).toBe(true);
  return waitRun(run.run_id);
}
const topChannel = async (key: string) => (await (await emulator(`/objects/Opportunity/${ids[key]}`, {}, SF())).json<Record<string, unknown>>()).Community_Top_Channel__c;

describe('markov with Salesforce owning the deals', () => {
  it('activating markov writes the fitted top channel', async () => {
    await activate('salesforce', BUNDLED_MAPPINGS.salesforce.replace(/^provision: false/m, 'provision: true'));
    const run = await activate('rules', markov);
    expect(run.status, JSON.stringify(run)).toBe('done');
    expect(run.counts.model_fit_recredits).toBe(1);
    expect(await topChannel('open')).toBe('github');
  });

  it('a rules change that leaves every written value as it was writes nothing, though its first pass had no fit', async () => {
    // Only the time-decay half-life changes: time_decay is not computed, so every written field stays the same.
    const changed = markov.replace(/^  time_decay_half_life_days: 7$/m, '  time_decay_half_life_days: 8');
    expect(changed).not.toBe(markov);
    const run = await activate('rules', changed);
    expect(run.status, JSON.stringify(run)).toBe('done');
    expect(run.counts.model_fit_recredits).toBe(1);
    expect(run.counts.records_written ?? 0).toBe(0);
    expect(await topChannel('open')).toBe('github');
  });
});
