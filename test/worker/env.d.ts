import type { D1Migration } from 'cloudflare:test';
import type { Env as AppEnv } from '../../src/env';

declare global {
  namespace Cloudflare {
    interface Env extends Omit<AppEnv, keyof Cloudflare.Env> {
      TEST_MIGRATIONS: D1Migration[];
      E2E_HUBSPOT_URL: string;
      FUZZ_RUNS?: string;
      E2E_SALESFORCE_URL: string;
    }
  }
}
