import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fitMarkov } from '../../src/attribution/markov';
import { loadRules } from '../../src/rules';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import { storedResultsAfter } from '../../src/store/influence';
import { fitState, refit } from '../../src/sync/fit';

/** The refit in D1: when it runs, what it stores, what a moved fit drops, and the stored results re-credited after. */
const loaded = await loadRules(BUNDLED_MAPPINGS.rules.replace(/^  primary: w_shaped$/m, '  primary: markov').replace(/^  compare: \[.*\]$/m, '  compare: []'));
if (!loaded.ok) throw new Error('rules invalid');
const rules = loaded.value.rules;

const deals: [id: string, journey: string[], closed: number, won: number][] = [
  ['d1', ['github', 'slack'], 1, 1],
  ['d2', ['github'], 1, 1],
  ['d3', ['slack'], 1, 0],
  ['d4', ['events', 'slack'], 1, 0],
  ['d5', ['github', 'events'], 0, 0], // open: never in the fit
];

async function seed(version: string, computedAt: string) {
  await env.DB.batch(
    deals.flatMap(([id, journey, closed, won]) => [
      env.DB.prepare(
        `INSERT INTO crm_deals (crm, crm_id, amount, created_at, is_closed, is_won, updated_at) VALUES ('hubspot', ?1, 100, '2026-01-01', ?2, ?3, '2026-01-01')
         ON CONFLICT DO NOTHING`,
      ).bind(id, closed, won),
      env.DB.prepare(
        `INSERT INTO deal_influence (crm, deal_id, rules_version, influenced, sourced, assisted, score, touch_count, amount, is_closed, is_won,
                                     deal_created_at, detail, journey, computed_at)
         VALUES ('hubspot', ?1, ?2, 1, 0, 0, 50, ?3, 100, ?4, ?5, '2026-01-01', '{}', ?6, ?7)
         ON CONFLICT (crm, deal_id) DO UPDATE SET rules_version = excluded.rules_version, journey = excluded.journey, computed_at = excluded.computed_at`,
      ).bind(id, version, journey.length, closed, won, JSON.stringify(journey), computedAt),
    ]),
  );
}

const expected = fitMarkov(
  deals.filter(([, , closed]) => closed).map(([, path, , won]) => ({ path, conversions: won, nulls: 1 - won })),
  1,
).removalEffects;

const position = async () => (await env.DB.prepare(`SELECT recredit_after FROM model_fits WHERE crm = 'hubspot'`).first<{ recredit_after: string | null }>())?.recredit_after;

