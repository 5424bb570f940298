/**
 * npm run bench:sync [-- --deals 100000]
 * A whole org through the real Worker under wrangler dev (local D1 and Queues) and the HubSpot emulator:
 *   the first load (the runs the import triggers, summed), a run with nothing to do, incremental runs with 1% and 10%
 *   of deals changed in the CRM, and event-to-CRM latency from a signed Slack webhook to the deal's field in the
 *   emulated HubSpot (product default debounce, 20 s). Also times the rules preview (POST /v1/rules/preview) for a
 *   rule-based change and for markov as the primary model, the same two as full previews over every deal
 *   (POST /v1/rules/previews, queue steps), and what activating markov costs (one pass from the
 *   touches, then a re-credit of every stored result) against a forced full recompute.
 * D1 rows read/written are D1's own meta, summed by the run (src/store/metered.ts); CRM calls are the connector's.
 * The emulator's rate limit is raised so the figures show our cost; the CRM-call counts say what real limits imply.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { generateDemo } from '../test/emulators/demo-org';
import { freePort } from '../test/emulators/ports';
import { startSandbox } from '../scripts/sandbox';
import { BUNDLED_MAPPINGS } from '../src/rules/bundled';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const DEALS = arg('deals', 100_000);
const EVENTS = arg('events', 20);

type DealCounts = { deals: number; influenced: { deals: number }; sourced: { deals: number } };
const dealCounts = (d: Record<'before' | 'after', DealCounts>) =>
  (['before', 'after'] as const).map((k) => [d[k].deals, d[k].influenced.deals, d[k].sourced.deals]);

interface Run { id: string; status: string; duration_ms: number; counts: Record<string, number>; reason: string | null }

function figures(run: Run) {
  return {
    d1_rows_read: run.counts.d1_rows_read ?? 0,
    d1_rows_written: run.counts.d1_rows_written ?? 0,
    crm_calls: run.counts.crm_calls ?? 0,
    wall_s: Number((run.duration_ms / 1000).toFixed(2)),
  };
}

const generated = generateDemo({ seed: 7, deals: DEALS, contacts: Math.max(450, DEALS * 2), companies: Math.max(60, Math.round(DEALS / 10)), activities: Math.max(6000, DEALS * 3) });
console.log(`org: ${generated.org.companies.length} companies, ${generated.org.contacts.length} contacts, ${generated.org.deals.length} deals, ${generated.activities.length} activities`);
const t0 = performance.now();
const sandbox = await startSandbox({
  workerPort: await freePort(), hubspotPort: await freePort(), salesforce: false, quiet: true,
  data: generated, hubspotRateLimit: { perTenSeconds: 100_000, searchPerSecond: 10_000, daily: 100_000_000 }, debounceSeconds: 20,
  // The import's own debounced runs are the first load; a forced full run after them would only repeat it.
  firstSync: 'none',
  // BENCH_WORKER_LOG=file keeps the Worker's log, e.g. to find statements that read many rows ("d1 statement read many rows").
  ...(process.env.BENCH_WORKER_LOG ? { workerLog: process.env.BENCH_WORKER_LOG } : {}),
});
console.log(`sandbox up and activity imported in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const token = sandbox.adminToken;
const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
  const res = await fetch(`${sandbox.workerUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<T>;
};
const hubspot = sandbox.hubspotUrl!;

async function waitRun(id: string): Promise<Run> {
  for (;;) {
    const run = await api<Run>(`/v1/sync/runs/${id}`);
    if (run.status !== 'running') return run;
    await delay(500);
  }
}

async function runNow(query = ''): Promise<Run> {
  for (;;) {
    const { runs } = await api<{ runs: { run_id: string; started: boolean }[] }>(`/v1/sync${query}`, { method: 'POST' });
    if (runs[0]!.started) return waitRun(runs[0]!.run_id);
    await waitRun(runs[0]!.run_id);
  }
}

/** Changes `share` of the deals the way a salesperson would, through HubSpot's API. */
async function changeDeals(share: number, round: number) {
  const seeded = await (await fetch(`${hubspot}/__emulator/stats`)).json();
  void seeded;
  const ids: string[] = (await api<{ data: { deal_id: string }[] }>(`/v1/deals?limit=500&offset=0`)).data.map((d) => d.deal_id);
  const all = new Set(ids);
  // /v1/deals pages at 500; gather ids until enough are known.
  for (let offset = 500; all.size < DEALS * share && offset < DEALS; offset += 500) {
    for (const d of (await api<{ data: { deal_id: string }[] }>(`/v1/deals?limit=500&offset=${offset}`)).data) all.add(d.deal_id);
  }
  const chosen = [...all].slice(0, Math.round(DEALS * share));
  for (let i = 0; i < chosen.length; i += 100) {
    const inputs = chosen.slice(i, i + 100).map((id, n) => ({ id, properties: { amount: String(10_000 + round * 1000 + n) } }));
    const res = await fetch(`${hubspot}/crm/v3/objects/deals/batch/update`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer a-salesperson' }, body: JSON.stringify({ inputs }),
    });
    if (!res.ok) throw new Error(`changing deals: ${res.status}`);
  }
  return chosen.length;
}

