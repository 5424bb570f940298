import { newId, nowIso } from '../ids';
import { rekeyAfterMergeStmts } from './member-match';

/**
 * Reversible merges. Identities (and the activities that came through them) move between members; the move is recorded
 * with the identity ids so an unmerge restores exactly what it moved. People's decisions are stored as member
 * decisions, which ingestion and resolution never override.
 */
const pair = (a: string, b: string) => (a < b ? [a, b] : [b, a]) as [string, string];

function dirtyMembersStmt(db: D1Database, memberIds: string[]) {
  return db
    .prepare(
      `INSERT INTO sync_dirty (crm, kind, ref)
       SELECT c.crm, 'member', m.value FROM json_each(?1) m, (SELECT 'hubspot' AS crm UNION SELECT 'salesforce') c WHERE true
       ON CONFLICT DO NOTHING`,
    )
    .bind(JSON.stringify(memberIds));
}

/** `reasons`: why automation merged (member matching); a person's merge has none. */
export async function mergeMembers(db: D1Database, into: string, from: string, actor: string, reasons: string[] = []) {
  const now = nowIso();
  const ids = await db.prepare('SELECT id FROM identities WHERE member_id = ?').bind(from).all<{ id: number }>();
  const identityIds = ids.results.map((r) => r.id);
  const activities = await db.prepare('SELECT count(*) AS n FROM activities WHERE member_id = ?').bind(from).first<{ n: number }>();
  const id = newId('mrg');
  const [a, b] = pair(into, from);
  await db.batch([
    db.prepare('UPDATE identities SET member_id = ?1 WHERE member_id = ?2').bind(into, from),
    db.prepare('UPDATE activities SET member_id = ?1 WHERE member_id = ?2').bind(into, from),
    db.prepare('UPDATE members SET merged_into = ?2, updated_at = ?3 WHERE id = ?1').bind(from, into, now),
    db.prepare('DELETE FROM links WHERE member_id = ?1 AND decided_by IS NULL').bind(from),
    db.prepare('UPDATE links SET member_id = ?2 WHERE member_id = ?1 AND NOT EXISTS (SELECT 1 FROM links l2 WHERE l2.member_id = ?2 AND l2.crm = links.crm AND l2.target_kind = links.target_kind AND l2.crm_id = links.crm_id)').bind(from, into),
    db.prepare(
      `INSERT INTO member_merges (id, into_member, from_member, identity_ids, activity_count, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).bind(id, into, from, JSON.stringify(identityIds), activities?.n ?? 0, actor, now),
    db.prepare(
      `INSERT INTO member_decisions (member_a, member_b, decision, decided_by, decided_at) VALUES (?1, ?2, 'same', ?3, ?4)
       ON CONFLICT (member_a, member_b) DO UPDATE SET decision = 'same', decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
    ).bind(a, b, actor, now),
    db.prepare(`INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, 'member.merge', ?)`)
      .bind(now, actor, JSON.stringify({ merge_id: id, into, from, identities: identityIds.length, activities: activities?.n ?? 0, ...(reasons.length ? { reasons } : {}) })),
    dirtyMembersStmt(db, [into, from]),
    ...rekeyAfterMergeStmts(db, into, from, true),
  ]);
  return { merge_id: id, into, from, identities_moved: identityIds.length, activities_moved: activities?.n ?? 0 };
}

export interface MergeRow {
  id: string;
  into_member: string;
  from_member: string;
  identity_ids: string;
  activity_count: number;
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

/** Undoes one merge: the recorded identities and their activities go back, and "not the same person" is recorded. */
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
    db.prepare('UPDATE member_merges SET undone_at = ?2 WHERE id = ?1').bind(merge.id, now),
    db.prepare(
      `INSERT INTO member_decisions (member_a, member_b, decision, decided_by, decided_at) VALUES (?1, ?2, 'not_same', ?3, ?4)
       ON CONFLICT (member_a, member_b) DO UPDATE SET decision = 'not_same', decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
    ).bind(a, b, actor, now),
    db.prepare(`INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, 'member.unmerge', ?)`)
      .bind(now, actor, JSON.stringify({ merge_id: merge.id, into: merge.into_member, from: merge.from_member })),
    dirtyMembersStmt(db, [merge.into_member, merge.from_member]),
    ...rekeyAfterMergeStmts(db, merge.into_member, merge.from_member, false),
  ]);
  return { merge_id: merge.id, restored_member: merge.from_member };
}

/**
 * Erasure: the member's personal data, identities and activities are deleted; the deals their touches influenced are
 * marked for recomputation so CRM fields and evidence no longer reflect them. The audit row names only the member id.
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
