/**
 * The local sandbox: CRM emulators seeded with the demo org, the Worker under `wrangler dev`, the demo community
 * activity ingested through the real import endpoint, and a first full sync. Used by `npm start`, the browser tests and
 * bench:ui. With real CRM credentials in the environment it skips the emulators and the demo data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ActivityInput } from '../src/activity/schema';
import { demoOrgSummary, generateDemo } from '../test/emulators/demo-org';
import type { Org } from '../test/emulators/org';
import { startHubspotEmulator } from '../test/emulators/hubspot/server';
import { startSalesforceEmulator } from '../test/emulators/salesforce/server';

export const LOCAL_ADMIN_TOKEN = 'local-dev-admin-token-not-for-production';

export interface SandboxOptions {
  workerPort?: number;
  hubspotPort?: number;
  salesforcePort?: number;
  /** Where wrangler keeps local D1/Queues state; default: a fresh temporary directory, removed on stop. */
  persistDir?: string;
  quiet?: boolean;
  /** Demo size: activities to generate (default 6,000). */
  activities?: number;
  /** Use this org and activity instead of the generated demo (benchmarks). */
  data?: { org: Org; activities: ActivityInput[] };
  /** Start the Salesforce emulator too (default true). */
  salesforce?: boolean;
  /** HubSpot emulator limits (default: HubSpot's, 100 requests / 10 s). */
  hubspotRateLimit?: { perTenSeconds?: number; daily?: number; searchPerSecond?: number };
  /** Seconds between new activity and its incremental run (default 5 in the sandbox; the product default is 20). */
  debounceSeconds?: number;
  /** Extra Worker variables. */
  vars?: Record<string, string>;
  /** false: just the Worker, no CRM emulators or demo data (load tests). */
  demo?: boolean;
  /** Append the Worker's log (JSON lines) to this file, quiet or not. */
  workerLog?: string;
  /**
   * After the import: 'full' (default) runs a full sync once the lease is free; 'none' leaves it to the incremental
   * runs the import itself triggered (benchmarks on large orgs, where that first load already takes tens of minutes).
   */
  firstSync?: 'full' | 'none';
}

export interface Sandbox {
  workerUrl: string;
  persistDir: string;
  hubspotUrl: string | null;
  salesforceUrl: string | null;
  adminToken: string;
  summary: ReturnType<typeof demoOrgSummary> | null;
  /** The first full sync runs, as GET /v1/sync/runs/:id answered them. */
  firstRuns: Record<string, unknown>[];
  stop(): Promise<void>;
}

const realCrm = () => !!(process.env.HUBSPOT_ACCESS_TOKEN || process.env.SALESFORCE_CLIENT_ID);

