/**
 * Member merging. planIdentityMerge decides what to do with the identities of one incoming activity given the members
 * that already own any of their keys; scoreMemberPair judges two members. Both respect recorded human decisions and the
 * hard blockers (two accounts on a one-account platform, bot vs human), which no score can outweigh.
 */
import type { IdentityConfig } from './config';
import { contextFor, identityKey, type ResolverContext } from './context';
import { botReason } from './flags';
import { keysOf, memberLookupKeys, strongKeysShared } from './member-keys';
import { foldName, jaroWinkler, normaliseCompanyName } from './names';
import type { Conflict, IdentityDecision, IdentityInput, MemberDecision, MemberSnapshot } from './types';

export interface MemberDecisions {
  members?: readonly MemberDecision[];
  identities?: readonly IdentityDecision[];
}

export interface MergeSuggestion {
  memberIds: [string, string];
  score: number;
  reasons: string[];
}

export type MergeAction = 'create' | 'attach' | 'merge' | 'conflict';

export interface MergePlan {
  action: MergeAction;
  /** Member receiving the identities; null means create a new member. */
  targetMemberId: string | null;
  /** Existing members to fold into the target (automatic merge on a verified shared identifier). */
  mergeMemberIds: string[];
  /** Incoming identities the target does not hold yet. */
  attach: IdentityInput[];
  /** Incoming identities not attached, and why (blocked by a rule or a human decision). */
  held: { identity: IdentityInput; reason: string }[];
  suggestions: MergeSuggestion[];
  conflicts: Conflict[];
  reasons: string[];
}

/** Hard blockers between two sets of identities (empty when they may be one person). */
export function blockers(a: readonly IdentityInput[], b: readonly IdentityInput[], ctx: ResolverContext): string[] {
  const out: string[] = [];
  for (const x of a) {
    if (!ctx.singleAccountSources.has(x.source)) continue;
    const other = b.find((y) => y.source === x.source && identityKey(y) !== identityKey(x));
    if (other) out.push(`two different ${x.source} accounts (${x.id} and ${other.id})`);
  }
  const botA = a.some((i) => botReason(i, ctx.flags) !== null);
  const botB = b.some((i) => botReason(i, ctx.flags) !== null);
  if (a.length > 0 && b.length > 0 && botA !== botB) out.push('a bot and a human');
  return [...new Set(out)];
}

/** A person's latest decision about two members, either way round. */
export function latestMemberDecision(a: string, b: string, decisions: MemberDecisions): MemberDecision | undefined {
  let latest: MemberDecision | undefined;
  for (const d of decisions.members ?? []) {
    if (!((d.memberA === a && d.memberB === b) || (d.memberA === b && d.memberB === a))) continue;
    if (!latest || latest.decidedAt <= d.decidedAt) latest = d;
  }
  return latest;
}

function identityRefused(memberId: string, key: string, decisions: MemberDecisions): IdentityDecision | undefined {
  let latest: IdentityDecision | undefined;
  for (const d of decisions.identities ?? []) {
    if (d.memberId === memberId && d.identityKey === key && (!latest || latest.decidedAt <= d.decidedAt)) latest = d;
  }
  return latest?.decision === 'not_belongs' ? latest : undefined;
}

export interface PairScore {
  verdict: 'merge' | 'suggest' | 'blocked' | 'none';
  score: number;
  reasons: string[];
}

/**
 * Two existing members. `merge` on a human "same" decision or a shared strong key (the same verified email, a noreply
 * address naming the other's GitHub id); otherwise a score from weak evidence, suggested above members.suggest_min_score.
 */
