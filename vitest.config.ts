import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { freePort } from './test/emulators/ports.ts';
import { workerdAliases } from './build/shims/vite-aliases.ts';

const migrations = await readD1Migrations('./migrations');
const secrets = {
  ENVIRONMENT: 'test',
  ADMIN_TOKEN: 'test-admin-token-0123456789abcdef',
  GITHUB_WEBHOOK_SECRET: 'test-github-secret',
  SLACK_SIGNING_SECRET: 'test-slack-secret',
  DISCOURSE_WEBHOOK_SECRET: 'test-discourse-secret',
  HUBSPOT_CLIENT_SECRET: 'test-hubspot-client-secret',
};

// The CRM emulators run in this (Node) process for the e2e project; the Worker under test reaches them over HTTP.
// Ports are chosen here so they can be passed to the Worker as configuration and to globalSetup, which starts them.
// Each e2e project gets its own pair, since projects may run at the same time.
async function emulatorPorts(project: string) {
  const key = `CI_EMULATOR_PORTS_${project.replace(/-/g, '_')}`;
  process.env[key] ??= `${await freePort()},${await freePort()}`;
  const [hubspot, salesforce] = process.env[key].split(',');
  return { hubspotUrl: `http://127.0.0.1:${hubspot}`, salesforceUrl: `http://127.0.0.1:${salesforce}` };
}
const e2e = await emulatorPorts('e2e');
const e2eSalesforce = await emulatorPorts('e2e-salesforce');

// The module aliases of wrangler.toml's [alias] (build/shims): the Worker under test runs what deploy bundles. Each
// workerd project resolves its imports with them; the root has them too because the Cloudflare pool resolves
// CommonJS require() calls (e.g. @babel/runtime-corejs3 → core-js-pure) through the root Vite server. One object per
// project: the Cloudflare plugin adds its resolve conditions to it.
const workerdResolve = () => ({ alias: workerdAliases() });

export default defineConfig({
  resolve: workerdResolve(),
  test: {
    // Keep CI output to failures: the Worker logs every request as JSON.
    silent: 'passed-only',
    projects: [
      {
        // Pure domain code, emulators and CLIs: plain Node, as they run in benches and scripts.
        test: {
          name: 'unit',
          environment: 'node',
          include: ['src/**/*.test.ts', 'test/node/**/*.test.ts'],
        },
      },
      {
        // Everything that touches bindings: inside workerd with real D1 and Queues. No CRM is configured here.
        resolve: workerdResolve(),
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            // A small ingestion limit so the limiter test can reach it.
            miniflare: { bindings: { TEST_MIGRATIONS: migrations, ...secrets, SLACK_WORKSPACE_URL: 'https://acme-dev.slack.com', PLAN_CSV_MAX_RECORDS: '1100', FUZZ_RUNS: process.env.FUZZ_RUNS ?? '100' }, ratelimits: { INGEST_LIMITER: { namespace_id: '1001', simple: { limit: 150, period: 60 } } } },
          }),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          setupFiles: ['./test/worker/apply-migrations.ts'],
        },
      },
      {
        // Real headless Chromium against the sandbox (npm start's demo org); needs /usr/bin/chromium (.ci/run installs it).
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 900_000,
        },
      },
      {
        // End to end with Salesforce owning the deals (jsforce in workerd against the Salesforce emulator).
        resolve: workerdResolve(),
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: migrations,
                ...secrets,
                SALESFORCE_LOGIN_URL: e2eSalesforce.salesforceUrl,
                SALESFORCE_CLIENT_ID: 'emulator-client-id',
                SALESFORCE_CLIENT_SECRET: 'emulator-client-secret',
                DEALS_CRM: 'salesforce',
                SYNC_DEBOUNCE_SECONDS: '1',
                PUBLIC_URL: 'https://influence.example.test',
                E2E_HUBSPOT_URL: e2eSalesforce.hubspotUrl,
                E2E_SALESFORCE_URL: e2eSalesforce.salesforceUrl,
              },
            },
          }),
        ],
        test: {
          name: 'e2e-salesforce',
          include: ['test/e2e-salesforce/**/*.test.ts'],
          setupFiles: ['./test/worker/apply-migrations.ts'],
          globalSetup: ['./test/emulators/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // End to end: signed webhooks in, fields out in the emulated CRMs, through the real connectors over HTTP.
        resolve: workerdResolve(),
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: migrations,
                ...secrets,
                HUBSPOT_ACCESS_TOKEN: 'e2e-hubspot-token',
                HUBSPOT_BASE_URL: e2e.hubspotUrl,
                // The emulator indexes at once: without the lag allowance an incremental pull returns exactly the
                // changed records, which the tests count.
                HUBSPOT_INDEX_LAG_SECONDS: '0',
                SYNC_DEBOUNCE_SECONDS: '1',
                // The smallest step budget: every run here is cut into many steps, so each stage resumes mid-way.
                SYNC_STEP_MAX_QUERIES: '20',
                // Two deals per full-preview step, for the same reason; the one-request preview's smallest cap, so a
                // test can cut it short.
                PREVIEW_STEP_DEALS: '2',
                PREVIEW_MAX_DEALS: '100',
                PUBLIC_URL: 'https://influence.example.test',
                ORG_DOMAINS: 'example-vendor.io',
                E2E_HUBSPOT_URL: e2e.hubspotUrl,
                E2E_SALESFORCE_URL: e2e.salesforceUrl,
              },
            },
          }),
        ],
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          setupFiles: ['./test/worker/apply-migrations.ts'],
          globalSetup: ['./test/emulators/global-setup.ts'],
          // One set of emulators is shared: files take turns.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