describe('refit', () => {
  it('fits the closed deals under the active rules, and a moved fit drops the run\'s planned deal writes', async () => {
    await seed('v1', '2026-11-01T00:00:00.000Z');
    // A fit stored earlier under the same rules that gave events everything.
    await env.DB.prepare(`INSERT INTO model_fits (crm, rules_version, fitted, journeys, watermark, fitted_at) VALUES ('hubspot', 'v1', ?, 1, 'old', 'x')`)
      .bind(JSON.stringify({ markov: { events: 1 } }))
      .run();
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO sync_writes (run_id, object, crm_id, fields, old, status) VALUES ('run_a', 'deal', 'd1', '{}', '{}', 'pending')`),
      env.DB.prepare(`INSERT INTO sync_writes (run_id, object, crm_id, fields, old, status) VALUES ('run_a', 'deal', 'd2', '{}', '{}', 'written')`),
      env.DB.prepare(`INSERT INTO sync_writes (run_id, object, crm_id, fields, old, status) VALUES ('run_a', 'contact', 'c1', '{}', '{}', 'pending')`),
      env.DB.prepare(`INSERT INTO sync_writes (run_id, object, crm_id, fields, old, status) VALUES ('run_b', 'deal', 'd3', '{}', '{}', 'pending')`),
    ]);

    const r = await refit(env.DB, 'hubspot', rules, 'v1', 'run_a');
    expect(r).toMatchObject({ refitted: true, journeys: 4, recredit: true, dropped: 1 });
    expect(r.shift).toBeGreaterThan(0.5);
    const fitted = (await fitState(env.DB, 'hubspot', rules, 'v1')).fitted;
    for (const [c, v] of Object.entries(expected)) expect(fitted.markov?.[c], c).toBeCloseTo(v, 12);
    // Every stored result, open deals included, is re-credited from D1 by the attribute stage: nothing is marked to
    // be recomputed from its touches, and the re-credit starts, in the same batch as the fit, from the first deal.
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM sync_dirty').first<{ n: number }>())?.n).toBe(0);
    expect(await position()).toBe('');
    const page = async (after: string) => (await storedResultsAfter(env.DB, 'hubspot', 'v1', after, 2)).map((x) => x.deal_id);
    expect([await page(''), await page('d2'), await page('d4'), await page('d5')]).toEqual([['d1', 'd2'], ['d3', 'd4'], ['d5'], []]);
    // This run's pending deal writes came from the old fit: gone. Sent ones, other objects and other runs stay.
    const writes = await env.DB.prepare('SELECT run_id, object, crm_id FROM sync_writes ORDER BY run_id, object, crm_id').all();
    expect(writes.results).toEqual([
      { run_id: 'run_a', object: 'contact', crm_id: 'c1' },
      { run_id: 'run_a', object: 'deal', crm_id: 'd2' },
      { run_id: 'run_b', object: 'deal', crm_id: 'd3' },
    ]);
  });

  it('does nothing when no deal was computed since, and keeps the fit when it barely moved', async () => {
    await env.DB.prepare(`DELETE FROM sync_dirty`).run();
    expect(await refit(env.DB, 'hubspot', rules, 'v1', 'run_c')).toEqual({ refitted: false, journeys: 0, shift: 0, recredit: false, dropped: 0 });
    // Recomputed with the same journeys: refitted, same weights, nothing to re-credit.
    await seed('v1', '2026-11-02T00:00:00.000Z');
    const again = await refit(env.DB, 'hubspot', rules, 'v1', 'run_c');
    expect(again).toMatchObject({ refitted: true, journeys: 4, recredit: false, shift: 0 });
    expect(await position()).toBeNull();
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM sync_dirty').first<{ n: number }>())?.n).toBe(0);
  });

  it('under new rules the fit starts from the deals computed under them', async () => {
    // Nothing computed under v2 yet: an empty fit, with which deals fall back to linear; nothing to re-credit.
    const empty = await refit(env.DB, 'hubspot', rules, 'v2', 'run_d');
    expect(empty).toMatchObject({ refitted: true, journeys: 0, recredit: false });
    expect((await fitState(env.DB, 'hubspot', rules, 'v2')).fitted).toEqual({ markov: {} });
    // Once they are computed under v2 the fit moves from empty, and every result is re-credited with it; results still
    // under v1 are not (they are dirty and computed afresh).
    await seed('v2', '2026-11-03T00:00:00.000Z');
    expect(await refit(env.DB, 'hubspot', rules, 'v2', 'run_d')).toMatchObject({ refitted: true, journeys: 4, recredit: true });
    await env.DB.prepare(`UPDATE deal_influence SET rules_version = 'v1' WHERE deal_id = 'd3'`).run();
    expect((await storedResultsAfter(env.DB, 'hubspot', 'v2', '', 10)).map((x) => x.deal_id)).toEqual(['d1', 'd2', 'd4', 'd5']);
    // Rules without markov or shapley never touch D1 for this.
    const plain = await loadRules(BUNDLED_MAPPINGS.rules);
    if (!plain.ok) throw new Error('bundled rules invalid');
    expect(await refit(env.DB, 'hubspot', plain.value.rules, 'v3', 'run_e')).toEqual({ refitted: false, journeys: 0, shift: 0, recredit: false, dropped: 0 });
    expect((await fitState(env.DB, 'hubspot', plain.value.rules, 'v3')).fitted).toEqual({});
  });
});