export function scoreMemberPair(a: MemberSnapshot, b: MemberSnapshot, config: IdentityConfig, decisions: MemberDecisions = {}): PairScore {
  const ctx = contextFor(config);
  const decision = latestMemberDecision(a.memberId, b.memberId, decisions);
  if (decision?.decision === 'not_same') return { verdict: 'blocked', score: 0, reasons: [`${decision.decidedBy} decided these are different people`] };
  if (decision?.decision === 'same') return { verdict: 'merge', score: 1, reasons: [`${decision.decidedBy} decided these are the same person`] };
  const blocked = blockers(a.identities, b.identities, ctx);
  if (blocked.length > 0) return { verdict: 'blocked', score: 0, reasons: blocked };
  const ka = memberLookupKeys(a.identities, ctx);
  const kb = memberLookupKeys(b.identities, ctx);
  const strongShared = strongKeysShared(ka, kb);
  if (strongShared.length > 0) return { verdict: 'merge', score: 1, reasons: strongShared.map((k) => `both hold verified ${k}`) };

  const reasons: string[] = [];
  const w = config.members.weights;
  let score = 0;
  const all = (k: typeof ka): Set<string> => new Set([...k.own, ...k.verified, ...k.weak]);
  const allB = all(kb);
  const shared = (prefix: string): string[] => [...all(ka)].filter((k) => k.startsWith(prefix) && allB.has(k));
  const emails = shared('email:');
  if (emails.length > 0) {
    score += w.same_unverified_email;
    reasons.push(`same unverified email ${emails[0]?.slice(6)}`);
  }
  const handles = shared('handle:');
  if (handles.length > 0) {
    score += w.same_handle;
    reasons.push(`same handle "${handles[0]?.slice(7)}" on two platforms`);
  }
  // Compared folded ("Müller" = "Mueller", "Smith, John" = "John Smith"); reasons quote the names as written.
  const [bestA, bestB] = [bestName(a.identities), bestName(b.identities)];
  const [nameA, nameB] = [bestA.folded, bestB.folded];
  if (nameA !== '' && nameA === nameB && nameA.includes(' ')) {
    score += w.same_full_name;
    reasons.push(`same full name "${bestA.raw}"`);
  } else if (nameA !== '' && nameB !== '') {
    const sim = jaroWinkler(nameA, nameB);
    if (sim >= config.links.name_similarity) {
      score += w.similar_name;
      reasons.push(`similar names "${bestA.raw}" and "${bestB.raw}" (${sim.toFixed(2)})`);
    }
  }
  const companyA = new Set(a.identities.map((i) => normaliseCompanyName(i.company)).filter((c) => c !== ''));
  const sharedCompany = b.identities.map((i) => normaliseCompanyName(i.company)).find((c) => companyA.has(c));
  if (sharedCompany) {
    score += w.same_company;
    reasons.push(`same company "${sharedCompany}"`);
  }
  score = Math.min(0.99, Math.round(score * 1000) / 1000);
  return { verdict: score >= config.members.suggest_min_score && reasons.length > 1 ? 'suggest' : 'none', score, reasons };
}

/** The fullest name a member's identities give: folded for comparing, and as written for reasons people read. */
function bestName(identities: readonly IdentityInput[]): { folded: string; raw: string } {
  let best = { folded: '', raw: '' };
  for (const i of identities) {
    const f = foldName(i.name);
    if (f.split(' ').length > best.folded.split(' ').length) best = { folded: f, raw: i.name!.trim() };
  }
  return best;
}

/**
 * The identities of one incoming activity (the first is the actor on its platform) against the existing members that own
 * any of their keys (the store looks them up with memberLookupKeys). Outcomes:
 * - no owner: create a member;
 * - one owner: attach the identities it lacks (each checked against the blockers and "not_belongs" decisions);
 * - several owners linked by strong keys: merge them into the actor's owner, unless a blocker or a "not_same" decision
 *   stands between them, which becomes a suggestion or a conflict instead;
 * - an identity already held by two members: a conflict (data to repair by hand), nothing merged.
 * Owners reached only through weak keys are suggestions.
 */
