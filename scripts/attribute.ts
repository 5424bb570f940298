/**
 * `npm run attribute -- <journeys file> --model <name> [--order k] [--rules mappings/rules.yaml] [--as-of ISO]`
 *
 * Runs the attribution engine offline, for analysts and for checking the engine against published examples.
 * - A paths CSV (`path;total_conversions;total_conversion_value;total_null`, channels joined by " > "): markov, shapley,
 *   first_touch, last_touch (= last_touch_close), linear — credits per channel.
 * - A JSON journeys file (`{ "deals": [ deal with "touches" ] }`, see docs/attribution.md): any model; per deal and per
 *   channel. markov/shapley are fitted on the file's own closed deals first.
 * Human-readable lines first; the last line is one JSON object. Bad input (arguments, files, fields, an order too
 * high for the channels) is one line `attribute: …` on stderr and exit code 2.
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

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A file's text, or a clear failure (missing, unreadable) instead of a stack trace. */
function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    fail(`${path}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? errorText(e)})`);
  }
}

/** The paths CSV's journeys; a malformed line fails with the file and the parser's line and field. */
function pathsFrom(file: string, text: string): Journey[] {
  try {
    return parsePathsCsv(text);
  } catch (e) {
    fail(`${file}: ${errorText(e)}`);
  }
}

/** Runs a fit, reporting an order the channels cannot take (RangeError from fitMarkov) as bad input. */
function fit<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof RangeError) fail(e.message);
    throw e;
  }
}

/** --order when given, else the rules' models.markov_order. */
function orderOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const order = Number(value);
  if (!value.trim() || !Number.isInteger(order) || order < 1) fail(`--order must be an integer ≥ 1, got "${value}"`);
  return order;
}

async function rulesFrom(path: string) {
  const loaded = await loadRules(read(path, 'rules'), path);
  if (!loaded.ok) fail(`invalid rules:\n${loaded.issues.map(formatIssue).join('\n')}`);
  return loaded.value;
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

function args() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { model: { type: 'string', default: 'w_shaped' }, order: { type: 'string' }, rules: { type: 'string', default: 'mappings/rules.yaml' }, 'as-of': { type: 'string' } },
    });
  } catch (e) {
    fail(errorText(e));
  }
}

async function main() {
  const { values, positionals } = args();
  const file = positionals[0];
  if (!file) fail('usage: npm run attribute -- <journeys.json|paths.csv> --model <name> [--order k]');
  const orderGiven = orderOption(values.order);
  const asOfGiven = values['as-of'];
  if (asOfGiven !== undefined && !z.iso.datetime({ offset: true }).safeParse(asOfGiven).success) {
    fail(`--as-of must be an ISO date-time with a time zone (e.g. 2025-03-10T00:00:00Z), got "${asOfGiven}"`);
  }
  const text = read(file, 'the journeys file').replace(/^\uFEFF/, '');
  const model = values.model;

  if (file.endsWith('.csv') || text.startsWith('path;')) {
    const csvModel = z.enum(CSV_MODELS).safeParse(model);
    if (!csvModel.success) fail(`model "${model}" needs timestamps; a paths CSV supports ${CSV_MODELS.join(', ')}`);
    const journeys = pathsFrom(file, text);
    // The rules file is read only for the order it would set.
    const order = csvModel.data === 'markov' ? (orderGiven ?? (await rulesFrom(values.rules)).rules.models.markov_order) : 1;
    const t = performance.now();
    let result: Record<string, unknown>;
    let credits: Record<string, number>;
    if (csvModel.data === 'markov') {
      const f = fit(() => fitMarkov(journeys, order));
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
  const loaded = await rulesFrom(values.rules);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`${file}: not JSON and not a paths CSV (${errorText(e)})`);
  }
  const parsed = journeysFileSchema.safeParse(json);
  if (!parsed.success) fail(`${file}:\n${parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`);
  const { deals, touchesByDeal } = splitJourneysFile(parsed.data);
  const m: ModelName = modelName.data;
  const order = orderGiven ?? loaded.rules.models.markov_order;
  const rules = { ...loaded.rules, models: { ...loaded.rules.models, primary: m, compare: [], markov_order: order } };
  const fitted = fit(() => fitForRules(deals, touchesByDeal, rules));
  const ctx = { evidenceBaseUrl: 'http://127.0.0.1:8787', rulesVersion: loaded.version, asOf: asOfGiven ?? parsed.data.asOf, fitted };
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
  console.log(`${deals.length} deals from ${file}; model ${m}; rules ${loaded.version.slice(0, 19)}…`);
  for (const d of perDeal) {
    console.log(`  ${d.dealId.padEnd(12)} touches ${String(d.touchCount).padStart(3)}  score ${String(d.score).padStart(3)}  ${d.influenced ? 'influenced' : '-'} ${d.sourced ? 'sourced' : ''}  top ${d.topChannel ?? '-'}`);
  }
  console.log(
    JSON.stringify({
      model: m,
      ...(m === 'markov' ? { order } : {}),
      rules_version: loaded.version,
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
