import type { CrmKind } from '../crm/types';
import type { Link, LinkDecision } from '../identity';

export interface LinkRow {
  id: number;
  member_id: string;
  crm: CrmKind;
  target_kind: 'contact' | 'company';
  crm_id: string;
  method: string;
  status: 'auto' | 'suggested' | 'confirmed' | 'rejected';
  confidence: number;
  evidence: string;
  decided_by: string | null;
  decided_at: string | null;
  created_at: string;
  updated_at: string;
}

export async function decisionsFor(db: D1Database, crm: CrmKind, memberIds: string[]): Promise<LinkDecision[]> {
  const { results } = await db
    .prepare(
      `SELECT member_id, target_kind, crm_id, status, decided_by, decided_at FROM links
        WHERE crm = ?1 AND decided_by IS NOT NULL AND member_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(crm, JSON.stringify(memberIds))
    .all<{ member_id: string; target_kind: 'contact' | 'company'; crm_id: string; status: string; decided_by: string; decided_at: string }>();
  return results
    .filter((r) => r.status === 'confirmed' || r.status === 'rejected')
    .map((r) => ({
      memberId: r.member_id,
      target: { kind: r.target_kind, crmId: r.crm_id },
      decision: r.status as 'confirmed' | 'rejected',
      decidedBy: r.decided_by,
      decidedAt: r.decided_at,
    }));
}

/**
 * Replaces automation's links of the given members with `links`: human decisions (decided_by set) are never touched,
 * rows that still hold keep their id and created_at, and rows automation no longer proposes are removed.
 * Two statements for the whole chunk, whatever its size.
 */
export function replaceAutoLinksStmts(
  db: D1Database,
  crm: CrmKind,
  memberIds: string[],
  links: { memberId: string; link: Link }[],
  now: string,
): D1PreparedStatement[] {
  const rows = links
    .filter(({ link }) => link.status === 'auto' || link.status === 'suggested')
    .map(({ memberId, link: l }) => ({
      member_id: memberId, kind: l.target.kind, crm_id: l.target.crmId, method: l.method, status: l.status,
      confidence: l.confidence, evidence: JSON.stringify(l.evidence),
    }));
  const rowsJson = JSON.stringify(rows);
  return [
    db.prepare(
      `DELETE FROM links WHERE crm = ?1 AND decided_by IS NULL AND member_id IN (SELECT value FROM json_each(?2))
          AND (member_id, target_kind, crm_id) NOT IN (SELECT value ->> 'member_id', value ->> 'kind', value ->> 'crm_id' FROM json_each(?3))`,
    ).bind(crm, JSON.stringify(memberIds), rowsJson),
    db.prepare(
      `INSERT INTO links (member_id, crm, target_kind, crm_id, method, status, confidence, evidence, created_at, updated_at)
       SELECT value ->> 'member_id', ?1, value ->> 'kind', value ->> 'crm_id', value ->> 'method', value ->> 'status',
              value ->> 'confidence', value ->> 'evidence', ?3, ?3
         FROM json_each(?2) WHERE true
       ON CONFLICT (member_id, crm, target_kind, crm_id) DO UPDATE SET
         method = excluded.method, status = excluded.status, confidence = excluded.confidence, evidence = excluded.evidence,
         updated_at = excluded.updated_at
       WHERE links.decided_by IS NULL
         AND (links.method IS NOT excluded.method OR links.status IS NOT excluded.status
              OR links.confidence IS NOT excluded.confidence OR links.evidence IS NOT excluded.evidence)`,
    ).bind(crm, rowsJson, now),
  ];
}

export async function listLinks(db: D1Database, f: { status: string | null; memberId: string | null; limit: number; afterId: number | null }) {
  const { results } = await db
    .prepare(
      `SELECT l.*, m.display_name AS member_name,
              CASE l.target_kind WHEN 'contact' THEN trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) ELSE co.name END AS target_name,
              CASE l.target_kind WHEN 'contact' THEN c.email ELSE co.domain END AS target_detail
         FROM links l
         JOIN members m ON m.id = l.member_id
         LEFT JOIN crm_contacts c ON l.target_kind = 'contact' AND c.crm = l.crm AND c.crm_id = l.crm_id
         LEFT JOIN crm_companies co ON l.target_kind = 'company' AND co.crm = l.crm AND co.crm_id = l.crm_id
        WHERE (?1 IS NULL OR l.status = ?1) AND (?2 IS NULL OR l.member_id = ?2) AND (?4 IS NULL OR l.id > ?4)
        ORDER BY l.id LIMIT ?3`,
    )
    .bind(f.status, f.memberId, f.limit, f.afterId)
    .all<LinkRow & { member_name: string | null; target_name: string | null; target_detail: string | null }>();
  return results;
}

export async function getLink(db: D1Database, id: number): Promise<LinkRow | null> {
  return db.prepare('SELECT * FROM links WHERE id = ?').bind(id).first<LinkRow>();
}

/** A person's decision on a link; it overrides automation until a person changes it. Audited in the same transaction. */
export async function decideLink(db: D1Database, link: LinkRow, decision: 'confirmed' | 'rejected', actor: string, now: string) {
  await db.batch([
    db.prepare('UPDATE links SET status = ?2, decided_by = ?3, decided_at = ?4, updated_at = ?4 WHERE id = ?1').bind(link.id, decision, actor, now),
    db.prepare(
      `INSERT INTO audit_log (at, actor, action, crm, object, crm_id, old_value, new_value, detail)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
    ).bind(now, actor, `link.${decision === 'confirmed' ? 'confirm' : 'reject'}`, link.crm, link.target_kind, link.crm_id,
      link.status, decision, JSON.stringify({ link_id: link.id, member_id: link.member_id })),
    // The member's deals must be recomputed with the decision.
    db.prepare("INSERT INTO sync_dirty (crm, kind, ref) VALUES (?1, 'member', ?2) ON CONFLICT DO NOTHING").bind(link.crm, link.member_id),
  ]);
}
