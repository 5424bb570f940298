import type { Rules } from '../rules/schema';

/** Influenced / sourced / assisted and the 0–100 score, as pure functions of a journey's summary figures. */

export interface JourneySummary {
  /** Counted touches in the window and scope. */
  touches: number;
  /** Sum of catalogue weights of those touches. */
  weightSum: number;
  distinctMembers: number;
  /** Epoch ms of the last touch; NaN with none. */
  lastTouchAt: number;
  /** Epoch ms the recency is measured at (close, asOf, or the last touch). */
  referenceAt: number;
  /** Deepest stage rank reached (index into rules.stages), -1 with none. */
  maxStageRank: number;
  /** Whether some deal contact touched within `sourced.within_days` before deal creation (and before entering the CRM). */
  sourcedTouch: boolean;
  /** Touches strictly after deal creation. */
  touchesAfterCreation: number;
}

/**
 * Score = 100 × (volume·v + breadth·b + recency·r + depth·d), rounded:
 * v = W/(W+S) with W the weighted touch sum and S `volume_saturation` (half marks at S);
 * b = min(1, members / `breadth_saturation`); r = 2^(−age of last touch / `recency_half_life_days`);
 * d = (deepest stage rank + 1) / number of stages. No touches → 0.
 */
export function influenceScore(rules: Rules, s: JourneySummary): number {
  if (s.touches === 0) return 0;
  const c = rules.definitions.score;
  const { volume, breadth, depth } = scoreParts(rules, s);
  const ageMs = Math.max(0, s.referenceAt - s.lastTouchAt);
  // exp(−ln2·age/H) = 2^(−age/H), written the same way as the batch path so both round identically.
  const recency = Number.isFinite(ageMs) ? Math.exp(ageMs * (-Math.LN2 / (c.recency_half_life_days * 86_400_000))) : 0;
  const raw = c.volume * volume + c.breadth * breadth + c.recency * recency + c.depth * depth;
  return Math.max(0, Math.min(100, Math.round(raw * 100)));
}

/** The parts of the score that do not depend on time (each 0..1, before weighting). */
export function scoreParts(rules: Rules, s: Pick<JourneySummary, 'weightSum' | 'distinctMembers' | 'maxStageRank'>) {
  const c = rules.definitions.score;
  return {
    volume: s.weightSum / (s.weightSum + c.volume_saturation),
    breadth: Math.min(1, s.distinctMembers / c.breadth_saturation),
    depth: rules.stages.length ? (s.maxStageRank + 1) / rules.stages.length : 0,
  };
}

/** Influenced: enough counted touches and a high enough score. */
export function isInfluenced(rules: Rules, touches: number, score: number): boolean {
  return touches >= rules.definitions.influenced.min_touches && score >= rules.definitions.influenced.min_score;
}

export interface Classification {
  influenced: boolean;
  sourced: boolean;
  assisted: boolean;
  score: number;
}

export function classify(rules: Rules, s: JourneySummary): Classification {
  const d = rules.definitions;
  const score = influenceScore(rules, s);
  const influenced = isInfluenced(rules, s.touches, score);
  const sourced = s.sourcedTouch;
  const assisted =
    s.touchesAfterCreation >= d.assisted.min_touches_after_creation && !(d.assisted.exclude_sourced && sourced);
  return { influenced, sourced, assisted, score };
}

/**
 * The [start, end] window in epoch ms: lookback before creation; until close (never after), or until creation; and
 * never past `asOf`, so nothing counts before its own time (NaN: no bound, the window once every time has come).
 */
export function dealWindow(rules: Rules, createdAt: number, closedAt: number, asOf: number): [number, number] {
  const start = createdAt - rules.window.lookback_days * 86_400_000;
  let end = rules.window.until_close ? (Number.isNaN(closedAt) ? asOf : closedAt) : createdAt;
  if (Number.isNaN(end)) end = Number.POSITIVE_INFINITY;
  if (asOf < end) end = asOf;
  return [start, end];
}

/**
 * When the deal closed, in epoch ms; NaN while it is open. An open deal's close date (HubSpot's closedate, Salesforce's
 * CloseDate) is only the expected one: its window runs to `asOf`, not to that date.
 */
export function closeTime(deal: { isClosed: boolean; closedAt: string | null }): number {
  return deal.isClosed ? parseTime(deal.closedAt) : Number.NaN;
}

export function parseTime(iso: string | null | undefined): number {
  if (iso === null || iso === undefined) return Number.NaN;
  return Date.parse(iso);
}
