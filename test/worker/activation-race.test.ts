import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/env';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import { loadActiveConfig } from '../../src/sync/config';
import type { RunContext } from '../../src/sync/context';
import { activateVersion } from '../../src/sync/rules-change';
import { attributeStep } from '../../src/sync/stages/attribute';
import { countRows } from './helpers';

/**
 * A step loads the rules once, then works for a while. Rules activated meanwhile mark everything dirty; the step, still
 * on the old rules, used to clear those marks as it stored old-version results, and nothing ever recomputed them.
 */
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function seed() {
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO crm_contacts (crm, crm_id, kind, email, created_at, updated_at) VALUES ('hubspot', 'c-race', 'contact', 'r@race.example', ?1, ?1)`).bind(ago(20)),
    ...['d-race-1', 'd-race-2', 'd-race-3'].flatMap((id) => [
      env.DB.prepare(`INSERT INTO crm_deals (crm, crm_id, name, amount, currency, created_at, is_closed, is_won, updated_at) VALUES ('hubspot', ?1, 'Race', 1000, 'USD', ?2, 0, 0, ?2)`).bind(id, ago(10)),
      env.DB.prepare(`INSERT INTO crm_deal_contacts (crm, deal_id, contact_id, is_primary) VALUES ('hubspot', ?1, 'c-race', 1)`).bind(id),
      env.DB.prepare(`INSERT INTO sync_dirty (crm, kind, ref) VALUES ('hubspot', 'deal', ?1)`).bind(id),
    ]),
  ]);
}

describe('rules activated while a sync step runs', () => {
  it('leaves no result of the old version standing: the deals the old step computed stay marked for the new rules', async () => {
    await seed();
    const config = loadConfig(env);
    const old = await loadActiveConfig(env.DB, config);
    const context = (active: RunContext['active'], id: string) =>
      ({ env, db: env.DB, config, crm: 'hubspot', ownsDeals: true, run: { id }, active, spent: () => false }) as unknown as RunContext;

    // An editor activates a 90-day lookback after the step loaded its rules.
    const content = BUNDLED_MAPPINGS.rules.replace(/lookback_days: \d+/, 'lookback_days: 91');
    expect(content).not.toBe(BUNDLED_MAPPINGS.rules);
    const activated = await activateVersion(env, config, { kind: 'rules', content, author: 'test:revops' });
    expect(activated.ok).toBe(true);
    const dirty = () => countRows('sync_dirty', "crm = 'hubspot' AND kind = 'deal' AND ref LIKE 'd-race-%'");

    const stale = await attributeStep(context(old, 'run_race_old'), {});
    expect(stale.counts.deals_computed).toBeGreaterThanOrEqual(3);
    expect(await dirty()).toBe(3);

    const fresh = await loadActiveConfig(env.DB, config);
    expect(fresh.rulesVersion).not.toBe(old.rulesVersion);
    await attributeStep(context(fresh, 'run_race_new'), {});
    expect(await dirty()).toBe(0);
    const versions = await env.DB.prepare(`SELECT DISTINCT rules_version AS v FROM deal_influence WHERE crm = 'hubspot' AND deal_id LIKE 'd-race-%'`).all<{ v: string }>();
    expect(versions.results.map((r) => r.v)).toEqual([fresh.rulesVersion]);
  });
});
