import type { Rules } from '../rules/schema';
import { refreshSlot } from './aging';
import type { ResolvedTouchpoint } from './catalogue';
import { catalogueFor, computeDealInfluence, topChannel } from './deal';
import { parseTime } from './definitions';
import type { CompanyInfluence, ContactInfluence, Deal, DealInfluence, EngineContext, Touch } from './types';

/** Contact- and company-level outputs, and the object-API batch. Exclusions and the catalogue apply as for deals. */

interface Kept {
  touch: Touch;
  at: number;
  tp: ResolvedTouchpoint;
}

/**
 * The touches that count at `asOf`, and the earliest time after it of one that will (NaN if none). Nothing after "now"
 * counts: a clock-skewed future activity must not make a contact look active before its time.
 */
function scan(touches: readonly Touch[], rules: Rules, asOf: number, companyId?: string): { kept: Kept[]; nextAt: number } {
  const cat = catalogueFor(rules);
  const excluded = new Set(rules.exclusions.members);
  const kept: Kept[] = [];
  let nextAt = Number.NaN;
  for (const touch of touches) {
    if ((rules.exclusions.staff && touch.isStaff) || (rules.exclusions.bots && touch.isBot) || excluded.has(touch.memberId)) continue;
    if (companyId !== undefined && touch.companyId !== companyId) continue;
    const tp = cat.resolve(touch.type);
    const at = parseTime(touch.occurredAt);
    if (!tp || Number.isNaN(at)) continue;
    if (!(at > asOf)) kept.push({ touch, at, tp });
    else if (!(at >= nextAt)) nextAt = at;
  }
  return { kept, nextAt };
}

const counted = (touches: readonly Touch[], rules: Rules, asOf: number, companyId?: string) => scan(touches, rules, asOf, companyId).kept;

const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : null);

/**
 * One contact: `touches` are the touches of the members linked to it. Stage = deepest catalogue stage ever reached;
 * activityRecent counts touches in the `contacts.activity_days` days up to `asOf`.
 */
export function computeContactInfluence(contactId: string, touches: readonly Touch[], rules: Rules, asOf: string): ContactInfluence {
  const now = parseTime(asOf);
  const from = now - rules.contacts.activity_days * 86_400_000;
  let stageRank = -1;
  let last = Number.NEGATIVE_INFINITY;
  let recent = 0;
  const channels = new Set<string>();
  for (const k of counted(touches, rules, now)) {
    stageRank = Math.max(stageRank, k.tp.stageRank);
    last = Math.max(last, k.at);
    if (k.at >= from) recent++;
    channels.add(k.tp.channel);
  }
  return {
    contactId,
    stage: stageRank >= 0 ? (rules.stages[stageRank] ?? null) : null,
    lastActivityAt: iso(last),
    activityRecent: recent,
    channels: [...channels].sort(),
  };
}

/**
 * When the contact's result should be refreshed (ISO, see refreshSlot), or null: its activity count changes with no
 * new activity when its oldest touch in the `contacts.activity_days` window leaves it, and everything may change when
 * a touch dated in the future comes due.
 */
export function contactRefreshAt(touches: readonly Touch[], rules: Rules, asOf: string): string | null {
  const now = parseTime(asOf);
  const span = rules.contacts.activity_days * 86_400_000;
  const { kept, nextAt } = scan(touches, rules, now);
  let at = Number.isNaN(nextAt) ? Number.POSITIVE_INFINITY : nextAt;
  for (const k of kept) if (k.at >= now - span) at = Math.min(at, k.at + span + 1);
  return Number.isFinite(at) ? refreshSlot(at, now) : null;
}

/**
 * When the company's result should be refreshed (ISO, see refreshSlot), or null: its figures count every touch up to
 * now, so only a touch dated in the future changes them with no new activity, when it comes due.
 */
export function companyRefreshAt(companyId: string, touches: readonly Touch[], rules: Rules, asOf: string): string | null {
  const now = parseTime(asOf);
  const { nextAt } = scan(touches, rules, now, companyId);
  return Number.isNaN(nextAt) ? null : refreshSlot(nextAt, now);
}

/** One company: `touches` are those made while the member was affiliated with it (time-aware affiliation). */
export function computeCompanyInfluence(companyId: string, touches: readonly Touch[], rules: Rules, asOf: string): CompanyInfluence {
  const now = parseTime(asOf);
  const members = new Set<string>();
  const byChannel: Record<string, number> = {};
  let n = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const k of counted(touches, rules, now, companyId)) {
    members.add(k.touch.memberId);
    byChannel[k.tp.channel] = (byChannel[k.tp.channel] ?? 0) + 1;
    last = Math.max(last, k.at);
    n++;
  }
  return { companyId, engagedMembers: members.size, activityCount: n, topChannel: topChannel(byChannel), lastActivityAt: iso(last) };
}

/** Every deal with full evidence (the object path). For 100k-deal recomputes without evidence, see computeBatch. */
export function computeAll(
  deals: readonly Deal[],
  touchesByDeal: ReadonlyMap<string, readonly Touch[]>,
  rules: Rules,
  ctx: EngineContext,
): DealInfluence[] {
  return deals.map((d) => computeDealInfluence(d, touchesByDeal.get(d.id) ?? [], rules, ctx));
}
