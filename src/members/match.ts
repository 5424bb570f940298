import type { Env } from '../env';
import type { IdentityConfig, MemberDecision } from '../identity';
import { newId } from '../ids';
import type { Logger } from '../log';
import { meteredD1, type D1Meter } from '../store/metered';
import { memberKeyList, planMemberMatches } from '../identity/member-match';
import { mergeMembersMany } from '../store/merges';
import { identitiesOfMembers } from '../store/members';
import {
  claimMatchLease, liveMembers, markMatched, releaseMatchLease, memberDecisionsOf, membersSharingKeys, saveSuggestions, unkeyedMembers, writeMemberKeys,
} from '../store/member-match';

/**
 * Member matching, applied: members whose identities changed are keyed, compared with the members sharing a key, and
 * merged (a verified identifier, or one activity naming both), suggested for review, or left alone — the plan is
 * src/identity/member-match.ts. Ingestion runs it for the members of each message within a statement budget per
 * invocation; members it leaves pending (past the budget, from before migration 0012, or after a failure) are worked
 * through by a chain of 'match' messages on the sync queue, which ingestion and the cron start.
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
    // The subjects' identities are already read; only the others' are.
    const [live, others, decisions] = await Promise.all([
      liveMembers(db, everyone), identitiesOfMembers(db, everyone.filter((id) => !subjects.has(id))), memberDecisionsOf(db, everyone),
    ]);
    const identities = new Map([...subjects, ...others]);
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
 * D1 statements matching may spend in one invocation (D1 allows 1,000): a round is about 12 statements, or about 40
 * with merges, so this leaves room for whatever else the invocation does.
 */
export const MATCH_STATEMENTS = 400;

/**
 * Rounds of matching over pending members (oldest first) until none is left or `maxStatements` are spent. `more`:
 * pending members remain.
 */
export async function matchPending(db: D1Database, config: IdentityConfig, maxStatements = MATCH_STATEMENTS): Promise<MatchOutcome & { more: boolean }> {
  const meter: D1Meter = { rowsRead: 0, rowsWritten: 0, queries: 0 };
  const mdb = meteredD1(db, meter);
  const total: MatchOutcome = { keyed: 0, merged: 0, suggested: 0 };
  for (;;) {
    const r = await matchMembers(mdb, config);
    total.keyed += r.keyed;
    total.merged += r.merged;
    total.suggested += r.suggested;
    if (r.keyed < MATCH_BATCH) return { ...total, more: false };
    if (meter.queries + 40 > maxStatements) return { ...total, more: true };
  }
}

/** The cron's catch-up: members left pending (from before member matching, or past an invocation's budget). */
export async function catchUpMemberMatching(env: Env, config: IdentityConfig): Promise<MatchOutcome> {
  const r = await matchPending(env.DB, config);
  if (r.more) await startMatchChain(env);
  return r;
}

const LEASE_MS = 2 * 60_000;

/** Asks the sync queue to work through pending members (one chain at a time; see matchChainStep). */
export async function startMatchChain(env: Env): Promise<void> {
  await env.SYNC.send({ kind: 'match' }, { contentType: 'json' });
}

/**
 * One message of the chain that works through pending members when ingestion leaves more than its invocations can
 * match (a large import): a budget's worth of rounds, then the next message, under one lease so concurrent chains do
 * not repeat each other's work. A message that finds another chain holding the lease does nothing: that chain goes on
 * until no member is pending.
 */
export async function matchChainStep(env: Env, config: IdentityConfig, token: string | null, log: Logger): Promise<void> {
  const mine = token ?? newId('mml');
  if (!(await claimMatchLease(env.DB, mine, LEASE_MS))) return;
  const r = await matchPending(env.DB, config);
  log.info('members matched', { keyed: r.keyed, merged: r.merged, suggested: r.suggested, more: r.more });
  if (r.more) await env.SYNC.send({ kind: 'match', token: mine }, { contentType: 'json' });
  else await releaseMatchLease(env.DB, mine);
}
