import type { ModelName, Rules } from '../rules/schema';
import { Catalogue, type ResolvedTouchpoint } from './catalogue';
import { classify, closeTime, dealWindow, parseTime } from './definitions';
import {
  expandShares, fittedWeights, isPositionModel, milestonesOf, MILESTONES, normalise, positionShares, positionWeightsFor,
  timeDecayWeights,
} from './models';
import type { Deal, DealInfluence, EngineContext, Milestone, Touch, TouchEvidence } from './types';

const catalogues = new WeakMap<Rules, Catalogue>();
/** One compiled catalogue per rules object (rules are immutable once parsed). */
export function catalogueFor(rules: Rules): Catalogue {
  let c = catalogues.get(rules);
  if (!c) {
    c = new Catalogue(rules);
    catalogues.set(rules, c);
  }
  return c;
}

/** Primary model first, then the comparison models, without duplicates. */
export function modelsOf(rules: Rules): ModelName[] {
  return [...new Set([rules.models.primary, ...rules.models.compare])];
}

/** The deal contacts whose touches count under the rules' scope (primary only, or every deal contact). */
export function scopedContacts(deal: Deal, rules: Rules): Map<string, number> {
  const primary = deal.contacts.filter((c) => c.isPrimary);
  // A deal without a primary contact falls back to all its contacts rather than to nobody (common in HubSpot).
  const chosen = rules.scope === 'primary_contact' && primary.length > 0 ? primary : deal.contacts;
  return new Map(chosen.map((c) => [c.contactId, parseTime(c.createdAt)]));
}

/** "Lead creation": when the first in-scope deal contact entered the CRM; NaN without contacts. */
export function leadCreatedAt(contacts: Map<string, number>): number {
  return minTime(contacts.values());
}

/** Smallest non-NaN time, NaN if none. */
export function minTime(values: Iterable<number>): number {
  let t = Number.NaN;
  for (const v of values) if (!Number.isNaN(v) && !(v >= t)) t = v;
  return t;
}

interface Counted {
  touch: Touch;
  at: number;
  tp: ResolvedTouchpoint;
  /** Earliest CRM-creation time of the deal contacts this touch is linked to; NaN if by no deal contact. */
  contactCreatedAt: number;
}

/** Applies exclusions, catalogue, scope and window; returns counted touches sorted by (time, id). */
export function countedTouches(deal: Deal, touches: readonly Touch[], rules: Rules, asOf = Number.NaN): Counted[] {
  return scanTouches(deal, touches, rules, asOf).journey;
}

/**
 * The counted touches, and when the earliest touch left out only for being after `asOf` enters the window (NaN if
 * none): a touch dated in the future when it arrives (clock skew, a date typed wrong) counts from its own time, and
 * the deal must then be computed again.
 */
function scanTouches(deal: Deal, touches: readonly Touch[], rules: Rules, asOf: number): { journey: Counted[]; nextAt: number } {
  const cat = catalogueFor(rules);
  const contacts = scopedContacts(deal, rules);
  const excludedMembers = new Set(rules.exclusions.members);
  const createdAt = parseTime(deal.createdAt);
  const closedAt = closeTime(deal);
  // The window now, and once every touch's time has come (a close date ahead of "now" ends it later).
  const [from, to] = dealWindow(rules, createdAt, closedAt, asOf);
  const [, toLater] = dealWindow(rules, createdAt, closedAt, Number.NaN);
  const out: Counted[] = [];
  let nextAt = Number.NaN;
  for (const touch of touches) {
    if ((rules.exclusions.staff && touch.isStaff) || (rules.exclusions.bots && touch.isBot)) continue;
    if (excludedMembers.has(touch.memberId)) continue;
    const tp = cat.resolve(touch.type);
    if (!tp) continue;
    const at = parseTime(touch.occurredAt);
    const later = at > to && at <= toLater;
    if (!(at >= from && (at <= to || later))) continue;
    const { byContact, byAccount, contactCreatedAt } = touchScope(touch, deal, contacts, rules);
    if (!byContact && !byAccount) continue;
    if (later) {
      if (!(at >= nextAt)) nextAt = at;
      continue;
    }
    out.push({ touch, at, tp, contactCreatedAt });
  }
  // Ties in time are broken by touch id so results never depend on input order.
  out.sort((a, b) => compareTouches(a.at, a.touch.id, b.at, b.touch.id));
  return { journey: out, nextAt };
}

