import type { ModelName, PositionWeights, Rules } from '../rules/schema';

/**
 * The attribution models on one journey: a deal's counted touches, sorted by (time, touch id). Everything here works
 * on plain arrays of numbers so the per-deal (object) path and the columnar batch path share one definition.
 */

/** Index of the touch holding each milestone in the sorted journey; -1 when the milestone has no touch. */
export interface MilestoneIndex {
  first_touch: number;
  lead_creation: number;
  deal_creation: number;
  closed_won: number;
  last_touch: number;
}
export const MILESTONES = ['first_touch', 'lead_creation', 'deal_creation', 'closed_won', 'last_touch'] as const;

const pw = (w: Partial<PositionWeights>): PositionWeights => ({
  first_touch: 0, lead_creation: 0, deal_creation: 0, closed_won: 0, last_touch: 0, other: 0, ...w,
});

/** HubSpot's position-based definitions; U-shaped also as Marketo Measure (50/50, nothing for the middle). */
export const POSITION_PRESETS = {
  first_touch: pw({ first_touch: 1 }),
  last_touch_creation: pw({ deal_creation: 1 }),
  last_touch_close: pw({ last_touch: 1 }),
  u_shaped: pw({ first_touch: 0.4, lead_creation: 0.4, other: 0.2 }),
  u_shaped_marketo: pw({ first_touch: 0.5, lead_creation: 0.5 }),
  w_shaped: pw({ first_touch: 0.3, lead_creation: 0.3, deal_creation: 0.3, other: 0.1 }),
  full_path: pw({ first_touch: 0.225, lead_creation: 0.225, deal_creation: 0.225, closed_won: 0.225, other: 0.1 }),
  j_shaped: pw({ first_touch: 0.2, last_touch: 0.6, other: 0.2 }),
  inverse_j: pw({ first_touch: 0.6, last_touch: 0.2, other: 0.2 }),
} as const;

export type PositionModel = 'first_touch' | 'last_touch_creation' | 'last_touch_close' | 'u_shaped' | 'w_shaped' | 'full_path' | 'j_shaped' | 'inverse_j' | 'custom';
export const POSITION_MODELS: readonly PositionModel[] = [
  'first_touch', 'last_touch_creation', 'last_touch_close', 'u_shaped', 'w_shaped', 'full_path', 'j_shaped', 'inverse_j', 'custom',
];
export function isPositionModel(m: ModelName): m is PositionModel {
  return (POSITION_MODELS as readonly string[]).includes(m);
}

export function positionWeightsFor(model: PositionModel, rules: Rules): PositionWeights {
  if (model === 'custom') {
    if (!rules.models.custom) throw new Error('model "custom" needs models.custom weights in the rules');
    return rules.models.custom;
  }
  if (model === 'u_shaped' && rules.models.u_shaped === 'marketo') return POSITION_PRESETS.u_shaped_marketo;
  return POSITION_PRESETS[model];
}

/**
 * Compact result of a position model: `marks` are (touch index, share) for milestone touches, every other touch gets
 * `other`. Rules (documented in docs/attribution.md):
 * - a milestone with a positive weight gives it to its touch; coinciding milestones add up on that touch;
 * - `other` is split evenly over touches holding no (positively weighted) milestone;
 * - weight of a missing milestone, or `other` with no middle touches, is redistributed proportionally (we renormalise
 *   what was assigned), so a journey with touches always sums to 1; if nothing could be assigned, it falls back to linear.
 */
export interface PositionShares {
  marks: [number, number][];
  other: number;
}

export function positionShares(n: number, m: MilestoneIndex, w: PositionWeights): PositionShares {
  const idx = new Int32Array(5);
  const share = new Float64Array(6);
  const mi = Int32Array.from(MILESTONES, (k) => m[k]);
  const wv = weightVector(w);
  const count = positionSharesInto(n, mi, wv, 0, idx, share);
  const marks: [number, number][] = [];
  for (let k = 0; k < count; k++) marks.push([idx[k] ?? 0, share[k] ?? 0]);
  marks.sort((a, b) => a[0] - b[0]);
  return { marks, other: share[5] ?? 0 };
}

/** Position weights as a vector in MILESTONES order, then `other` at index 5 (the allocation-free form). */
export function weightVector(w: PositionWeights): Float64Array {
  return Float64Array.of(w.first_touch, w.lead_creation, w.deal_creation, w.closed_won, w.last_touch, w.other);
}

