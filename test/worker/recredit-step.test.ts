import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeDealInfluence } from '../../src/attribution/deal';
import { fitModels, type Fitted } from '../../src/attribution/fit';
import { day, deal, touch } from '../../src/attribution/testkit';
import type { Deal, DealInfluence, Touch } from '../../src/attribution/types';
import { loadConfig } from '../../src/env';
import { loadRules, parseFieldMapping } from '../../src/rules';
import { BUNDLED_MAPPINGS } from '../../src/rules/bundled';
import { upsertDealInfluenceStmts } from '../../src/store/influence';
import type { RunContext } from '../../src/sync/context';
import { loadJourneys, refit } from '../../src/sync/fit';
import { attributeStep } from '../../src/sync/stages/attribute';

/**
 * The attribute stage's re-credit after a moved fit, step by step in D1. Its position is kept with the fit, so a step
 * that fails (or is delivered twice) after the refit or part-way does not lose it; every stored result is re-credited
 * once and ends as computing the deal again with the fit would leave it; rules activated while a run is under way
 * restart the refit count and leave the old rules' re-credit alone.
 */
const loaded = await loadRules(BUNDLED_MAPPINGS.rules.replace(/^  primary: w_shaped$/m, '  primary: markov').replace(/^  compare: \[.*\]$/m, '  compare: [shapley, linear]'));
if (!loaded.ok) throw new Error('rules invalid');
const { rules, version } = loaded.value;
const mapping = parseFieldMapping(BUNDLED_MAPPINGS.hubspot, 'hubspot.yaml');
if (!mapping.ok) throw new Error('mapping invalid');

const DEALS = 130; // three chunks of 50
const TYPES = ['github.issues.opened', 'slack.message', 'discourse.post.created', 'github.fork'];
const inputs = new Map<string, { deal: Deal; touches: Touch[] }>();
const ctx = { evidenceBaseUrl: 'https://ci.test', rulesVersion: version };

/** A run context over D1 whose budget is spent after `looks` looks (one per chunk, refit or kind found empty). */
function context(runId: string, looks: number): RunContext {
  let n = 0;
  return {
    env, db: env.DB, config: loadConfig(env), crm: 'hubspot', ownsDeals: true, run: { id: runId } as RunContext['run'],
    active: { rules, rulesVersion: version, mappings: { hubspot: mapping.ok ? mapping.value : undefined }, identity: {}, activatedAt: '9999-12-31T23:59:59.999Z' } as unknown as RunContext['active'],
    spent: () => ++n > looks,
  } as unknown as RunContext;
}
const position = async () => (await env.DB.prepare(`SELECT recredit_after FROM model_fits WHERE crm = 'hubspot'`).first<{ recredit_after: string | null }>())?.recredit_after;

beforeAll(async () => {
  // Stored results computed with empty weights (the linear fallback), as the first pass after activation leaves them,
  // and the fit they had then: none.
  const rows = Array.from({ length: DEALS }, (_, i) => {
    // Open deals have no close time, as the sync gives them to the engine.
    const d = deal({ id: `d${String(i).padStart(3, '0')}`, amount: 1000 + i, isClosed: i % 3 > 0, isWon: i % 3 === 1, closedAt: i % 3 > 0 ? day(20) : null });
    const ts = Array.from({ length: 1 + (i % 4) }, (_, k) => touch({ at: -10 + k * 3 + (i % 5), type: TYPES[(i + k) % TYPES.length]! }));
    inputs.set(d.id, { deal: d, touches: ts });
    const influence = computeDealInfluence(d, ts, rules, { ...ctx, fitted: { markov: {}, shapley: {} } });
    return { influence, deal: { created_at: d.createdAt, close_date: d.closedAt }, refreshAt: null, computedAt: '2026-11-01T00:00:00.000Z' };
  });
  await env.DB.batch(upsertDealInfluenceStmts(env.DB, 'hubspot', rows, '2026-11-01T00:00:00.000Z'));
  await env.DB.prepare(`INSERT INTO model_fits (crm, rules_version, fitted, journeys, watermark, fitted_at) VALUES ('hubspot', ?1, ?2, 0, 'old', 'x')`)
    .bind(version, JSON.stringify({ markov: {}, shapley: {} }))
    .run();
});

