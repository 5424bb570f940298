import type { Rules } from '../rules/schema';
import { attributed, catalogueFor } from './deal';
import { influenceScore, isInfluenced, parseTime, scoreParts, type JourneySummary } from './definitions';
import type { DealInfluence } from './types';

/**
 * Results that change with time alone. A deal's score measures recency up to "now" unless the deal is closed and the
 * window ends at close, so an open deal's score (any deal's with `until_close: false`), and with a minimum score
 * whether it counts as influenced, falls as days pass without activity. Each stored result says when it next changes
 * (`refresh_at`); the sync re-scores it then from its stored evidence, without loading touches. Contacts' "activity
 * in the last N days" works the same way (see contactRefreshAt in people.ts).
 */

/** Never sooner than this after the computation: a refresh that changes nothing must not come round again at once. */
export const MIN_REFRESH_MS = 60_000;
/**
 * Refresh times are rounded up to the hour: refreshes come in batches (one run finds many due, rather than most runs a
 * few), and a value in the CRM is about an hour behind at most, plus the wait for the next run (the cron's 15 minutes).
 */
export const REFRESH_SLOT_MS = 3_600_000;

/** The refresh time (ISO) for a change at `changesAt` (ms), seen at `now` (ms). */
export function refreshSlot(changesAt: number, now: number): string {
  const at = Math.max(Number.isFinite(changesAt) ? changesAt : now, now + MIN_REFRESH_MS);
  return new Date(Math.ceil(at / REFRESH_SLOT_MS) * REFRESH_SLOT_MS).toISOString();
}

/**
 * Whether the score's recency is measured at "now" (true) or at the close (false, fixed). `closedAt` is the close time
 * the engine saw (Deal.closedAt: the sync gives open deals none).
 */
function agesWithTime(rules: Rules, closedAt: string | null): boolean {
  return !(rules.window.until_close && !Number.isNaN(parseTime(closedAt)));
}

/** The journey summary behind the score, from the stored evidence (the counted touches in journey order). */
function summaryOf(influence: DealInfluence, rules: Rules, referenceAt: number): JourneySummary {
  const cat = catalogueFor(rules);
  let weightSum = 0;
  let maxStageRank = -1;
  for (const e of influence.evidence) {
    const tp = cat.resolve(e.type);
    weightSum += tp?.weight ?? 0;
    maxStageRank = Math.max(maxStageRank, tp?.stageRank ?? -1);
  }
  return {
    touches: influence.touchCount, weightSum, distinctMembers: influence.memberCount, lastTouchAt: parseTime(influence.lastTouchAt),
    referenceAt, maxStageRank, sourcedTouch: influence.sourced, touchesAfterCreation: 0,
  };
}

/**
 * The result as computing the deal again at `asOf` would give it, when no activity arrived since: score, influenced and
 * the attributed amounts (0 when not influenced) follow the new reference time; nothing else depends on it.
 */
export function rescore(influence: DealInfluence, rules: Rules, asOf: string, closedAt: string | null): DealInfluence {
  if (!agesWithTime(rules, closedAt) || influence.touchCount === 0) return influence;
  const score = influenceScore(rules, summaryOf(influence, rules, parseTime(asOf)));
  const influenced = isInfluenced(rules, influence.touchCount, score);
  const attributedAmount: DealInfluence['attributedAmount'] = {};
  for (const m of influence.models) {
    let total = 0;
    for (const e of influence.evidence) total += e.credit[m] ?? 0;
    attributedAmount[m] = attributed(influence.amount, influenced, total);
  }
  return { ...influence, score, influenced, attributedAmount };
}

/**
 * When the deal's result should be refreshed (ISO; see refreshSlot), or null if it never changes with time alone: when
 * its score next drops, or when a touch dated in the future enters its window (`nextTouchAt`, whichever is first; see
 * `needsTouches` for which of the two a refresh then is).
 */
export function dealRefreshAt(influence: DealInfluence, rules: Rules, asOf: string, closedAt: string | null): string | null {
  const next = parseTime(influence.nextTouchAt);
  const at = Math.min(scoreDropsAt(influence, rules, closedAt) ?? Number.POSITIVE_INFINITY, Number.isNaN(next) ? Number.POSITIVE_INFINITY : next);
  return at === Number.POSITIVE_INFINITY ? null : refreshSlot(at, parseTime(asOf));
}

/**
 * Whether a stored result can no longer be brought up to date from itself at `asOf` and must be computed again from
 * the touches: a touch dated in the future when it was computed has entered its window since.
 */
export function needsTouches(influence: DealInfluence, asOf: string): boolean {
  return influence.nextTouchAt !== undefined && parseTime(influence.nextTouchAt) <= parseTime(asOf);
}

/**
 * When the deal's score next drops a point with no new activity (epoch ms, to within a millisecond), or null if it
 * never will: the closed deal's recency is fixed, or the rest of the score keeps it where it is. Solves
 * base + R·2^(−age/H) < score − ½ for the age.
 */
export function scoreDropsAt(influence: DealInfluence, rules: Rules, closedAt: string | null): number | null {
  const c = rules.definitions.score;
  if (!agesWithTime(rules, closedAt) || influence.touchCount === 0 || influence.score <= 0 || c.recency <= 0) return null;
  const s = summaryOf(influence, rules, Number.NaN);
  const { volume, breadth, depth } = scoreParts(rules, s);
  const base = 100 * (c.volume * volume + c.breadth * breadth + c.depth * depth);
  const q = (influence.score - 0.5 - base) / (100 * c.recency);
  if (!(q > 0)) return null;
  // The first whole millisecond past the solution (floating point puts it within a millisecond).
  return Math.floor(s.lastTouchAt - c.recency_half_life_days * 86_400_000 * Math.log2(Math.min(1, q))) + 1;
}