/**
 * The one implementation of the position rules above, allocation-free for the batch path: `mi` holds the milestone
 * indices (MILESTONES order, -1 = missing), `w[wOff..wOff+6)` the weight vector. Writes the distinct marked touch indices to `idx`,
 * their shares to `share[0..count)`, the share of each non-milestone touch to `share[5]`; returns the mark count.
 */
export function positionSharesInto(n: number, mi: Int32Array, w: Float64Array, wOff: number, idx: Int32Array, share: Float64Array): number {
  share[5] = 0;
  if (n === 0) return 0;
  let count = 0;
  let assigned = 0;
  for (let k = 0; k < 5; k++) {
    const wk = w[wOff + k] ?? 0;
    const i = mi[k] ?? -1;
    if (wk <= 0 || i < 0) continue;
    assigned += wk;
    let j = 0;
    while (j < count && idx[j] !== i) j++;
    if (j < count) share[j] = (share[j] ?? 0) + wk;
    else {
      idx[count] = i;
      share[count] = wk;
      count++;
    }
  }
  const middle = n - count;
  const otherTotal = middle > 0 ? (w[wOff + 5] ?? 0) : 0;
  const total = assigned + otherTotal;
  if (total <= 0) {
    share[5] = 1 / n; // nothing assignable: linear
    return 0;
  }
  for (let j = 0; j < count; j++) share[j] = (share[j] ?? 0) / total;
  share[5] = middle > 0 ? otherTotal / total / middle : 0;
  return count;
}

/** Expands compact position shares to one credit per touch. */
export function expandShares(n: number, s: PositionShares, out: Float64Array = new Float64Array(n)): Float64Array {
  out.fill(s.other, 0, n);
  for (const [i, v] of s.marks) out[i] = v;
  return out;
}

/**
 * Milestones of a sorted journey. "Lead creation" and "deal creation" touches are the last touch at or before that
 * moment (a touch at the exact same millisecond counts as before); "closed won" the last touch at or before close of a
 * won deal. Times are epoch ms; NaN means the moment is unknown (no milestone).
 */
export function milestonesOf(times: ArrayLike<number>, start: number, n: number, leadAt: number, dealAt: number, wonAt: number): MilestoneIndex {
  const lastAtOrBefore = (t: number): number => {
    if (Number.isNaN(t)) return -1;
    let lo = 0;
    let hi = n; // first index with time > t
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((times[start + mid] ?? 0) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  };
  return {
    first_touch: n > 0 ? 0 : -1,
    lead_creation: lastAtOrBefore(leadAt),
    deal_creation: lastAtOrBefore(dealAt),
    closed_won: lastAtOrBefore(wonAt),
    last_touch: n - 1,
  };
}

/** Normalises non-negative weights to shares; all-zero weights fall back to linear (so touches always share 1). */
export function normalise(weights: Float64Array, n: number): Float64Array {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += weights[i] ?? 0;
  if (!(sum > 0) || !Number.isFinite(sum)) {
    weights.fill(n > 0 ? 1 / n : 0, 0, n);
    return weights;
  }
  for (let i = 0; i < n; i++) weights[i] = (weights[i] ?? 0) / sum;
  return weights;
}

/**
 * Time-decay weight 2^(−Δt/H), Δt measured back from the journey's last touch. Normalised shares do not depend on the
 * reference point (shifting it scales every weight alike), so the last touch is used: it keeps exponents ≤ 0 (no overflow).
 */
export function timeDecayWeights(times: ArrayLike<number>, start: number, n: number, halfLifeDays: number, out = new Float64Array(n)): Float64Array {
  if (n === 0) return out;
  const ref = times[start + n - 1] ?? 0;
  const k = -Math.LN2 / (halfLifeDays * 86_400_000);
  for (let i = 0; i < n; i++) out[i] = Math.exp((ref - (times[start + i] ?? 0)) * k);
  return out;
}

/**
 * Data-driven models per deal: a channel's fitted weight (removal effect or Shapley value) is the channel's claim,
 * split evenly over the deal's touches on that channel. Channels missing from the fit get 0; all-zero → linear.
 */
export function fittedWeights(channels: readonly string[], fitted: Record<string, number>): Float64Array {
  const n = channels.length;
  const count = new Map<string, number>();
  for (const c of channels) count.set(c, (count.get(c) ?? 0) + 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = channels[i] ?? '';
    out[i] = Math.max(0, fitted[c] ?? 0) / (count.get(c) ?? 1);
  }
  return out;
}