describe('re-crediting in the attribute stage', () => {
  let fit: Fitted;

  it('survives a step that fails after the refit, and one retried part-way, re-crediting every result once', async () => {
    // The refit moves the fit (from none) and, in the same batch, starts the re-credit. Say the step then failed: the
    // queue delivers the same message again, with the checkpoint from before the refit.
    const moved = await refit(env.DB, 'hubspot', rules, version, 'run_r');
    expect(moved).toMatchObject({ refitted: true, recredit: true });
    fit = fitModels(await loadJourneys(env.DB, 'hubspot', version), rules);
    expect(await position()).toBe('');
    const before = { refits: 1, rules: version };

    // Two looks: two chunks, then the budget is spent. The position is in D1 after each chunk.
    const first = await attributeStep(context('run_r', 2), before);
    expect(first).toMatchObject({ stage: 'attribute', counts: { deals_recredited: 100 } });
    expect(await position()).toBe('d099');
    // This step's checkpoint is lost too (say it failed before the runner saved it): the retry starts from `before`,
    // and carries on from the position in D1, not from the first deal.
    const retry = await attributeStep(context('run_r', 10), before);
    expect(retry.stage).toBe('write');
    expect(retry.counts.deals_recredited).toBe(30);
    expect(retry.counts.deals_computed ?? 0).toBe(0);
    expect(await position()).toBeNull();
    // computed_at is kept, so the watermark did not move: the second refit reads nothing.
    expect(retry.counts.model_refits ?? 0).toBe(0);

    const { results } = await env.DB.prepare(`SELECT deal_id, detail, top_channel, computed_at FROM deal_influence WHERE crm = 'hubspot'`)
      .all<{ deal_id: string; detail: string; top_channel: string | null; computed_at: string }>();
    expect(results).toHaveLength(DEALS);
    for (const r of results) {
      // What computing the deal again from its touches with the fit gives now.
      const { deal: d, touches } = inputs.get(r.deal_id)!;
      const fresh = computeDealInfluence(d, touches, rules, { ...ctx, fitted: fit, asOf: new Date().toISOString() });
      expect(JSON.parse(r.detail), r.deal_id).toEqual(fresh);
      expect(r.top_channel).toBe(fresh.topChannel);
      expect(r.computed_at).toBe('2026-11-01T00:00:00.000Z');
    }
    // The fit gives GitHub the most, where the linear fallback split evenly: some top channels moved.
    const firstPass = (id: string) => computeDealInfluence(inputs.get(id)!.deal, inputs.get(id)!.touches, rules, { ...ctx, fitted: { markov: {}, shapley: {} } });
    expect(results.some((r) => r.top_channel !== firstPass(r.deal_id).topChannel)).toBe(true);
    // Values that changed are planned as writes of this run, once per deal.
    const planned = await env.DB.prepare(`SELECT COUNT(*) AS n, COUNT(DISTINCT crm_id) AS d FROM sync_writes WHERE run_id = 'run_r' AND object = 'deal'`).first<{ n: number; d: number }>();
    expect(planned?.n).toBe(DEALS);
    expect(planned?.d).toBe(DEALS);
    expect((JSON.parse(results[0]!.detail) as DealInfluence).creditByChannel.markov).toBeDefined();
  });

  it('rules activated while a run is under way restart the refit count and leave the old rules\' re-credit alone', async () => {
    await env.DB.prepare(`UPDATE model_fits SET watermark = 'stale', recredit_after = 'd100' WHERE crm = 'hubspot'`).run();
    // Same rules, two refits done: no third refit, and the re-credit carries on after d100.
    const same = await attributeStep(context('run_s', 100), { refits: 2, rules: version });
    expect(same.counts).toMatchObject({ deals_recredited: 29 });
    expect(same.counts.model_refits ?? 0).toBe(0);
    // The stored fit and position belong to other rules now (as after an activation): nothing is re-credited from
    // them, and the refit count starts again, so a refit runs under the active rules.
    await env.DB.prepare(`UPDATE model_fits SET rules_version = 'sha256:earlier', recredit_after = 'd100' WHERE crm = 'hubspot'`).run();
    const other = await attributeStep(context('run_t', 100), { refits: 2, rules: 'sha256:earlier' });
    expect(other.counts.model_refits).toBe(1);
    // That refit moved the fit (the active rules had none), so the re-credit starts again from the first deal.
    expect(other.counts).toMatchObject({ model_fit_recredits: 1, deals_recredited: DEALS });
    expect(other.stage).toBe('write');
  });
});