// Runs until one finds nothing to do. The import's debounced runs load the org (one per imported file on a large
// org, plus the run that pulls the echo of their write-back): together they are the first load, "full". The run that
// writes and recomputes nothing is "no change".
const busy = (r: Run) => (r.counts.records_written ?? 0) + (r.counts.changed_deals ?? 0) + (r.counts.changed_contacts ?? 0) > 0;
let noop = await runNow();
for (let i = 0; i < 10 && busy(noop); i++) noop = await runNow();
const loadRuns = (await api<{ data: Run[] }>('/v1/sync/runs?limit=100')).data.filter((r) => r.status === 'done' && r.id !== noop.id);
const full: Run = {
  id: 'first-load', status: 'done', reason: null,
  duration_ms: loadRuns.reduce((n, r) => n + r.duration_ms, 0),
  counts: loadRuns.reduce<Record<string, number>>((sum, r) => {
    for (const [k, v] of Object.entries(r.counts)) sum[k] = (sum[k] ?? 0) + v;
    return sum;
  }, {}),
};
console.log(`settled ${((performance.now() - t0) / 1000).toFixed(1)} s after start; first load: ${loadRuns.length} runs, ${(full.duration_ms / 1000).toFixed(1)} s of run time`);
// Each figure is printed as soon as it is measured: a long bench stopped part-way still leaves its numbers.
console.log(`  first load ${JSON.stringify(figures(full))}; no change ${JSON.stringify(figures(noop))}`);
const changed1 = await changeDeals(0.01, 1);
const run1 = await runNow();
console.log(`  1% ${JSON.stringify(figures(run1))}`);
const changed10 = await changeDeals(0.1, 2);
const run10 = await runNow();
console.log(`  10% ${JSON.stringify(figures(run10))}`);

// The rules preview evaluates the most recent deals (up to PREVIEW_MAX_DEALS) under both rules in one request: how long it takes
// for a rule-based change, and for one that makes markov the primary model (each side fitted on the evaluated deals).
async function preview(label: string, content: string) {
  const t = performance.now();
  const res = await fetch(`${sandbox.workerUrl}/v1/rules/preview?kind=rules`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/yaml' }, body: content,
  });
  const body = (await res.json()) as {
    evaluated?: number; limited_by?: string | null; diff?: { changed: unknown[] } & Record<'before' | 'after', DealCounts>; cost?: { d1_queries: number; d1_rows_read: number };
  };
  const wall = Number(((performance.now() - t) / 1000).toFixed(2));
  const fig = {
    status: res.status, evaluated: body.evaluated ?? null, limited_by: body.limited_by ?? null, changed: body.diff?.changed.length ?? null,
    d1_queries: body.cost?.d1_queries ?? null, d1_rows_read: body.cost?.d1_rows_read ?? null, wall_s: wall,
  };
  console.log(`  preview (${label}) ${JSON.stringify(fig)}`);
  return { fig, counts: body.diff ? dealCounts(body.diff) : null };
}
const windowRules = BUNDLED_MAPPINGS.rules.replace(/lookback_days: 180/, 'lookback_days: 90');
const markovRules = BUNDLED_MAPPINGS.rules.replace(/^  primary: w_shaped$/m, '  primary: markov');
const previewWindow = await preview('lookback 180 → 90 days', windowRules);
const previewMarkov = await preview('primary w_shaped → markov', markovRules);

