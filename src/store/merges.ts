import { newId, nowIso } from '../ids';
import { orderedPair as pair, rekeyAfterUnmergeStmts } from './member-match';

/**
 * Reversible merges. Identities (and the activities that came through them) move between members; the move is recorded
 * with the identity ids so an unmerge restores exactly what it moved. People's decisions are stored as member
 * decisions, which ingestion and resolution never override.
 */

function dirtyMembersStmt(db: D1Database, memberIds: string[]) {
  return db
    .prepare(
      `INSERT INTO sync_dirty (crm, kind, ref)
       SELECT c.crm, 'member', m.value FROM json_each(?1) m, (SELECT 'hubspot' AS crm UNION SELECT 'salesforce') c WHERE true
       ON CONFLICT DO NOTHING`,
    )
    .bind(JSON.stringify(memberIds));
}

export interface MergeRequest {
  into: string;
  from: string;
  /** Why automation merged (member matching); a person's merge has none. */
  reasons?: string[];
}

/**
 * Merges each `from` into its `into`, all in one transaction of a fixed number of statements however many there are
 * (member matching may merge a hundred members from one message; D1 allows 1,000 statements per invocation). A pair
 * changes nothing when either member is no longer live (merged meanwhile by a concurrent matcher or a person): the
 * first statement records the merges it can claim, and every later one applies only to those. `automated`: never
 * over a person's "not the same person" (a person merging overrides it, deliberately).
 */