async function waitReady(url: string, child: ChildProcess, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await delay(250);
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s`);
}

async function api(base: string, token: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
}

async function until<T>(what: string, check: () => Promise<T | null>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(500);
  }
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const log = (msg: string) => opts.quiet || console.log(msg);
  const workerPort = opts.workerPort ?? 8787;
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const ownDir = !opts.persistDir;
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), 'ci-sandbox-'));
  const stops: (() => Promise<void>)[] = [];
  const vars: Record<string, string> = {
    ENVIRONMENT: 'development',
    ADMIN_TOKEN: process.env.ADMIN_TOKEN ?? LOCAL_ADMIN_TOKEN,
    SESSION_SECRET: process.env.SESSION_SECRET ?? 'local-dev-session-secret-not-for-production-0123',
    GITHUB_WEBHOOK_SECRET: 'local-github-secret',
    SLACK_SIGNING_SECRET: 'local-slack-secret',
    DISCOURSE_WEBHOOK_SECRET: 'local-discourse-secret',
    HUBSPOT_CLIENT_SECRET: 'local-hubspot-client-secret',
    PUBLIC_URL: workerUrl,
    SYNC_DEBOUNCE_SECONDS: String(opts.debounceSeconds ?? 5),
    ...opts.vars,
  };
  let hubspotUrl: string | null = null;
  let salesforceUrl: string | null = null;
  let summary: Sandbox['summary'] = null;
  const firstRuns: Record<string, unknown>[] = [];
  const demo = realCrm() || opts.demo === false
    ? null
    : (opts.data ?? generateDemo({ now: `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`, activities: opts.activities ?? 6000 }));

  try {
    if (demo) {
      const hubspot = await startHubspotEmulator({ port: opts.hubspotPort ?? 8788, ...(opts.hubspotRateLimit ? { rateLimit: opts.hubspotRateLimit } : {}) });
      stops.push(() => hubspot.close());
      hubspotUrl = hubspot.url;
      const urls = [hubspot.url];
      if (opts.salesforce !== false) {
        const salesforce = await startSalesforceEmulator({ port: opts.salesforcePort ?? 8789 });
        stops.push(() => salesforce.close());
        salesforceUrl = salesforce.url;
        urls.push(salesforce.url);
      }
      for (const url of urls) {
        const res = await fetch(`${url}/__emulator/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(demo.org) });
        if (!res.ok) throw new Error(`seeding ${url}: ${res.status} ${await res.text()}`);
      }
      // HubSpot holds the deals; Salesforce contributes contacts, leads and accounts (DEALS_CRM below).
      // The emulator indexes at once, so no index-lag allowance (real HubSpot: HUBSPOT_INDEX_LAG_SECONDS, 5 by default).
      Object.assign(vars, { HUBSPOT_ACCESS_TOKEN: 'sandbox-hubspot-token', HUBSPOT_BASE_URL: hubspot.url, HUBSPOT_INDEX_LAG_SECONDS: '0', DEALS_CRM: 'hubspot' });
      if (salesforceUrl) {
        Object.assign(vars, { SALESFORCE_LOGIN_URL: salesforceUrl, SALESFORCE_CLIENT_ID: 'emulator-client-id', SALESFORCE_CLIENT_SECRET: 'emulator-client-secret' });
      }
      summary = demoOrgSummary(demo.org, demo.activities);
    }
    const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
    const migrate = spawn('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistDir], { env, stdio: opts.quiet ? 'ignore' : 'inherit' });
    await new Promise<void>((resolve, reject) => migrate.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrations failed (${code})`)))));
    // Run a bundle built once, so edits under src/ do not restart the Worker mid-run (wrangler dev watches its inputs).
    const buildDir = join(persistDir, 'build');
    const build = spawn('wrangler', ['deploy', '--dry-run', '--outdir', buildDir], { env, stdio: opts.quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'] });
    await new Promise<void>((resolve, reject) => build.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build failed (${code})`)))));
    const args = ['dev', join(buildDir, 'index.js'), '-c', 'wrangler.toml', '--no-bundle', '--port', String(workerPort), '--ip', '127.0.0.1', '--persist-to', persistDir, '--test-scheduled', '--show-interactive-dev-session=false'];
    for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
    const logFd = opts.workerLog ? openSync(opts.workerLog, 'a') : null;
    const worker = spawn('wrangler', args, { env, stdio: logFd !== null ? ['ignore', logFd, logFd] : opts.quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'] });
    stops.push(async () => {
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.once('exit', r)));
    });
    await waitReady(`${workerUrl}/readyz`, worker);

    const token = vars.ADMIN_TOKEN!;
    if (demo) {
      log(`ingesting ${demo.activities.length} demo activities through POST /v1/imports …`);
      // Files of ≤ 100k rows keep each upload well under the import size cap.
      for (let i = 0; i < demo.activities.length; i += 100_000) {
        const ndjson = demo.activities.slice(i, i + 100_000).map((a) => JSON.stringify(a)).join('\n');
        const job = await api(workerUrl, token, '/v1/imports?filename=demo.ndjson', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: ndjson });
        await until('the demo import', async () => {
          const j = await api(workerUrl, token, `/v1/imports/${String(job.id)}`);
          return j.status === 'done' ? j : null;
        }, 1_800_000);
      }
    }
    if (demo && opts.firstSync !== 'none') {
      log('running the first full sync …');
      // A debounced run started by the import may already hold the lease (on a large org it is the first full load).
      const started = await until('a free sync lease', async () => {
        const res = await api(workerUrl, token, '/v1/sync?full=1', { method: 'POST' });
        const runs = res.runs as { run_id: string; started: boolean }[];
        return runs.every((r) => r.started) ? runs : null;
      }, 3_600_000);
      for (const r of started) {
        const run = await until(`sync run ${r.run_id}`, async () => {
          const v = await api(workerUrl, token, `/v1/sync/runs/${r.run_id}`);
          return v.status === 'running' ? null : v;
        }, 3_600_000);
        firstRuns.push(run);
        if (run.status !== 'done') throw new Error(`first sync ${r.run_id} ended ${String(run.status)}: ${String(run.reason)}`);
      }
    }
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    if (ownDir) rmSync(persistDir, { recursive: true, force: true });
    throw error;
  }

  return {
    workerUrl,
    persistDir,
    hubspotUrl,
    salesforceUrl,
    adminToken: vars.ADMIN_TOKEN!,
    summary,
    firstRuns,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      if (ownDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}
