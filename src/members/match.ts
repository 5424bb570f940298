import type { IdentityConfig, MemberDecision } from '../identity';
import { memberKeyList, planMemberMatches } from '../identity/member-match';
import { mergeMembersMany } from '../store/merges';
import { identitiesOfMembers } from '../store/members';
import {
  liveMembers, markMatched, memberDecisionsOf, membersSharingKeys, saveSuggestions, unkeyedMembers, writeMemberKeys,
} from '../store/member-match';

/**
 * Member matching, applied: members whose identities changed are keyed, compared with the members sharing a key, and
 * merged (a verified identifier, or one activity naming both), suggested for review, or left alone — the plan is
 * src/identity/member-match.ts. Ingestion runs it for the members of each batch; the cron catches up on any left
 * unkeyed (members from before migration 0012, or a batch whose matching failed after its activities were stored).
 */

/** A key held by more members than this (a common name, a shared mailbox) is no evidence about any two of them. */
export const MAX_MEMBERS_PER_KEY = 25;
/** Members keyed per call: bounds one queue message's or one cron tick's work. */
export const MATCH_BATCH = 200;
/** The actor merges by automation are recorded under (a person's unmerge then records "not the same person"). */
export const MATCH_ACTOR = 'automation:member-match';

export interface MatchOutcome {
  keyed: number;
  merged: number;
  suggested: number;
}

export async function matchMembers(
  db: D1Database,
  config: IdentityConfig,
  opts: { memberIds?: string[] | null; together?: string[][]; limit?: number } = {},
): Promise<MatchOutcome> {
  const outcome: MatchOutcome = { keyed: 0, merged: 0, suggested: 0 };
  // Merged members are keyed again and compared once more (a merge can complete evidence another pair lacked).
  let among: string[] | null = opts.memberIds ?? null;
  let together = opts.together ?? [];
  for (let round = 0; round < 2; round++) {
    const pending = await unkeyedMembers(db, among, opts.limit ?? MATCH_BATCH);
    const named = [...new Set(together.flat())];
    if (!pending.length && !named.length) break;
    const subjects = await identitiesOfMembers(db, pending.map((p) => p.id));
    const keys = new Map([...subjects].map(([id, identities]) => [id, memberKeyList({ memberId: id, identities }, config)]));
    await writeMemberKeys(db, keys, new Map(pending.map((p) => [p.id, p.keys_gen])));
    outcome.keyed += subjects.size;

    const candidates = await membersSharingKeys(db, keys, MAX_MEMBERS_PER_KEY);
    const everyone = [...new Set([...subjects.keys(), ...named, ...[...candidates.values()].flatMap((s) => [...s])])];
    const [live, identities, decisions] = await Promise.all([liveMembers(db, everyone), identitiesOfMembers(db, everyone), memberDecisionsOf(db, everyone)]);
    const members = new Map([...identities].filter(([id]) => live.has(id)).map(([memberId, ids]) => [memberId, { memberId, identities: ids }]));
    const plan = planMemberMatches({
      subjects: [...subjects.keys()].filter((id) => members.has(id)).map((id) => members.get(id)!),
      candidates,
      members,
      together: together.map((g) => g.filter((id) => members.has(id))).filter((g) => g.length > 1),
      decisions: { members: decisions.map((d): MemberDecision => ({ memberA: d.member_a, memberB: d.member_b, decision: d.decision, decidedBy: d.decided_by, decidedAt: d.decided_at })) },
      createdAt: live,
    }, config);

    // Suggestions first: a merge below removes those of the member it folds away.
    await saveSuggestions(db, plan.suggestions, plan.cleared);
    outcome.suggested += plan.suggestions.length;
    // A merge another matcher or a person got to first changes nothing; both members are keyed again for the next pass.
    outcome.merged += (await mergeMembersMany(db, plan.merges, MATCH_ACTOR, true)).filter((r) => r.merged).length;
    // Last: a failure above leaves the members pending for the next pass, and so does an identity added meanwhile.
    await markMatched(db, pending);
    if (!plan.merges.length) break;
    among = [...new Set(plan.merges.map((m) => m.into))];
    together = [];
  }
  return outcome;
}

/**
 * The cron's catch-up: members left unkeyed (from before member matching, or a batch whose matching failed), a batch
 * at a time, for at most `rounds` batches (about 10 D1 statements each, well inside one invocation's 1,000).
 */
export async function catchUpMemberMatching(db: D1Database, config: IdentityConfig, rounds = 25): Promise<MatchOutcome> {
  const total: MatchOutcome = { keyed: 0, merged: 0, suggested: 0 };
  for (let i = 0; i < rounds; i++) {
    const r = await matchMembers(db, config);
    total.keyed += r.keyed;
    total.merged += r.merged;
    total.suggested += r.suggested;
    if (r.keyed < MATCH_BATCH) break;
  }
  return total;
}