export async function mergeMembersMany(db: D1Database, requests: readonly MergeRequest[], actor: string, automated: boolean): Promise<MergeResult[]> {
  if (!requests.length) return [];
  const now = nowIso();
  const wanted = requests.map((r) => {
    const [a, b] = pair(r.into, r.from);
    return { id: newId('mrg'), into: r.into, from: r.from, a, b, reasons: r.reasons ?? [] };
  });
  // Disjoint groups only: a member merged away twice, or merged away and kept, would scatter identities or make a cycle.
  const froms0 = new Set(wanted.map((w) => w.from));
  if (froms0.size < wanted.length || wanted.some((w) => froms0.has(w.into))) throw new Error('mergeMembersMany: each member may be merged away once, and not also receive a merge');
  const pairs = JSON.stringify(wanted);
  // The claimed merges of this call: rows of member_merges with this call's ids.
  const claimed = `(SELECT id, into_member, from_member FROM member_merges WHERE id IN (SELECT value ->> 'id' FROM json_each(?1)))`;
  // Through member_merges (from_member), one row per moved row, not a pass over this call's merges.
  const intoOf = (col: string) => `(SELECT m.into_member FROM member_merges m WHERE m.from_member = ${col} AND m.id IN (SELECT value ->> 'id' FROM json_each(?1)))`;
  const froms = `(SELECT from_member FROM ${claimed})`;
  const results = await db.batch([
    db.prepare(
      `INSERT INTO member_merges (id, into_member, from_member, identity_ids, activity_count, decided_by, decided_at, moved_links, moved_affiliations)
       SELECT p.value ->> 'id', p.value ->> 'into', p.value ->> 'from',
              (SELECT json_group_array(id) FROM identities WHERE member_id = p.value ->> 'from'),
              (SELECT count(*) FROM activities WHERE member_id = p.value ->> 'from'), ?2, ?3,
              (SELECT json_group_array(id) FROM links WHERE member_id = p.value ->> 'from' AND decided_by IS NOT NULL),
              (SELECT json_group_array(id) FROM affiliation_overrides WHERE member_id = p.value ->> 'from')
         FROM json_each(?1) p
        WHERE p.value ->> 'into' <> p.value ->> 'from'
          AND EXISTS (SELECT 1 FROM members WHERE id = p.value ->> 'into' AND merged_into IS NULL)
          AND EXISTS (SELECT 1 FROM members WHERE id = p.value ->> 'from' AND merged_into IS NULL)
          AND NOT (?4 AND EXISTS (SELECT 1 FROM member_decisions d WHERE d.member_a = p.value ->> 'a' AND d.member_b = p.value ->> 'b' AND d.decision = 'not_same'))
          -- Nor two members a person told apart into one survivor (a decision recorded after the plan was made). From
          -- the member's own decisions (two index lookups) to the call's pairs, not the pairs times each other.
          AND NOT (?4 AND EXISTS (
                SELECT 1 FROM member_decisions d
                 WHERE d.decision = 'not_same' AND (d.member_a = p.value ->> 'from' OR d.member_b = p.value ->> 'from')
                   AND EXISTS (SELECT 1 FROM json_each(?1) q
                                WHERE q.value ->> 'into' = p.value ->> 'into' AND q.key <> p.key
                                  AND q.value ->> 'from' = CASE WHEN d.member_a = p.value ->> 'from' THEN d.member_b ELSE d.member_a END)))
       RETURNING id, json_array_length(identity_ids) AS identities, activity_count`,
    ).bind(pairs, actor, now, automated ? 1 : 0),
    db.prepare(`UPDATE identities SET member_id = ${intoOf('identities.member_id')} WHERE member_id IN ${froms}`).bind(pairs),
    db.prepare(`UPDATE activities SET member_id = ${intoOf('activities.member_id')} WHERE member_id IN ${froms}`).bind(pairs),
    db.prepare(`UPDATE members SET merged_into = ${intoOf('members.id')}, updated_at = ?2 WHERE id IN ${froms}`).bind(pairs, now),
    // Links: automation's on the merged-away member go (resolution recomputes them); a person's decision moves to the
    // survivor and replaces automation's link to the same record there; where both members hold a person's decision
    // on the same record, the survivor's stands.
    db.prepare(`DELETE FROM links WHERE member_id IN ${froms} AND decided_by IS NULL`).bind(pairs),
    db.prepare(
      `DELETE FROM links WHERE decided_by IS NULL AND member_id IN (SELECT into_member FROM ${claimed})
          AND EXISTS (SELECT 1 FROM links l2 JOIN member_merges m ON m.from_member = l2.member_id AND m.into_member = links.member_id
                       WHERE m.id IN (SELECT value ->> 'id' FROM json_each(?1)) AND l2.decided_by IS NOT NULL
                         AND l2.crm = links.crm AND l2.target_kind = links.target_kind AND l2.crm_id = links.crm_id)`,
    ).bind(pairs),
    db.prepare(`UPDATE OR IGNORE links SET member_id = ${intoOf('links.member_id')} WHERE member_id IN ${froms}`).bind(pairs),
    // A person's statement of where the merged-away member worked is about the same person now.
    db.prepare(`UPDATE affiliation_overrides SET member_id = ${intoOf('affiliation_overrides.member_id')} WHERE member_id IN ${froms}`).bind(pairs),
    db.prepare(
      `INSERT INTO member_decisions (member_a, member_b, decision, decided_by, decided_at)
       SELECT p.value ->> 'a', p.value ->> 'b', 'same', ?2, ?3 FROM json_each(?1) p WHERE p.value ->> 'id' IN (SELECT id FROM ${claimed})
       ON CONFLICT (member_a, member_b) DO UPDATE SET decision = 'same', decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
    ).bind(pairs, actor, now),
    db.prepare(
      `INSERT INTO audit_log (at, actor, action, detail)
       SELECT ?3, ?2, 'member.merge', json_object('merge_id', m.id, 'into', m.into_member, 'from', m.from_member,
                'identities', json_array_length(m.identity_ids), 'activities', m.activity_count,
                'reasons', CASE WHEN json_array_length(p.value -> 'reasons') > 0 THEN json(p.value -> 'reasons') END)
         FROM member_merges m JOIN json_each(?1) p ON p.value ->> 'id' = m.id`,
    ).bind(pairs, actor, now),
    // The next sync recomputes both; the survivor is matched again; the merged-away member's keys and suggestions go.
    dirtyMembersStmt(db, wanted.flatMap((w) => [w.into, w.from])),
    db.prepare(`UPDATE members SET keys_at = NULL, keys_gen = keys_gen + 1 WHERE id IN (SELECT into_member FROM ${claimed})`).bind(pairs),
    db.prepare(`DELETE FROM member_keys WHERE member_id IN ${froms}`).bind(pairs),
    db.prepare(`DELETE FROM member_suggestions WHERE member_a IN ${froms} OR member_b IN ${froms}`).bind(pairs),
  ]);
  const done = new Map((results[0]!.results as { id: string; identities: number; activity_count: number }[]).map((r) => [r.id, r]));
  return wanted.map((w) => {
    const r = done.get(w.id);
    return { merged: !!r, merge_id: r ? w.id : null, into: w.into, from: w.from, identities_moved: r?.identities ?? 0, activities_moved: r?.activity_count ?? 0 };
  });
}

/** One merge (see mergeMembersMany). */
export async function mergeMembers(db: D1Database, into: string, from: string, actor: string, automation?: { reasons: string[] }): Promise<MergeResult> {
  const [result] = await mergeMembersMany(db, [{ into, from, reasons: automation?.reasons }], actor, !!automation);
  return result!;
}

export interface MergeResult {
  /** False when either member was no longer live (merged meanwhile): nothing changed. */
  merged: boolean;
  merge_id: string | null;
  into: string;
  from: string;
  identities_moved: number;
  activities_moved: number;
}

export interface MergeRow {
  id: string;
  into_member: string;
  from_member: string;
  identity_ids: string;
  activity_count: number;
  /** JSON arrays of the links (a person's decisions) and manual affiliations the merge moved (0014). */
  moved_links: string;
  moved_affiliations: string;
  decided_by: string;
  decided_at: string;
  undone_at: string | null;
}

export async function mergesOf(db: D1Database, memberId: string): Promise<MergeRow[]> {
  const { results } = await db
    .prepare('SELECT * FROM member_merges WHERE into_member = ?1 OR from_member = ?1 ORDER BY decided_at DESC')
    .bind(memberId)
    .all<MergeRow>();
  return results;
}

/**
 * Undoes one merge: the recorded identities and their activities go back, so do the link decisions and manual
 * affiliations it moved, and "not the same person" is recorded.
 */
export async function unmerge(db: D1Database, merge: MergeRow, actor: string) {
  const now = nowIso();
  const [a, b] = pair(merge.into_member, merge.from_member);
  await db.batch([
    db.prepare('UPDATE identities SET member_id = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND member_id = ?3')
      .bind(merge.from_member, merge.identity_ids, merge.into_member),
    db.prepare('UPDATE activities SET member_id = ?1 WHERE identity_id IN (SELECT value FROM json_each(?2)) AND member_id = ?3')
      .bind(merge.from_member, merge.identity_ids, merge.into_member),
    db.prepare('UPDATE members SET merged_into = NULL, updated_at = ?2 WHERE id = ?1').bind(merge.from_member, now),
    db.prepare('DELETE FROM links WHERE member_id IN (?1, ?2) AND decided_by IS NULL').bind(merge.into_member, merge.from_member),
    db.prepare('UPDATE OR IGNORE links SET member_id = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND member_id = ?3')
      .bind(merge.from_member, merge.moved_links, merge.into_member),
    db.prepare('UPDATE affiliation_overrides SET member_id = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND member_id = ?3')
      .bind(merge.from_member, merge.moved_affiliations, merge.into_member),
    db.prepare('UPDATE member_merges SET undone_at = ?2 WHERE id = ?1').bind(merge.id, now),
    db.prepare(
      `INSERT INTO member_decisions (member_a, member_b, decision, decided_by, decided_at) VALUES (?1, ?2, 'not_same', ?3, ?4)
       ON CONFLICT (member_a, member_b) DO UPDATE SET decision = 'not_same', decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
    ).bind(a, b, actor, now),
    db.prepare(`INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, 'member.unmerge', ?)`)
      .bind(now, actor, JSON.stringify({ merge_id: merge.id, into: merge.into_member, from: merge.from_member })),
    dirtyMembersStmt(db, [merge.into_member, merge.from_member]),
    ...rekeyAfterUnmergeStmts(db, merge.into_member, merge.from_member),
  ]);
  return { merge_id: merge.id, restored_member: merge.from_member };
}