/** Journey order: time, then touch id (so ties never depend on input order). */
export function compareTouches(atA: number, idA: string, atB: number, idB: string): number {
  return atA - atB || (idA < idB ? -1 : idA > idB ? 1 : 0);
}

/**
 * Whether a touch is in the deal's scope: by an in-scope deal contact, or (scope: account) by someone affiliated with
 * the deal's company when the touch happened. Also the earliest CRM creation time of the deal contacts behind it.
 */
export function touchScope(touch: Touch, deal: Deal, contacts: Map<string, number>, rules: Rules) {
  const byContact = touch.contactIds.some((id) => contacts.has(id));
  const byAccount = rules.scope === 'account' && deal.companyId !== null && touch.companyId === deal.companyId;
  const contactCreatedAt = byContact ? minTime(touch.contactIds.map((id) => contacts.get(id) ?? Number.NaN)) : Number.NaN;
  return { byContact, byAccount, contactCreatedAt };
}

/** Credit per touch (sums to 1, or empty) for one model on a sorted journey. */
export function modelCredits(
  model: ModelName,
  rules: Rules,
  times: Float64Array,
  weights: Float64Array,
  channels: readonly string[],
  milestones: ReturnType<typeof milestonesOf>,
  fitted: EngineContext['fitted'],
): Float64Array {
  const n = times.length;
  if (isPositionModel(model)) return expandShares(n, positionShares(n, milestones, positionWeightsFor(model, rules)));
  if (model === 'linear') return normalise(new Float64Array(n).fill(1), n);
  if (model === 'time_decay') return normalise(timeDecayWeights(times, 0, n, rules.models.time_decay_half_life_days), n);
  if (model === 'activity_weighted') return normalise(Float64Array.from(weights), n);
  return fittedCredits(model, channels, fitted);
}

/** Credit per touch for markov / shapley: each channel's fitted weight split over the deal's touches on it. */
export function fittedCredits(model: ModelName, channels: readonly string[], fitted: EngineContext['fitted']): Float64Array {
  const f = fitted?.[model as 'markov' | 'shapley'];
  if (!f) throw new Error(`model "${model}" needs a fitted model (fitMarkov / fitShapley) in ctx.fitted.${model}`);
  return normalise(fittedWeights(channels, f), channels.length);
}

/**
 * Influence of one deal with full evidence. `touches` are candidates (e.g. every touch of every member linked to the
 * deal's contacts or company); exclusions, catalogue, scope and window are applied here.
 */