// The full preview (POST /v1/rules/previews) evaluates every deal in queue steps of PREVIEW_STEP_DEALS: how long from
// start to done, and whether its deal counts agree with the one-request preview's (the same deals when that one
// evaluated every deal; money sums are left out, as float sums in another order may differ in the last bits).
async function fullPreview(label: string, content: string, one: Awaited<ReturnType<typeof preview>>) {
  const t = performance.now();
  const started = await api<{ id: string; total: number }>('/v1/rules/previews', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: content });
  let p: { status: string; evaluated: number; changed_total?: number; error: string | null; diff: null | Record<'before' | 'after', DealCounts> };
  for (;;) {
    p = await api(`/v1/rules/previews/${started.id}`);
    if (p.status !== 'running') break;
    await delay(200);
  }
  const wall = (performance.now() - t) / 1000;
  const counts = p.diff ? dealCounts(p.diff) : null;
  const fig = {
    status: p.status, error: p.error, total: started.total, evaluated: p.evaluated, changed_total: p.changed_total ?? null, wall_s: Number(wall.toFixed(2)),
    deals_per_s: Math.round(p.evaluated / wall),
    counts_as_one_request: one.fig.evaluated === started.total ? JSON.stringify(counts) === JSON.stringify(one.counts) : 'not comparable (capped)',
  };
  console.log(`  full preview (${label}) ${JSON.stringify(fig)}`);
  return fig;
}
const fullPreviewWindow = await fullPreview('lookback 180 → 90 days', windowRules, previewWindow);
const fullPreviewMarkov = await fullPreview('primary w_shaped → markov', markovRules, previewMarkov);

// Event → CRM latency: a contact on a deal joins Slack and posts; how long until the deal's last touch shows it.
// Open deals only: a touch after a deal closed never counts (the rules' window), so it could not show up.
// Deals are found in the Worker by name, so only names that occur once (a company can have two "Team plan" deals).
const nameCount = new Map<string, number>();
for (const d of generated.org.deals) nameCount.set(d.name, (nameCount.get(d.name) ?? 0) + 1);
const dealsWithContacts = generated.org.deals
  .filter((d) => d.contacts.length && d.stage !== 'won' && d.stage !== 'lost' && nameCount.get(d.name) === 1)
  .slice(0, EVENTS);
