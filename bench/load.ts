/**
 * npm run bench:load [-- --seconds 60 --rate 40]
 * Drives signed GitHub webhooks and batch ingestion at a sustained rate against the Worker on loopback (wrangler dev,
 * local D1 and Queues) with autocannon, bounded in time; then waits for the queue to drain and checks in D1 that every
 * accepted event is stored exactly once. Prints events/s, latency p50/p99 and lost/duplicated counts.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';
import { startSandbox } from '../scripts/sandbox';
import { freePort } from '../test/emulators/ports';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 60);
const RATE = arg('rate', 40); // requests per second per stream
const BATCH = 50;

const sandbox = await startSandbox({ workerPort: await freePort(), demo: false, quiet: true });
const base = sandbox.workerUrl;
const token = sandbox.adminToken;
const tokens: string[] = [];
for (let i = 0; i < 4; i++) {
  const res = await fetch(`${base}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `load-${i}`, scopes: ['ingest'] }) });
  tokens.push(((await res.json()) as { token: string }).token);
}

let webhookSeq = 0;
let batchSeq = 0;
const acceptedIds = new Set<string>();
let accepted = 0;

function webhookRequest() {
  const n = webhookSeq++;
  const body = JSON.stringify({
    action: 'created', starred_at: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    repository: { id: 1, full_name: 'acme/sdk', html_url: 'https://github.com/acme/sdk' },
    sender: { login: `user${n % 500}`, id: 100000 + (n % 500), type: 'User' },
  });
  const sig = createHmac('sha256', 'local-github-secret').update(body).digest('hex');
  return { method: 'POST' as const, path: '/webhooks/github', body, headers: { 'content-type': 'application/json', 'x-github-event': 'star', 'x-github-delivery': `load-${n}`, 'x-hub-signature-256': `sha256=${sig}` } };
}

function batchRequest() {
  const n = batchSeq++;
  const activities = Array.from({ length: BATCH }, (_, k) => ({
    source: 'discord', type: 'discord.message', occurred_at: new Date(Date.UTC(2026, 0, 1) + n * 1000 + k).toISOString(),
    external_id: `load-${n}-${k}`, member: { identities: [{ source: 'discord', id: `u${(n * BATCH + k) % 2000}` }] }, title: 'load',
  }));
  return {
    method: 'POST' as const, path: '/v1/activities', body: JSON.stringify({ activities }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[n % tokens.length]}` },
  };
}

function drive(kind: 'webhook' | 'batch') {
  return new Promise<autocannon.Result>((resolve, reject) => {
    const inflight: string[][] = [];
    const instance = autocannon(
      {
        url: base, connections: 8, overallRate: RATE, duration: SECONDS,
        requests: [{
          setupRequest: (req) => {
            const r = kind === 'webhook' ? webhookRequest() : batchRequest();
            const ids = kind === 'webhook' ? [`star:1:${JSON.parse(r.body).sender.id}:${JSON.parse(r.body).starred_at}`] : (JSON.parse(r.body).activities as { external_id: string }[]).map((a) => a.external_id);
            inflight.push(ids);
            return { ...req, ...r };
          },
          onResponse: (status) => {
            const ids = inflight.shift() ?? [];
            if (status === 202) {
              accepted += ids.length;
              for (const id of ids) acceptedIds.add(id);
            }
          },
        }],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    void instance;
  });
}

console.log(`driving ${SECONDS} s: signed GitHub webhooks at ${RATE}/s and batches of ${BATCH} activities at ${RATE}/s …`);
const [webhooks, batches] = await Promise.all([drive('webhook'), drive('batch')]);

const count = () => {
  const out = execFileSync('wrangler', ['d1', 'execute', 'DB', '--local', '--persist-to', sandbox.persistDir, '--json', '--command',
    "SELECT count(*) AS n, count(DISTINCT source || ':' || external_id) AS distinct_n FROM activities"], { encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });
  const rows = (JSON.parse(out) as { results: { n: number; distinct_n: number }[] }[])[0]!.results[0]!;
  return rows;
};
let stored = count();
for (let i = 0; i < 120 && stored.n < acceptedIds.size; i++) {
  await delay(1000);
  stored = count();
}
await sandbox.stop();

const requests = webhooks.requests.total + batches.requests.total;
const p = (r: autocannon.Result, q: 'p50' | 'p99') => r.latency[q];
const out = {
  events_per_s: Number((accepted / SECONDS).toFixed(1)),
  p50_ms: Math.max(p(webhooks, 'p50'), p(batches, 'p50')),
  p99_ms: Math.max(p(webhooks, 'p99'), p(batches, 'p99')),
  accepted: acceptedIds.size,
  stored: stored.n,
  lost: Math.max(0, acceptedIds.size - stored.n),
  duplicated: stored.n - stored.distinct_n,
};
console.log(`requests: ${requests} (webhooks ${webhooks.requests.total}, batches ${batches.requests.total}); non-2xx: ${webhooks.non2xx + batches.non2xx} (429 = rate-limited, not accepted)`);
console.log(`latency: webhooks p50 ${p(webhooks, 'p50')} ms / p99 ${p(webhooks, 'p99')} ms; batches p50 ${p(batches, 'p50')} ms / p99 ${p(batches, 'p99')} ms`);
console.log(`accepted events ${out.accepted} (${out.events_per_s}/s), stored ${out.stored}, lost ${out.lost}, duplicated ${out.duplicated} (targets 0 and 0)`);
console.log(JSON.stringify(out));
process.exit(0);
