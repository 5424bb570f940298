export interface ActivityRow {
  seq: number;
  source: string;
  external_id: string;
  type: string;
  occurred_at: string;
  member_id: string;
  url: string | null;
  title: string | null;
  properties: string | null;
  origin: string;
  received_at: string;
}

export interface ActivityFilter {
  memberIds: string[] | null;
  source: string | null;
  type: string | null;
  since: string | null;
  until: string | null;
  /** Keyset cursor: only rows with seq below it (newest received first). */
  before: number | null;
  limit: number;
}

export async function listActivities(db: D1Database, f: ActivityFilter): Promise<ActivityRow[]> {
  const { results } = await db
    .prepare(
      `SELECT seq, source, external_id, type, occurred_at, member_id, url, title, properties, origin, received_at
         FROM activities
        WHERE (?1 IS NULL OR member_id IN (SELECT value FROM json_each(?1)))
          AND (?2 IS NULL OR source = ?2)
          AND (?3 IS NULL OR type = ?3 OR type LIKE ?3 || '.%')
          AND (?4 IS NULL OR occurred_at >= ?4)
          AND (?5 IS NULL OR occurred_at < ?5)
          AND (?6 IS NULL OR seq < ?6)
        ORDER BY seq DESC
        LIMIT ?7`,
    )
    .bind(f.memberIds ? JSON.stringify(f.memberIds) : null, f.source, f.type, f.since, f.until, f.before, f.limit)
    .all<ActivityRow>();
  return results;
}

export async function countActivities(db: D1Database): Promise<number> {
  const row = await db.prepare('SELECT count(*) AS n FROM activities').first<{ n: number }>();
  return row?.n ?? 0;
}