const contactsByKey = new Map(generated.org.contacts.map((c) => [c.key, c]));
const { SLACK_SIGNING_SECRET = 'local-slack-secret' } = process.env;
async function slack(event: Record<string, unknown>) {
  const body = JSON.stringify({ type: 'event_callback', team_id: 'TB', event_id: `Ev${crypto.randomUUID()}`, event_time: Math.floor(Date.now() / 1000), event });
  const ts = String(Math.floor(Date.now() / 1000));
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SLACK_SIGNING_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sig = Buffer.from(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`v0:${ts}:${body}`))).toString('hex');
  const res = await fetch(`${sandbox.workerUrl}/webhooks/slack`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${sig}` }, body });
  if (res.status !== 202) throw new Error(`slack webhook: ${res.status} ${await res.text()}`);
}
const dealIds = new Map<string, string>();
for (let offset = 0; offset < DEALS; offset += 500) {
  const page = (await api<{ data: { deal_id: string; name: string }[] }>(`/v1/deals?limit=500&offset=${offset}`)).data;
  for (const d of page) dealIds.set(d.name, d.deal_id);
  if (page.length < 500) break;
}
const latencies: number[] = [];
await Promise.all(
  dealsWithContacts.map(async (deal, n) => {
    await delay(n * 2000);
    const contact = contactsByKey.get(deal.contacts[0]!.contactKey)!;
    const user = `UBENCH${n}`;
    await slack({ type: 'team_join', user: { id: user, name: `bench${n}`, real_name: `${contact.firstName} ${contact.lastName}`, profile: { email: contact.email, real_name: `${contact.firstName} ${contact.lastName}` } } });
    const sentAt = Date.now();
    const ts = (sentAt / 1000).toFixed(6);
    await slack({ type: 'message', channel: 'CB', channel_type: 'channel', user, text: 'benchmark question', ts });
    const expected = new Date(Math.floor(Number(ts) * 1000)).toISOString().slice(0, 19);
    const dealName = deal.name;
    for (;;) {
      const id = dealIds.get(dealName);
      if (id) {
        const res = await fetch(`${hubspot}/__emulator/objects/deals/${id}`);
        const props = ((await res.json()) as { properties: Record<string, string | null> }).properties;
        if ((props.community_last_touch_at ?? '').slice(0, 19) >= expected) {
          latencies.push((Date.now() - sentAt) / 1000);
          return;
        }
      }
      if (Date.now() - sentAt > 180_000) return;
      await delay(250);
    }
  }),
);
latencies.sort((a, b) => a - b);
const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]! : null);

// What a moved fit costs. Activating markov as the primary model computes every deal from its touches once (no fit
// yet: linear fallback), refits, and re-credits every stored result with the fit. A forced full run under the active
// rules, just before, is the cost of the pass from touches alone; the difference is the re-credit's.
const fullRun = figures(await runNow('?full=1'));
console.log(`  full recompute ${JSON.stringify(fullRun)}`);
// The recompute's write-back comes back from HubSpot's search as changes: pull that echo first, or the activation's
// work lands in the echo run (steps load the rules each time) and the activation's own run finds nothing to do.
console.log(`  echo of the recompute ${JSON.stringify(figures(await runNow()))}`);
const activation = await (async () => {
  const res = await api<{ runs: { run_id: string; started: boolean }[] }>('/v1/rules?kind=rules', {
    method: 'PUT', headers: { 'content-type': 'text/yaml' }, body: BUNDLED_MAPPINGS.rules.replace(/^  primary: w_shaped$/m, '  primary: markov'),
  });
  // A run already under way (e.g. debounced by the latency events) does not start the activation's: wait, then run.
  const first = await waitRun(res.runs[0]!.run_id);
  // Busy: the run under way took up part of the work once its next step loaded the new rules; both count.
  const runs = res.runs[0]!.started ? [first] : [first, await runNow()];
  const sum = (k: string) => runs.reduce((n, r) => n + (r.counts[k] ?? 0), 0);
  const f = runs.map(figures);
  return {
    d1_rows_read: f.reduce((n, x) => n + x.d1_rows_read, 0), d1_rows_written: f.reduce((n, x) => n + x.d1_rows_written, 0),
    crm_calls: f.reduce((n, x) => n + x.crm_calls, 0), wall_s: Number(f.reduce((n, x) => n + x.wall_s, 0).toFixed(2)), runs: runs.length,
    deals_computed: sum('deals_computed'), deals_recredited: sum('deals_recredited'), model_refits: sum('model_refits'),
  };
})();
const recreditCost = { d1_rows_read: activation.d1_rows_read - fullRun.d1_rows_read, d1_rows_written: activation.d1_rows_written - fullRun.d1_rows_written };
console.log(`  markov activation ${JSON.stringify(activation)}; re-credit ≈ activation − full recompute: ${JSON.stringify(recreditCost)}`);
await sandbox.stop();

const out = {
  deals: DEALS,
  run_1pct: { changed: changed1, ...figures(run1) },
  run_10pct: { changed: changed10, ...figures(run10) },
  full: { runs: loadRuns.length, ...figures(full) },
  noop: figures(noop),
  preview_window: previewWindow.fig,
  preview_markov: previewMarkov.fig,
  full_preview_window: fullPreviewWindow,
  full_preview_markov: fullPreviewMarkov,
  full_recompute: fullRun,
  markov_activation: activation,
  recredit_estimate: recreditCost,
  event_to_crm_p50_s: pct(0.5),
  event_to_crm_p95_s: pct(0.95),
  events_measured: latencies.length,
};
console.log(`full run:        ${JSON.stringify(out.full)}`);
console.log(`no change:       ${JSON.stringify(out.noop)}`);
console.log(`1% deals (${changed1}):  ${JSON.stringify(out.run_1pct)}  ratio to full rows written ${(out.run_1pct.d1_rows_written / Math.max(1, out.full.d1_rows_written)).toFixed(4)}`);
console.log(`10% deals (${changed10}): ${JSON.stringify(out.run_10pct)}  ratio to full rows written ${(out.run_10pct.d1_rows_written / Math.max(1, out.full.d1_rows_written)).toFixed(4)}`);
console.log(`event → CRM field: p50 ${out.event_to_crm_p50_s} s, p95 ${out.event_to_crm_p95_s} s over ${latencies.length}/${dealsWithContacts.length} events (debounce 20 s; target p95 ≤ 60 s)`);
console.log(JSON.stringify(out));
process.exit(0);
