import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
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
        // Everything that touches bindings: inside workerd with real D1 and Queues, CRM emulators over real HTTP.
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations('./migrations'),
                ENVIRONMENT: 'test',
                ADMIN_TOKEN: 'test-admin-token-0123456789abcdef',
                GITHUB_WEBHOOK_SECRET: 'test-github-secret',
                SLACK_SIGNING_SECRET: 'test-slack-secret',
                DISCOURSE_WEBHOOK_SECRET: 'test-discourse-secret',
                HUBSPOT_CLIENT_SECRET: 'test-hubspot-client-secret',
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          setupFiles: ['./test/worker/apply-migrations.ts'],
          // globalSetup: ['./test/emulators/global-setup.ts'],
        },
      },
    ],
  },
});
