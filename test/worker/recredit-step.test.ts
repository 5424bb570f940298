import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeDealInfluence } from '../../src/attribution/deal';
import { fitModels, type Fitted } from '../../src/attribution/fit';
import { recredit } from '../../src/attribution/recredit';
import { deal, touch } from '../../src/attribution/testkit';
import type { DealInfluence } from '../../src/attribution/types';
import { loadConfig } from '../../src/env';
import { loadRules, parseFieldMapping } from '../../src/rules';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import { upsertDealInfluenceStmt } from '../../src/store/influence';
import type { RunContext } from '../../src/sync/context';
import { loadJourneys } from '../../src/sync/fit';
import { attributeStep } from '../../src/sync/stages/attribute';

/**
 * The attribute stage's re-credit after a moved fit, step by step in D1: it resumes from its checkpoint across steps
 * without skipping or repeating a deal, and rules activated while a run is under way restart the refit count and drop
 * a re-credit under way.
 */
const loaded = await loadRules(BUNDLED_MAPPINGS.rules.replace(/^  primary: w_shaped$/m, '  primary: markov').replace(/^  compare: \[.*\]$/m, '  compare: [shapley, linear]'));
if (!loaded.ok) throw new Error('rules invalid');
const { rules, version } = loaded.value;
const mapping = parseFieldMapping(BUNDLED_MAPPINGS.hubspot, 'hubspot.yaml');
if (!mapping.ok) throw new Error('mapping invalid');

let fit: Fitted;
const DEALS = 130; // three chunks of 50
const TYPES = ['github.issues.opened', 'slack.message', 'discourse.post.created', 'github.fork'];
const before = new Map<string, DealInfluence>();

/** A run context over D1 whose budget is spent after `steps` looks (one per chunk, refit or kind found empty). */
function context(runId: string, steps: number): RunContext {
  let looks = 0;
  return {
    env, db: env.DB, config: loadConfig(env), crm: 'hubspot', ownsDeals: true, run: { id: runId } as RunContext['run'],
    active: { rules, rulesVersion: version, mappings: { hubspot: mapping.ok ? mapping.value : undefined }, identity: {} } as unknown as RunContext['active'],
    spent: () => ++looks > steps,
  } as unknown as RunContext;
}

beforeAll(async () => {
  // Stored results computed with empty weights (the linear fallback), as the first pass after activation leaves them.
  const rows = Array.from({ length: DEALS }, (_, i) => {
    const d = deal({ id: `d${String(i).padStart(3, '0')}`, amount: 1000 + i, isClosed: i % 3 > 0, isWon: i % 3 === 1 });
    const ts = Array.from({ length: 1 + (i % 4) }, (_, k) => touch({ at: -10 + k * 3 + (i % 5), type: TYPES[(i + k) % TYPES.length]! }));
    const influence = computeDealInfluence(d, ts, rules, { evidenceBaseUrl: 'https://ci.test', rulesVersion: version, fitted: { markov: {}, shapley: {} } });
    before.set(d.id, influence);
    return { influence, deal: { created_at: d.createdAt, close_date: d.closedAt }, refreshAt: null };
  });
  await upsertDealInfluenceStmt(env.DB, 'hubspot', rows, '2026-11-01T00:00:00.000Z').run();
  // The fit of that pass's journeys, stored with the newest computed_at as its watermark: nothing to refit.
  fit = fitModels(await loadJourneys(env.DB, 'hubspot', version), rules);
  await env.DB.prepare(`INSERT INTO model_fits (crm, rules_version, fitted, journeys, watermark, fitted_at) VALUES ('hubspot', ?1, ?2, 87, '2026-11-01T00:00:00.000Z', 'x')`)
    .bind(version, JSON.stringify(fit))
    .run();
});

describe('re-crediting in the attribute stage', () => {
  it('resumes from its checkpoint across steps, re-crediting every stored result exactly once', async () => {
    let checkpoint: unknown = { refits: 1, rules: version, recredit: '' };
    let recredited = 0;
    let steps = 0;
    for (;;) {
      if (steps === 10) throw new Error('the stage did not finish in 10 steps');
      // Two looks in each of the first two steps, so the re-credit spans steps.
      const step = await attributeStep(context('run_r', steps < 2 ? 2 : 10), checkpoint);
      steps++;
      recredited += step.counts.deals_recredited ?? 0;
      if (steps === 3) expect(step.counts).toEqual({ model_refits: 1, model_fit_journeys: expect.any(Number) });
      expect(step.counts.deals_computed ?? 0).toBe(0);
      if (step.stage !== 'attribute') break;
      checkpoint = step.checkpoint;
      // Chunks of 50: two in the first step, the last 30 in the second, which then finds none left (null). The third
      // refits on the unchanged journeys (the results are newer than the fit), keeps the fit and hands over to writing.
      expect(checkpoint).toEqual({ refits: 1, rules: version, recredit: steps === 1 ? 'd099' : null });
    }
    expect(steps).toBe(3);
    expect(recredited).toBe(DEALS);
    const { results } = await env.DB.prepare(`SELECT deal_id, detail, top_channel, computed_at FROM deal_influence WHERE crm = 'hubspot'`)
      .all<{ deal_id: string; detail: string; top_channel: string | null; computed_at: string }>();
    expect(results).toHaveLength(DEALS);
    for (const r of results) {
      const want = recredit(before.get(r.deal_id)!, rules, fit);
      expect(JSON.parse(r.detail), r.deal_id).toEqual(want);
      expect(r.top_channel).toBe(want.topChannel);
      expect(r.computed_at > '2026-11-01T00:00:00.000Z').toBe(true);
    }
    // Markov gives GitHub the most, where the linear fallback split evenly: the top channel moved for some deals.
    expect(results.some((r) => r.top_channel !== before.get(r.deal_id)!.topChannel)).toBe(true);
    // Values that changed are planned as writes of this run, once per deal.
    const planned = await env.DB.prepare(`SELECT COUNT(*) AS n, COUNT(DISTINCT crm_id) AS d FROM sync_writes WHERE run_id = 'run_r' AND object = 'deal'`).first<{ n: number; d: number }>();
    expect(planned?.n).toBe(DEALS);
    expect(planned?.d).toBe(DEALS);
  });

  it('rules activated while a run is under way restart the refit count and drop the re-credit under way', async () => {
    // The stored fit is what the stored journeys give, but its watermark is old: a refit would run and keep it.
    await env.DB.prepare(`UPDATE model_fits SET watermark = 'stale' WHERE crm = 'hubspot'`).run();
    // Same rules, two refits done: no third refit, and the re-credit continues after d100.
    const same = await attributeStep(context('run_s', 100), { refits: 2, rules: version, recredit: 'd100' });
    expect(same.counts).toMatchObject({ deals_recredited: 29 });
    expect(same.counts.model_refits ?? 0).toBe(0);
    // Other rules in the checkpoint: the count starts again (a refit runs) and nothing is re-credited from 'd100'.
    const other = await attributeStep(context('run_t', 100), { refits: 2, rules: 'an-earlier-version', recredit: 'd100' });
    expect(other.counts.model_refits).toBe(1);
    expect(other.counts.model_fit_recredits ?? 0).toBe(0);
    expect(other.counts.deals_recredited ?? 0).toBe(0);
    expect(other.stage).toBe('write');
  });
});
