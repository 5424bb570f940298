import type { Rules } from '../rules/schema';
import { fitMarkov, type Journey } from './markov';
import { fitShapley } from './shapley';
import type { EngineContext } from './types';

/**
 * Data-driven models in a running system: which the rules use, fitting them on the organisation's journeys, and
 * deciding whether a new fit differs enough from the last to recompute every deal. Pure; the Worker stores journeys and
 * fits in D1 (src/sync/fit.ts).
 */

export type FittedModel = 'markov' | 'shapley';
export type Fitted = NonNullable<EngineContext['fitted']>;

/**
 * A fit moves the deals' data-driven credits; below this change in any channel's share (0.5 percentage points) the old
 * fit is kept, so one more closed deal does not rewrite every deal in the CRM.
 */
export const FIT_TOLERANCE = 0.005;

export function fittedModels(rules: Rules): FittedModel[] {
  const used = new Set([rules.models.primary, ...rules.models.compare]);
  return (['markov', 'shapley'] as const).filter((m) => used.has(m));
}

/** Fits every data-driven model the rules use on these journeys (empty journeys give empty weights). */
export function fitModels(journeys: readonly Journey[], rules: Rules): Fitted {
  const fitted: Fitted = {};
  for (const m of fittedModels(rules)) {
    fitted[m] = m === 'markov' ? fitMarkov(journeys, rules.models.markov_order).removalEffects : fitShapley(journeys).values;
  }
  return fitted;
}

/**
 * What the engine needs for these rules: the fit where there is one, else empty weights, with which a deal's
 * data-driven credits fall back to linear (as for a deal whose channels all have zero weight).
 */
export function fittedOrEmpty(rules: Rules, fitted: Fitted | undefined): Fitted {
  const out: Fitted = {};
  for (const m of fittedModels(rules)) out[m] = fitted?.[m] ?? {};
  return out;
}

function shares(weights: Record<string, number> | undefined): Map<string, number> {
  const entries = Object.entries(weights ?? {}).map(([c, w]) => [c, Math.max(0, w)] as const);
  const sum = entries.reduce((s, [, w]) => s + w, 0);
  return new Map(entries.map(([c, w]) => [c, sum > 0 ? w / sum : 0]));
}

/** The largest change of any channel's share of the fitted weight, over the models either fit has (0 = same). */
export function fitShift(before: Fitted, after: Fitted): number {
  let shift = 0;
  for (const m of new Set([...Object.keys(before), ...Object.keys(after)] as FittedModel[])) {
    // A model present on one side only is a full change.
    if (!before[m] || !after[m]) return 1;
    const a = shares(before[m]);
    const b = shares(after[m]);
    for (const c of new Set([...a.keys(), ...b.keys()])) shift = Math.max(shift, Math.abs((a.get(c) ?? 0) - (b.get(c) ?? 0)));
  }
  return shift;
}

/** Merges journey counts by path (e.g. from chunks of deals, or grouped rows), summing conversions, nulls and value. */
export function mergeJourneys(parts: Iterable<Journey>): Journey[] {
  const merged = new Map<string, { path: readonly string[]; conversions: number; nulls: number; value: number }>();
  for (const j of parts) {
    const key = JSON.stringify(j.path);
    const m = merged.get(key) ?? { path: j.path, conversions: 0, nulls: 0, value: 0 };
    m.conversions += j.conversions;
    m.nulls += j.nulls;
    m.value += j.value ?? 0;
    merged.set(key, m);
  }
  return [...merged.values()];
}
