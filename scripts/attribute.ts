/**
 * `npm run attribute -- <journeys file> --model <name> [--order k] [--rules mappings/rules.yaml] [--as-of ISO]`
 *
 * Runs the attribution engine offline, for analysts and for checking the engine against published examples.
 * - A paths CSV (`path;total_conversions;total_conversion_value;total_null`, channels joined by " > "): markov, shapley,
 *   first_touch, last_touch (= last_touch_close), linear — credits per channel.
 * - A JSON journeys file (`{ "deals": [ deal with "touches" ] }`, see docs/attribution.md): any model; per deal and per
 *   channel. markov/shapley are fitted on the file's own closed deals first.
 * Human-readable lines first; the last line is one JSON object.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { computeDealInfluence } from '../src/attribution/deal';
import { fitForRules, journeysFileSchema, parsePathsCsv, splitJourneysFile } from '../src/attribution/journeys';
import { fitMarkov, type Journey } from '../src/attribution/markov';
import { fitShapley } from '../src/attribution/shapley';
import { formatIssue, loadRules, MODEL_NAMES, type ModelName } from '../src/rules/index';

const CSV_MODELS = ['markov', 'shapley', 'first_touch', 'last_touch', 'last_touch_close', 'linear'] as const;

function fail(message: string): never {
  console.error(`attribute: ${message}`);
  process.exit(2);
}

/** Path-level heuristic credits for CSV input (no timestamps or CRM milestones there, so only position by order). */
function heuristic(journeys: readonly Journey[], model: (typeof CSV_MODELS)[number]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (c: string, v: number) => (out[c] = (out[c] ?? 0) + v);
  for (const j of journeys) {
    if (!j.path.length || !j.conversions) continue;
    if (model === 'first_touch') add(j.path[0] ?? '', j.conversions);
    else if (model === 'linear') for (const c of j.path) add(c, j.conversions / j.path.length);
    else add(j.path[j.path.length - 1] ?? '', j.conversions);
  }
  return out;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { model: { type: 'string', default: 'w_shaped' }, order: { type: 'string', default: '1' }, rules: { type: 'string', default: 'mappings/rules.yaml' }, 'as-of': { type: 'string' } },
  });
  const file = positionals[0];
  if (!file) fail('usage: npm run attribute -- <journeys.json|paths.csv> --model <name> [--order k]');
  const order = Number(values.order);
  if (!Number.isInteger(order) || order < 1) fail(`--order must be an integer ≥ 1, got ${values.order}`);
  const text = readFileSync(file, 'utf8');
  const model = values.model;

  if (file.endsWith('.csv') || text.startsWith('path;')) {
    const csvModel = z.enum(CSV_MODELS).safeParse(model);
    if (!csvModel.success) fail(`model "${model}" needs timestamps; a paths CSV supports ${CSV_MODELS.join(', ')}`);
    const journeys = parsePathsCsv(text);
    const t = performance.now();
    let result: Record<string, unknown>;
    let credits: Record<string, number>;
    if (csvModel.data === 'markov') {
      const f = fitMarkov(journeys, order);
      credits = f.credits;
      result = { model, order, states: f.states, solver: f.solver, residual: f.residual, p_conversion: f.pConversion, removal_effects: f.removalEffects, credits: f.credits, value_credits: f.valueCredits, total_conversions: f.totalConversions };
    } else if (csvModel.data === 'shapley') {
      const f = fitShapley(journeys);
      credits = f.credits;
      result = { model, method: f.method, values: f.values, credits: f.credits, value_credits: f.valueCredits, error_bound: f.errorBound ?? null, total_conversions: f.totalConversions };
    } else {
      credits = heuristic(journeys, csvModel.data);
      result = { model, credits };
    }
    const ms = performance.now() - t;
    console.log(`${journeys.length} paths from ${file}; model ${model}${model === 'markov' ? ` order ${order}` : ''}; ${ms.toFixed(1)} ms`);
    for (const [c, v] of Object.entries(credits).sort((a, b) => b[1] - a[1])) {
      console.log(`  ${c.padEnd(16)} ${v.toFixed(3)}`);
    }
    console.log(JSON.stringify(result));
    return;
  }

  const modelName = z.enum(MODEL_NAMES).safeParse(model);
  if (!modelName.success) fail(`unknown model "${model}"; one of ${MODEL_NAMES.join(', ')}`);
  const loaded = await loadRules(readFileSync(values.rules, 'utf8'), values.rules);
  if (!loaded.ok) fail(`invalid rules:\n${loaded.issues.map(formatIssue).join('\n')}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`${file}: not JSON and not a paths CSV (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = journeysFileSchema.safeParse(json);
  if (!parsed.success) fail(`${file}:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  const { deals, touchesByDeal } = splitJourneysFile(parsed.data);
  const m: ModelName = modelName.data;
  const rules = { ...loaded.value.rules, models: { ...loaded.value.rules.models, primary: m, compare: [], markov_order: order } };
  const fitted = fitForRules(deals, touchesByDeal, rules);
  const ctx = { evidenceBaseUrl: 'http://127.0.0.1:8787', rulesVersion: loaded.value.version, asOf: values['as-of'] ?? parsed.data.asOf, fitted };
  const perDeal = deals.map((d) => computeDealInfluence(d, touchesByDeal.get(d.id) ?? [], rules, ctx));
  // Amounts stay per currency: deals in different currencies are never added together.
  const channels: Record<string, { credit: number; amount: Record<string, number> }> = {};
  for (const d of perDeal) {
    for (const [c, v] of Object.entries(d.creditByChannel[m] ?? {})) {
      const ch = (channels[c] ??= { credit: 0, amount: {} });
      ch.credit += v;
      if (d.influenced && d.amount !== null) {
        const cur = d.currency ?? 'unknown';
        ch.amount[cur] = (ch.amount[cur] ?? 0) + d.amount * v;
      }
    }
  }
  console.log(`${deals.length} deals from ${file}; model ${m}; rules ${loaded.value.version.slice(0, 19)}…`);
  for (const d of perDeal) {
    console.log(`  ${d.dealId.padEnd(12)} touches ${String(d.touchCount).padStart(3)}  score ${String(d.score).padStart(3)}  ${d.influenced ? 'influenced' : '-'} ${d.sourced ? 'sourced' : ''}  top ${d.topChannel ?? '-'}`);
  }
  console.log(
    JSON.stringify({
      model: m,
      ...(m === 'markov' ? { order } : {}),
      rules_version: loaded.value.version,
      channels,
      deals: perDeal.map((d) => ({
        deal_id: d.dealId, influenced: d.influenced, sourced: d.sourced, assisted: d.assisted, score: d.score, touch_count: d.touchCount,
        attributed_amount: d.attributedAmount[m] ?? null, currency: d.currency, credits: d.creditByChannel[m] ?? {},
        touches: d.evidence.map((e) => ({ id: e.touchId, member: e.memberId, type: e.type, at: e.occurredAt, milestones: e.milestones, credit: e.credit[m] ?? 0 })),
      })),
    }),
  );
}

await main();
