import { env } from 'cloudflare:workers';
import { applyActivityMessage } from '../../src/ingest/consumer';
import type { Org, SeedResult } from '../emulators/org';
import { call, hmacHex, waitFor } from '../worker/helpers';

export const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();

export async function emulator(path: string, init: RequestInit = {}, base = env.E2E_HUBSPOT_URL): Promise<Response> {
  const res = await fetch(`${base}/__emulator${path}`, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  if (!res.ok) throw new Error(`emulator ${path}: ${res.status} ${await res.text()}`);
  return res;
}

export async function seed(org: Org, base = env.E2E_HUBSPOT_URL): Promise<SeedResult> {
  await emulator('/reset', { method: 'POST', body: '{}' }, base);
  return (await emulator('/seed', { method: 'POST', body: JSON.stringify(org) }, base)).json<SeedResult>();
}

export async function hubspotDeal(id: string): Promise<Record<string, string | null>> {
  const res = await emulator(`/objects/deals/${id}`);
  const body = await res.json<{ properties: Record<string, string | null> }>();
  return body.properties;
}

export async function emulatorStats(base = env.E2E_HUBSPOT_URL) {
  return (await emulator('/stats', {}, base)).json<{ writeCalls: number; total: number; calls: Record<string, number>; recordWrites: Record<string, number> }>();
}

export async function slackEvent(payload: Record<string, unknown>) {
  const body = JSON.stringify(payload);
  const ts = String(Math.floor(Date.now() / 1000));
  return call('/webhooks/slack', {
    method: 'POST', token: null, body,
    headers: {
      'content-type': 'application/json', 'x-slack-request-timestamp': ts,
      'x-slack-signature': `v0=${await hmacHex('test-slack-secret', `v0:${ts}:${body}`)}`,
    },
  });
}

export async function githubEvent(event: string, payload: unknown) {
  const body = JSON.stringify(payload);
  return call('/webhooks/github', {
    method: 'POST', token: null, body,
    headers: {
      'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': `sha256=${await hmacHex('test-github-secret', body)}`,
    },
  });
}

interface RunView {
  id: string;
  status: string;
  stage: string;
  counts: Record<string, number>;
  errors: unknown[];
  reason: string | null;
  writes?: { by_status: Record<string, number>; records: { crm_id: string; fields: Record<string, unknown> }[] };
}

export async function runSync(query = ''): Promise<RunView> {
  // A debounced run may hold the lease; wait for it, then start ours.
  const started = await waitFor(async () => {
    const res = await call(`/v1/sync${query}`, { method: 'POST' });
    const body = await res.json<{ runs: { run_id: string; started: boolean }[] }>();
    return body.runs[0]!.started ? body.runs[0]!.run_id : null;
  }, 60_000);
  return waitRun(started);
}

export async function waitRun(id: string): Promise<RunView> {
  return waitFor(async () => {
    const run = await (await call(`/v1/sync/runs/${id}`)).json<RunView>();
    return run.status === 'running' ? null : run;
  }, 90_000);
}

export async function idle(): Promise<void> {
  await waitFor(async () => {
    const { data } = await (await call('/v1/sync/runs?limit=5')).json<{ data: { status: string }[] }>();
    const state = await env.DB.prepare('SELECT lease_run, tick_until, rerun FROM sync_state').all<{ lease_run: string | null; tick_until: string | null; rerun: number }>();
    return data.every((r) => r.status !== 'running') && state.results.every((s) => !s.lease_run && !s.tick_until && !s.rerun);
  }, 90_000);
}

export async function hubspotWebhook(events: unknown[], opts: { secret?: string; ts?: number } = {}) {
  const body = JSON.stringify(events);
  const ts = String(opts.ts ?? Date.now());
  const uri = 'http://ci.test/webhooks/hubspot';
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(opts.secret ?? 'test-hubspot-client-secret'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`POST${uri}${body}${ts}`)));
  return call('/webhooks/hubspot', {
    method: 'POST', token: null, body,
    headers: { 'content-type': 'application/json', 'x-hubspot-request-timestamp': ts, 'x-hubspot-signature-v3': btoa(String.fromCharCode(...mac)) },
  });
}

/** Changes a record the way a salesperson would: through HubSpot's own API. */
export async function hubspotUpdate(object: 'deals' | 'contacts', id: string, properties: Record<string, string>) {
  const res = await fetch(`${env.E2E_HUBSPOT_URL}/crm/v3/objects/${object}/batch/update`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer someone-else' },
    body: JSON.stringify({ inputs: [{ id, properties }] }),
  });
  if (!res.ok) throw new Error(`update failed: ${res.status} ${await res.text()}`);
}

/**
 * A one-company org for the model tests: a contact per key (`<key>@<name>.example`), a deal per entry (created 60 days
 * ago; closed 5 days ago, or open and expected to close in 30), and each contact's touches as [type, days ago].
 */
export function smallOrg(name: string, deals: [key: string, contact: string, stage: 'won' | 'lost' | 'proposal', amount: number][]): Org {
  const domain = `${name}.example`;
  const contacts = [...new Set(deals.map((d) => d[1]))];
  return {
    companies: [{ key: name, name: `${name} Co`, domain, website: null, additionalDomains: [], industry: 'Software', employees: 50, country: 'US', createdAt: daysAgo(400), updatedAt: daysAgo(300) }],
    contacts: contacts.map((key) => ({
      key, email: `${key}@${domain}`, additionalEmails: [], firstName: key, lastName: name, title: 'Engineer', companyKey: name,
      lifecycleStage: 'opportunity', isLead: false, convertedToContactKey: null, createdAt: daysAgo(200), updatedAt: daysAgo(100),
    })),
    deals: deals.map(([key, contact, stage, amount]) => ({
      key, name: key, amount, currency: 'USD', stage, createdAt: daysAgo(60), closeDate: stage === 'proposal' ? daysAgo(-30) : daysAgo(5),
      companyKey: name, contacts: [{ contactKey: contact, role: 'Decision Maker', isPrimary: true }], updatedAt: daysAgo(5),
    })),
  };
}

/** Ingests each contact's touches ([type, days ago]) as activity of the member with the contact's email. */
export async function ingestTouches(name: string, touches: Record<string, [type: string, daysAgo: number][]>): Promise<void> {
  for (const [contact, list] of Object.entries(touches)) {
    await applyActivityMessage(env.DB, {
      v: 1, origin: 'api', received_at: new Date().toISOString(),
      items: list.map(([type, ago], i) => ({
        source: type.split('.')[0]!, type, occurred_at: daysAgo(ago), external_id: `${contact}-${i}`,
        member: { identities: [{ source: 'email', id: `${contact}@${name}.example`, name: contact }] },
      })),
    });
  }
}

/** Touches of the model tests' contacts ([type, days ago]; channels in time order): GitHub leads to wins, Slack alone and events do not. */
export const MODEL_TOUCHES: Record<string, [type: string, daysAgo: number][]> = {
  wa: [['github.issues.opened', 50], ['slack.message', 40]],
  wb: [['github.fork', 45]],
  wc: [['slack.message', 50], ['github.issues.opened', 30]],
  la: [['slack.message', 45]],
  lb: [['events.attended', 50], ['slack.message', 40]],
  op: [['github.issues.opened', 40], ['slack.message', 30], ['events.attended', 20]],
};
