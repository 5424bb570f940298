import type { Config } from '../env';
import { blockers } from '../identity';
import { contextFor } from '../identity/context';
import { mergeMembers, mergesOf, unmerge } from '../store/merges';
import { getMember } from '../store/members';
import { memberIdentityInputs } from '../store/ui-pages';
import { loadActiveConfig } from '../sync/config';

/**
 * The checks POST /v1/members/:id/merge|unmerge make, as functions the member page shares (the lead may move the route
 * onto them so the two cannot drift).
 */
export type MergeOutcome = { ok: true; message: string } | { ok: false; message: string; reasons: string[] };

export async function mergeChecked(db: D1Database, config: Config, into: string, from: string, actor: string): Promise<MergeOutcome> {
  if (from === into) return { ok: false, message: 'A member cannot be merged into itself.', reasons: [] };
  const [a, b] = await Promise.all([getMember(db, into), getMember(db, from)]);
  if (!a) return { ok: false, message: `No member ${into}.`, reasons: [] };
  if (!b) return { ok: false, message: `No member ${from}.`, reasons: [] };
  const active = await loadActiveConfig(db, config);
  const reasons = blockers(await memberIdentityInputs(db, into), await memberIdentityInputs(db, from), contextFor(active.identity));
  if (reasons.length) return { ok: false, message: 'These members cannot be one person.', reasons };
  const r = await mergeMembers(db, into, from, actor);
  return { ok: true, message: `Merged ${from} into this member: ${r.identities_moved} identities and ${r.activities_moved} activities moved. The next sync run recomputes their deals.` };
}

export async function unmergeChecked(db: D1Database, into: string, mergeId: string | null, actor: string): Promise<MergeOutcome> {
  const merges = (await mergesOf(db, into)).filter((m) => m.into_member === into && !m.undone_at);
  const merge = mergeId ? merges.find((m) => m.id === mergeId) : merges[0];
  if (!merge) return { ok: false, message: 'No merge into this member to undo.', reasons: [] };
  const r = await unmerge(db, merge, actor);
  return { ok: true, message: `Undid merge ${merge.id}: ${r.restored_member} is a separate member again, recorded as not the same person.` };
}
