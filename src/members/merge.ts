import type { Config } from '../env';
import { blockers } from '../identity';
import { contextFor } from '../identity/context';
import { mergeMembers, mergesOf, unmerge } from '../store/merges';
import { getMember, memberIdentityInputs } from '../store/members';
import { loadActiveConfig } from '../sync/config';

/** A person's merge, checked: the API (POST /v1/members/:id/merge|unmerge) and the member page both go through here. */
export type MergeOutcome =
  | { ok: true; message: string; merge: Awaited<ReturnType<typeof mergeMembers>> }
  | { ok: false; code: 'self' | 'not_found' | 'blocked' | 'stale'; message: string; reasons: string[] };

export async function mergeChecked(db: D1Database, config: Config, into: string, from: string, actor: string): Promise<MergeOutcome> {
  if (from === into) return { ok: false, code: 'self', message: 'A member cannot be merged into itself.', reasons: [] };
  const [a, b] = await Promise.all([getMember(db, into), getMember(db, from)]);
  if (!a) return { ok: false, code: 'not_found', message: `No member ${into}.`, reasons: [] };
  if (!b) return { ok: false, code: 'not_found', message: `No member ${from}.`, reasons: [] };
  const active = await loadActiveConfig(db, config);
  const reasons = blockers(await memberIdentityInputs(db, into), await memberIdentityInputs(db, from), contextFor(active.identity));
  if (reasons.length) return { ok: false, code: 'blocked', message: 'These members cannot be one person.', reasons };
  const merge = await mergeMembers(db, into, from, actor);
  if (!merge.merged) return { ok: false, code: 'stale', message: 'One of these members was merged into another meanwhile; reload and try again.', reasons: [] };
  return {
    ok: true,
    merge,
    message: `Merged ${from} into this member: ${merge.identities_moved} identities and ${merge.activities_moved} activities moved. The next sync run recomputes their deals.`,
  };
}

export type UnmergeOutcome =
  | { ok: true; message: string; result: Awaited<ReturnType<typeof unmerge>> }
  | { ok: false; code: 'not_found' | 'merged'; message: string; reasons: string[] };

export async function unmergeChecked(db: D1Database, into: string, mergeId: string | null, actor: string): Promise<UnmergeOutcome> {
  const merges = (await mergesOf(db, into)).filter((m) => m.into_member === into && !m.undone_at);
  const merge = mergeId ? merges.find((m) => m.id === mergeId) : merges[0];
  if (!merge) return { ok: false, code: 'not_found', message: 'No merge into this member to undo.', reasons: [] };
  // Its identities have moved on with it: undo the later merge first, or this one would restore an empty member.
  const self = await getMember(db, into);
  if (self?.merged_into) {
    return { ok: false, code: 'merged', message: `This member was itself merged into ${self.merged_into}: undo that merge first.`, reasons: [] };
  }
  const result = await unmerge(db, merge, actor);
  return { ok: true, result, message: `Undid merge ${merge.id}: ${result.restored_member} is a separate member again, recorded as not the same person.` };
}