export function planIdentityMerge(
  incoming: readonly IdentityInput[],
  existingInput: readonly MemberSnapshot[],
  config: IdentityConfig,
  decisions: MemberDecisions = {},
): MergePlan {
  const ctx = contextFor(config);
  const existing = uniqueMembers(existingInput);
  const plan: MergePlan = { action: 'create', targetMemberId: null, mergeMemberIds: [], attach: [], held: [], suggestions: [], conflicts: [], reasons: [] };
  // Deduplicate; within one activity a second account on a one-account platform cannot be the same person.
  const accepted: IdentityInput[] = [];
  for (const identity of incoming) {
    const key = identityKey(identity);
    if (accepted.some((x) => identityKey(x) === key)) continue;
    const clash = blockers([identity], accepted, ctx);
    if (clash.length > 0) {
      plan.held.push({ identity, reason: clash.join('; ') });
      plan.conflicts.push({ code: clash.some((c) => c.includes('bot')) ? 'bot_and_human' : 'two_identities_same_platform', message: `incoming identities disagree: ${clash.join('; ')}`, refs: [key] });
      continue;
    }
    accepted.push(identity);
  }
  const first = accepted[0];
  if (!first) return { ...plan, action: 'conflict', reasons: ['no usable identity'] };

  // Which existing member each incoming key belongs to.
  const ownersOf = new Map<string, MemberSnapshot[]>();
  const strongOwner = new Map<string, MemberSnapshot>();
  const weakOwner = new Map<string, MemberSnapshot>();
  const memberKeys = existing.map((m) => ({ m, keys: memberLookupKeys(m.identities, ctx) }));
  for (const identity of accepted) {
    const k = keysOf(identity, ctx);
    for (const bad of k.malformedEmails) plan.conflicts.push({ code: 'malformed_email', message: `ignored malformed email ${JSON.stringify(bad)}`, refs: [k.own] });
    const owners = existing.filter((m) => m.identities.some((i) => identityKey(i) === k.own));
    if (owners.length > 0) ownersOf.set(k.own, owners);
    // The actor's own account is authoritative; another listed account counts only through a verified key.
    if (identity === first || owners.length > 1) for (const o of owners) strongOwner.set(o.memberId, o);
    else for (const o of owners) weakOwner.set(o.memberId, o);
    for (const { m, keys } of memberKeys) {
      if (k.strong.some((s) => keys.verified.has(s) || keys.own.has(s)) || keys.verified.has(k.own)) strongOwner.set(m.memberId, m);
      else if ([k.own, ...k.strong, ...k.weak].some((s) => keys.weak.has(s) || keys.own.has(s) || keys.verified.has(s))) weakOwner.set(m.memberId, m);
    }
  }
  for (const [key, owners] of ownersOf) {
    if (owners.length < 2) continue;
    plan.conflicts.push({ code: 'identity_claimed_by_two_members', message: `${key} is held by ${owners.length} members`, refs: owners.map((o) => o.memberId).sort() });
  }

  const claimedTwice = [...ownersOf.values()].some((o) => o.length > 1);
  const strong = [...strongOwner.values()].sort((a, b) => ownsActor(b, first) - ownsActor(a, first) || cmp(a.memberId, b.memberId));
  const target = strong[0];
  if (!target) {
    plan.attach = accepted;
    plan.reasons.push('no existing member holds these identities');
  } else {
    plan.action = 'attach';
    plan.targetMemberId = target.memberId;
    plan.reasons.push(`${target.memberId} holds ${ownsActor(target, first) ? identityKey(first) : 'a verified identifier of these identities'}`);
    let merged: IdentityInput[] = [...target.identities];
    for (const other of strong.slice(1)) {
      const d = latestMemberDecision(target.memberId, other.memberId, decisions);
      const blocked = blockers(merged, other.identities, ctx);
      const pair: [string, string] = [target.memberId, other.memberId];
      if (claimedTwice) {
        plan.suggestions.push({ memberIds: pair, score: 0.9, reasons: ['both hold the same identity; repair by hand'] });
      } else if (d?.decision === 'not_same') {
        plan.conflicts.push({ code: 'decision_blocks_merge', message: `${d.decidedBy} decided ${pair.join(' and ')} are different people`, refs: pair });
      } else if (blocked.length > 0) {
        plan.conflicts.push({ code: blocked.some((b) => b.includes('bot')) ? 'bot_and_human' : 'two_identities_same_platform', message: `not merging ${pair.join(' and ')}: ${blocked.join('; ')}`, refs: pair });
        plan.suggestions.push({ memberIds: pair, score: 0.5, reasons: [`share a verified identifier but ${blocked.join('; ')}`] });
      } else {
        plan.mergeMemberIds.push(other.memberId);
        plan.reasons.push(`merge ${other.memberId}: shares a verified identifier`);
        merged = [...merged, ...other.identities];
      }
    }
    if (plan.mergeMemberIds.length > 0) plan.action = 'merge';
    const held = new Set(merged.map(identityKey));
    for (const identity of accepted) {
      const key = identityKey(identity);
      if (held.has(key)) continue;
      const refused = identityRefused(target.memberId, key, decisions);
      const clash = blockers([identity], merged, ctx);
      const ownedElsewhere = ownersOf.get(key)?.some((o) => o.memberId !== target.memberId && !plan.mergeMemberIds.includes(o.memberId));
      if (refused) plan.held.push({ identity, reason: `${refused.decidedBy} decided ${key} does not belong to ${target.memberId}` });
      else if (clash.length > 0) plan.held.push({ identity, reason: clash.join('; ') });
      else if (ownedElsewhere) plan.held.push({ identity, reason: `${key} belongs to another member` });
      else {
        plan.attach.push(identity);
        merged.push(identity);
      }
    }
  }
  if (claimedTwice) plan.action = 'conflict';

  // Weakly related members: suggestions with reasons, never merges.
  const acceptedKeys = new Set(accepted.map(identityKey));
  const base: MemberSnapshot = {
    memberId: plan.targetMemberId ?? '(new)',
    identities: [...accepted, ...(target?.identities ?? []).filter((i) => !acceptedKeys.has(identityKey(i)))],
  };
  for (const other of weakOwner.values()) {
    if (other.memberId === plan.targetMemberId || plan.mergeMemberIds.includes(other.memberId) || strongOwner.has(other.memberId)) continue;
    const s = scoreMemberPair(base, other, config, decisions);
    if (s.verdict === 'suggest' || s.verdict === 'merge') plan.suggestions.push({ memberIds: [base.memberId, other.memberId], score: s.score, reasons: s.reasons });
  }
  return plan;
}

