/**
 * Member matching over stored members: which members whose identities changed are one person with another member
 * (merge automatically), may be (suggest, for a person to decide), or share a verified identifier yet cannot be one
 * member (a suggestion marked blocked). Pure; src/members/match.ts loads the members and applies the plan.
 *
 * Evidence per pair is scoreMemberPair's: a person's decision first, then the hard blockers, then strong keys (a
 * verified email, a GitHub noreply address naming an account) which merge, then weak ones which only suggest. Members an
 * incoming activity named together (the identities of one activity are one person) merge like a strong key would.
 */
import type { IdentityConfig } from './config';
import { contextFor } from './context';
import { blockers, latestMemberDecision, scoreMemberPair, type MemberDecisions } from './merge';
import { memberLookupKeys, strongKeysShared } from './member-keys';
import type { MemberSnapshot } from './types';

export interface MatchInput {
  /** Members whose identities changed (or are new): each is compared with the candidates found for it. */
  subjects: readonly MemberSnapshot[];
  /** Per subject, the other members sharing one of its keys (see memberKeyList). */
  candidates: ReadonlyMap<string, ReadonlySet<string>>;
  /** Snapshots of every member named above. */
  members: ReadonlyMap<string, MemberSnapshot>;
  /** Groups of members one activity named together. */
  together: readonly (readonly string[])[];
  /** People's decisions, each about the live members it now concerns (a decision about a merged-away member holds for its survivor). */
  decisions: MemberDecisions;
  /** Creation time per member: the oldest of a merged group stays (its id is the one the CRM links and URLs know). */
  createdAt: ReadonlyMap<string, string>;
}

export interface PlannedMerge {
  into: string;
  from: string;
  reasons: string[];
}

export interface PlannedSuggestion {
  a: string;
  b: string;
  score: number;
  reasons: string[];
  /** Why the pair cannot be merged although it shares a verified identifier (empty otherwise). */
  blocked: string[];
}

export interface MatchPlan {
  merges: PlannedMerge[];
  suggestions: PlannedSuggestion[];
  /** Pairs compared that no longer warrant a suggestion (a stored one is removed). */
  cleared: [string, string][];
}

/** Every key a member is found by: its identities, the strong keys they vouch for, the weak ones. */
export function memberKeyList(member: MemberSnapshot, config: IdentityConfig): string[] {
  const k = memberLookupKeys(member.identities, contextFor(config));
  return [...new Set([...k.own, ...k.verified, ...k.weak])].sort();
}

const pairKey = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
const ordered = (a: string, b: string): [string, string] => (a < b ? [a, b] : [b, a]);

export function planMemberMatches(input: MatchInput, config: IdentityConfig): MatchPlan {
  const ctx = contextFor(config);
  const together = new Set<string>();
  for (const group of input.together) {
    for (const a of group) for (const b of group) if (a < b) together.add(pairKey(a, b));
  }
  // Every pair to judge, once.
  const pairs = new Map<string, [string, string]>();
  for (const s of input.subjects) {
    for (const c of input.candidates.get(s.memberId) ?? []) if (c !== s.memberId) pairs.set(pairKey(s.memberId, c), ordered(s.memberId, c));
  }
  for (const key of together) {
    const [a, b] = key.split('\u0000') as [string, string];
    pairs.set(key, [a, b]);
  }

  const mergeWanted: { a: string; b: string; reasons: string[] }[] = [];
  const suggestions = new Map<string, PlannedSuggestion>();
  const cleared: [string, string][] = [];
  for (const [key, [a, b]] of [...pairs].sort(([x], [y]) => (x < y ? -1 : 1))) {
    const ma = input.members.get(a);
    const mb = input.members.get(b);
    if (!ma || !mb) continue;
    const s = scoreMemberPair(ma, mb, config, input.decisions);
    const named = together.has(key);
    if (s.verdict === 'merge') mergeWanted.push({ a, b, reasons: s.reasons });
    else if (s.verdict === 'blocked') {
      const decided = decidedNotSame(a, b, input.decisions);
      const strong = named || strongKeysShared(memberLookupKeys(ma.identities, ctx), memberLookupKeys(mb.identities, ctx)).length > 0;
      // A person's "not the same" settles it; a blocker over a verified identifier is worth a person's look.
      if (!decided && strong) suggestions.set(key, { a, b, score: 0.5, reasons: named ? ['one activity named both'] : ['share a verified identifier'], blocked: s.reasons });
      else cleared.push([a, b]);
    } else if (named) mergeWanted.push({ a, b, reasons: ['one activity named both', ...s.reasons] });
    else if (s.verdict === 'suggest') suggestions.set(key, { a, b, score: s.score, reasons: s.reasons, blocked: [] });
    else cleared.push([a, b]);
  }

  // Merge groups, each checked as a whole: A–B and B–C may each pass while A and C hold two accounts of one platform.
  const groupOf = new Map<string, string[]>();
  const find = (id: string) => groupOf.get(id) ?? [id];
  const reasonsOf = new Map<string, string[]>();
  for (const m of mergeWanted) {
    const ga = find(m.a);
    const gb = find(m.b);
    if (ga === gb || ga.includes(m.b)) continue;
    const ids = (g: string[]) => g.flatMap((id) => input.members.get(id)?.identities ?? []);
    // A person's "not the same person" between any two of the joined members stops the join (no merge, no suggestion).
    if (ga.some((x) => gb.some((y) => decidedNotSame(x, y, input.decisions)))) continue;
    const blocked = blockers(ids(ga), ids(gb), ctx);
    if (blocked.length) {
      suggestions.set(pairKey(m.a, m.b), { a: ordered(m.a, m.b)[0], b: ordered(m.a, m.b)[1], score: 0.5, reasons: m.reasons, blocked });
      continue;
    }
    const merged = [...ga, ...gb];
    for (const id of merged) groupOf.set(id, merged);
    reasonsOf.set(m.b, [...(reasonsOf.get(m.b) ?? []), ...m.reasons]);
    reasonsOf.set(m.a, [...(reasonsOf.get(m.a) ?? []), ...m.reasons]);
  }
  const merges: PlannedMerge[] = [];
  const survivorOf = new Map<string, string>();
  for (const group of new Set(groupOf.values())) {
    const sorted = [...group].sort((x, y) => cmp(input.createdAt.get(x) ?? '', input.createdAt.get(y) ?? '') || cmp(x, y));
    const into = sorted[0]!;
    for (const from of sorted.slice(1)) {
      survivorOf.set(from, into);
      merges.push({ into, from, reasons: [...new Set(reasonsOf.get(from) ?? [])] });
    }
  }
  // Suggestions about a member merged away now concern its survivor; within one group they are moot.
  const out = new Map<string, PlannedSuggestion>();
  for (const s of suggestions.values()) {
    const a = survivorOf.get(s.a) ?? s.a;
    const b = survivorOf.get(s.b) ?? s.b;
    if (a === b) continue;
    const [x, y] = ordered(a, b);
    // Decisions about any member of either merge group hold for the pair of survivors.
    if (find(s.a).some((p) => find(s.b).some((q) => decidedNotSame(p, q, input.decisions)))) continue;
    const prev = out.get(pairKey(x, y));
    if (!prev || prev.score < s.score) out.set(pairKey(x, y), { ...s, a: x, b: y });
  }
  return { merges, suggestions: [...out.values()], cleared: cleared.filter(([a, b]) => !out.has(pairKey(a, b))) };
}

const decidedNotSame = (a: string, b: string, decisions: MemberDecisions) => latestMemberDecision(a, b, decisions)?.decision === 'not_same';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
