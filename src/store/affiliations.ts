import { nowIso } from '../ids';

const dirty = (db: D1Database, crm: string, memberId: string) =>
  db.prepare("INSERT INTO sync_dirty (crm, kind, ref) VALUES (?1, 'member', ?2) ON CONFLICT DO NOTHING").bind(crm, memberId);

export async function addAffiliation(
  db: D1Database,
  a: { memberId: string; crm: string; companyId: string | null; from: string | null; to: string | null; actor: string },
): Promise<number> {
  const now = nowIso();
  const [inserted] = await db.batch([
    db.prepare(
      `INSERT INTO affiliation_overrides (member_id, crm, company_id, valid_from, valid_to, decided_by, decided_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    ).bind(a.memberId, a.crm, a.companyId, a.from, a.to, a.actor, now),
    db.prepare(`INSERT INTO audit_log (at, actor, action, crm, object, crm_id, detail) VALUES (?, ?, 'affiliation.set', ?, 'company', ?, ?)`)
      .bind(now, a.actor, a.crm, a.companyId, JSON.stringify({ member_id: a.memberId, from: a.from, to: a.to })),
    dirty(db, a.crm, a.memberId),
  ]);
  return (inserted!.results[0] as { id: number }).id;
}

export async function listAffiliations(db: D1Database, memberId: string) {
  const { results } = await db.prepare('SELECT * FROM affiliation_overrides WHERE member_id = ? ORDER BY id').bind(memberId).all();
  return results;
}

export async function removeAffiliation(db: D1Database, memberId: string, id: number, actor: string): Promise<boolean> {
  const row = await db.prepare('SELECT crm FROM affiliation_overrides WHERE id = ? AND member_id = ?').bind(id, memberId).first<{ crm: string }>();
  if (!row) return false;
  await db.batch([
    db.prepare('DELETE FROM affiliation_overrides WHERE id = ?').bind(id),
    db.prepare(`INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, 'affiliation.remove', ?)`).bind(nowIso(), actor, JSON.stringify({ member_id: memberId, id })),
    dirty(db, row.crm, memberId),
  ]);
  return true;
}