/**
 * Erasure: the member's personal data, identities and activities are deleted; the deals their touches influenced are
 * marked for recomputation so CRM fields and evidence no longer reflect them. The audit row names only the member id.
 * What merges left elsewhere goes too: the names of members merged into this one, the reasons of those merges (they
 * quote addresses) and manual affiliations. A merged-away member is refused by the route: its data lives on the member
 * it was merged into.
 */
export async function eraseMember(db: D1Database, memberId: string, actor: string) {
  const now = nowIso();
  const counts = await db.batch([
    // Deals and contacts the member's links touch are recomputed by the next run, with the touches gone.
    db.prepare(
      `INSERT INTO sync_dirty (crm, kind, ref)
       SELECT DISTINCT l.crm, 'deal', dc.deal_id FROM links l JOIN crm_deal_contacts dc ON dc.crm = l.crm AND dc.contact_id = l.crm_id
        WHERE l.member_id = ?1 AND l.target_kind = 'contact'
       UNION SELECT l.crm, 'deal', d.crm_id FROM links l JOIN crm_deals d ON d.crm = l.crm AND d.company_id = l.crm_id
        WHERE l.member_id = ?1 AND l.target_kind = 'company'
       UNION SELECT crm, target_kind, crm_id FROM links WHERE member_id = ?1
       ON CONFLICT DO NOTHING`,
    ).bind(memberId),
    db.prepare('DELETE FROM activities WHERE member_id = ?').bind(memberId),
    db.prepare('DELETE FROM identities WHERE member_id = ?').bind(memberId),
    db.prepare('DELETE FROM links WHERE member_id = ?').bind(memberId),
    db.prepare('DELETE FROM member_email_keys WHERE member_id = ?').bind(memberId),
    db.prepare('DELETE FROM identity_conflicts WHERE member_id = ?').bind(memberId),
    db.prepare('DELETE FROM member_keys WHERE member_id = ?').bind(memberId),
    db.prepare('DELETE FROM member_suggestions WHERE member_a = ?1 OR member_b = ?1').bind(memberId),
    db.prepare('DELETE FROM affiliation_overrides WHERE member_id = ?1').bind(memberId),
    db.prepare(
      `UPDATE audit_log SET detail = json_remove(detail, '$.reasons')
        WHERE action = 'member.merge' AND json_valid(detail)
          AND (detail ->> 'into' = ?1 OR detail ->> 'from' = ?1 OR detail ->> 'from' IN (SELECT id FROM members WHERE merged_into = ?1))`,
    ).bind(memberId),
    db.prepare('UPDATE members SET display_name = NULL, updated_at = ?2 WHERE merged_into = ?1').bind(memberId, now),
    db.prepare("UPDATE members SET display_name = NULL, merged_into = NULL, updated_at = ?2 WHERE id = ?1").bind(memberId, now),
    db.prepare(`INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, 'member.erase', ?)`).bind(now, actor, JSON.stringify({ member_id: memberId })),
  ]);
  return { member_id: memberId, deals_to_recompute: counts[0]!.meta.changes, activities_deleted: counts[1]!.meta.changes, identities_deleted: counts[2]!.meta.changes };
}

export async function exportMember(db: D1Database, memberId: string) {
  const [member, identities, activities, links] = await db.batch([
    db.prepare('SELECT * FROM members WHERE id = ?').bind(memberId),
    db.prepare('SELECT source, external_id, handle, email, email_verified, name, company, is_bot, first_seen_at FROM identities WHERE member_id = ?').bind(memberId),
    db.prepare('SELECT source, external_id, type, occurred_at, url, title, properties, received_at FROM activities WHERE member_id = ? ORDER BY occurred_at').bind(memberId),
    db.prepare('SELECT crm, target_kind, crm_id, method, status, confidence, evidence, decided_by, decided_at FROM links WHERE member_id = ?').bind(memberId),
  ]);
  return {
    member: member!.results[0] ?? null,
    identities: identities!.results,
    activities: activities!.results,
    links: links!.results,
  };
}
