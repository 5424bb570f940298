import type { IdentityInput } from '../activity/schema';
export interface MemberRow {
  id: string;
  display_name: string | null;
  is_bot: number;
  is_staff: number;
  merged_into: string | null;
  created_at: string;
  updated_at: string;
}

export interface IdentityView {
  id: number;
  source: string;
  external_id: string;
  handle: string | null;
  email: string | null;
  email_verified: number;
  name: string | null;
  company: string | null;
  is_bot: number;
  first_seen_at: string;
}

export async function getMember(db: D1Database, id: string): Promise<MemberRow | null> {
  return db.prepare('SELECT * FROM members WHERE id = ?').bind(id).first<MemberRow>();
}

/** `github:octocat` matches a GitHub identity by its stable id or by its (case-insensitive) login. */
export async function findMemberIdsByIdentity(db: D1Database, source: string, value: string): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT DISTINCT member_id FROM identities
        WHERE source = ?1 AND (external_id = ?2 OR external_id = lower(?2) OR handle_lc = lower(?2))`,
    )
    .bind(source, value)
    .all<{ member_id: string }>();
  return results.map((r) => r.member_id);
}

export async function listMembers(db: D1Database, opts: { after: string | null; limit: number }): Promise<MemberRow[]> {
  const { results } = await db
    .prepare('SELECT * FROM members WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2')
    .bind(opts.after, opts.limit)
    .all<MemberRow>();
  return results;
}

export async function getMemberDetail(db: D1Database, id: string) {
  const [identities, bySource, span] = await db.batch([
    db.prepare(
      `SELECT id, source, external_id, handle, email, email_verified, name, company, is_bot, first_seen_at
         FROM identities WHERE member_id = ? ORDER BY id`,
    ).bind(id),
    db.prepare('SELECT source, type, count(*) AS n FROM activities WHERE member_id = ? GROUP BY source, type ORDER BY n DESC').bind(id),
    db.prepare('SELECT count(*) AS total, min(occurred_at) AS first_at, max(occurred_at) AS last_at FROM activities WHERE member_id = ?').bind(id),
  ]);
  const counts = (bySource!.results as { source: string; type: string; n: number }[]);
  const totals = (span!.results[0] ?? { total: 0, first_at: null, last_at: null }) as { total: number; first_at: string | null; last_at: string | null };
  const perSource: Record<string, number> = {};
  const perType: Record<string, number> = {};
  for (const c of counts) {
    perSource[c.source] = (perSource[c.source] ?? 0) + c.n;
    perType[c.type] = c.n;
  }
  return {
    identities: identities!.results as unknown as IdentityView[],
    activity: { total: totals.total, first_at: totals.first_at, last_at: totals.last_at, by_source: perSource, by_type: perType },
  };
}

/** Members' identities in the shape identity resolution takes (every requested member gets an entry, possibly empty). */
export async function identitiesOfMembers(db: D1Database, memberIds: string[]): Promise<Map<string, IdentityInput[]>> {
  const { results } = await db
    .prepare(
      `SELECT member_id, source, external_id, handle, email, email_verified, name, company, is_bot
         FROM identities WHERE member_id IN (SELECT value FROM json_each(?1)) ORDER BY id`,
    )
    .bind(JSON.stringify(memberIds))
    .all<{ member_id: string; source: string; external_id: string; handle: string | null; email: string | null; email_verified: number; name: string | null; company: string | null; is_bot: number }>();
  const out = new Map<string, IdentityInput[]>(memberIds.map((id) => [id, []]));
  for (const r of results) {
    out.get(r.member_id)?.push({
      source: r.source, id: r.external_id, handle: r.handle ?? undefined, email: r.email ?? undefined,
      email_verified: r.email_verified === 1, name: r.name ?? undefined, company: r.company ?? undefined, is_bot: r.is_bot === 1,
    });
  }
  return out;
}

export async function memberIdentityInputs(db: D1Database, memberId: string): Promise<IdentityInput[]> {
  return (await identitiesOfMembers(db, [memberId])).get(memberId) ?? [];
}