/** One snapshot per member id (a caller may pass a member twice, once per matched key). */
function uniqueMembers(members: readonly MemberSnapshot[]): MemberSnapshot[] {
  const byId = new Map<string, MemberSnapshot>();
  for (const m of members) {
    const cur = byId.get(m.memberId);
    if (!cur) byId.set(m.memberId, { memberId: m.memberId, identities: [...m.identities] });
    else for (const i of m.identities) if (!cur.identities.some((x) => identityKey(x) === identityKey(i))) cur.identities.push(i);
  }
  return [...byId.values()];
}

function ownsActor(m: MemberSnapshot, actor: IdentityInput): number {
  const key = identityKey(actor);
  return m.identities.some((i) => identityKey(i) === key) ? 1 : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Splits identities off a member. The caller creates the new member and stores the returned decisions, so automation
 * never re-attaches those identities to the old member nor merges the two back.
 */
export function planUnmerge(
  member: MemberSnapshot,
  splitKeys: readonly string[],
  newMemberId: string,
  decidedBy: string,
  decidedAt: string,
): { keep: IdentityInput[]; split: IdentityInput[]; identityDecisions: IdentityDecision[]; memberDecision: MemberDecision } {
  const wanted = new Set(splitKeys.map((k) => k.toLowerCase()));
  const keep = member.identities.filter((i) => !wanted.has(identityKey(i)));
  const split = member.identities.filter((i) => wanted.has(identityKey(i)));
  return {
    keep,
    split,
    identityDecisions: split.map((i) => ({ memberId: member.memberId, identityKey: identityKey(i), decision: 'not_belongs', decidedBy, decidedAt })),
    memberDecision: { memberA: member.memberId, memberB: newMemberId, decision: 'not_same', decidedBy, decidedAt },
  };
}