export function computeDealInfluence(deal: Deal, touches: readonly Touch[], rules: Rules, ctx: EngineContext): DealInfluence {
  const asOf = parseTime(ctx.asOf);
  const { journey, nextAt } = scanTouches(deal, touches, rules, asOf);
  const n = journey.length;
  const createdAt = parseTime(deal.createdAt);
  const closedAt = closeTime(deal);
  const times = Float64Array.from(journey, (j) => j.at);
  const weights = Float64Array.from(journey, (j) => j.tp.weight);
  const channels = journey.map((j) => j.tp.channel);
  const milestones = milestonesOf(times, 0, n, leadCreatedAt(scopedContacts(deal, rules)), createdAt, deal.isWon ? closedAt : Number.NaN);

  const models = modelsOf(rules);
  const credits = new Map<ModelName, Float64Array>();
  for (const m of models) credits.set(m, modelCredits(m, rules, times, weights, channels, milestones, ctx.fitted));

  const within = rules.definitions.sourced.within_days * 86_400_000;
  const checkCreated = rules.definitions.sourced.before_contact_created;
  let sourcedTouch = false;
  let after = 0;
  let maxStage = -1;
  let weightSum = 0;
  const members = new Set<string>();
  for (const j of journey) {
    if (!Number.isNaN(j.contactCreatedAt) && j.at <= createdAt && j.at >= createdAt - within && (!checkCreated || j.at < j.contactCreatedAt)) {
      sourcedTouch = true;
    }
    if (j.at > createdAt) after++;
    maxStage = Math.max(maxStage, j.tp.stageRank);
    weightSum += j.tp.weight;
    members.add(j.touch.memberId);
  }
  const last = n > 0 ? (times[n - 1] ?? Number.NaN) : Number.NaN;
  const reference = !Number.isNaN(closedAt) && rules.window.until_close ? closedAt : Number.isNaN(asOf) ? last : asOf;
  const cls = classify(rules, {
    touches: n, weightSum, distinctMembers: members.size, lastTouchAt: last, referenceAt: reference, maxStageRank: maxStage,
    sourcedTouch, touchesAfterCreation: after,
  });

  const creditByChannel: DealInfluence['creditByChannel'] = {};
  const attributedAmount: DealInfluence['attributedAmount'] = {};
  for (const [m, c] of credits) {
    const { byChannel, total } = channelCredits(channels, c);
    creditByChannel[m] = byChannel;
    attributedAmount[m] = attributed(deal.amount, cls.influenced, total);
  }

  const evidence: TouchEvidence[] = journey.map((j, i) => {
    const credit: TouchEvidence['credit'] = {};
    for (const [m, c] of credits) credit[m] = c[i] ?? 0;
    const ms: Milestone[] = MILESTONES.filter((k) => milestones[k] === i);
    return {
      touchId: j.touch.id, memberId: j.touch.memberId, type: j.touch.type, channel: j.tp.channel,
      occurredAt: new Date(j.at).toISOString(), url: j.touch.url ?? null, title: j.touch.title ?? null, milestones: ms, credit,
    };
  });

  return {
    dealId: deal.id,
    crm: deal.crm,
    ...cls,
    primaryModel: rules.models.primary,
    models,
    amount: deal.amount,
    currency: deal.currency,
    isClosed: deal.isClosed,
    isWon: deal.isWon,
    attributedAmount,
    touchCount: n,
    firstTouchAt: n > 0 ? new Date(times[0] ?? 0).toISOString() : null,
    lastTouchAt: n > 0 ? new Date(last).toISOString() : null,
    topChannel: topChannel(creditByChannel[rules.models.primary] ?? {}),
    creditByChannel,
    membersInvolved: [...members].sort(),
    memberCount: members.size,
    evidence,
    evidenceUrl: evidenceUrl(ctx.evidenceBaseUrl, deal),
    rulesVersion: ctx.rulesVersion,
    ...(Number.isNaN(nextAt) ? {} : { nextTouchAt: new Date(nextAt).toISOString() }),
  };
}

/** Per-touch credits summed per channel, and their total (the deal's community share: 1 with touches, else 0). */
export function channelCredits(channels: readonly string[], credits: Float64Array): { byChannel: Record<string, number>; total: number } {
  const byChannel: Record<string, number> = {};
  let total = 0;
  for (let i = 0; i < channels.length; i++) {
    const ch = channels[i] ?? '';
    byChannel[ch] = (byChannel[ch] ?? 0) + (credits[i] ?? 0);
    total += credits[i] ?? 0;
  }
  return { byChannel, total };
}

/**
 * amount × community share. The share is the sum of credits over counted community touches (1 with touches, 0
 * without); a deal that is not "influenced" under the rules is attributed 0. A share within 1e-9 of 1 is 1: summing
 * the credits leaves rounding noise (0.9999999999999999), which would show as 999.9999999999999 of 1000.
 */
export function attributed(amount: number | null, influenced: boolean, share: number): number | null {
  if (amount === null) return null;
  if (!influenced) return 0;
  return Math.abs(share - 1) <= 1e-9 ? amount : amount * share;
}

/** Highest credit wins; ties go to the alphabetically first channel so the answer is stable. */
export function topChannel(byChannel: Record<string, number>): string | null {
  let best: string | null = null;
  let bestV = 0;
  for (const [ch, v] of Object.entries(byChannel)) {
    if (v > bestV + 1e-12 || (Math.abs(v - bestV) <= 1e-12 && v > 0 && best !== null && ch < best)) {
      best = ch;
      bestV = v;
    }
  }
  return best;
}

export function evidenceUrl(base: string, deal: Pick<Deal, 'crm' | 'id'>): string {
  return `${base.replace(/\/+$/, '')}/deals/${deal.crm}/${encodeURIComponent(deal.id)}`;
}
