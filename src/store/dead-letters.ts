/** The dead-letter queues whose consumers record rows (wrangler.toml): only the activities one holds work to send again. */
export const ACTIVITIES_DLQ = 'ci-activities-dlq';
export const SYNC_DLQ = 'ci-sync-dlq';

/** A queue message that could not be processed (migration 0001), and who sent it again, when (0013; NULL while open). */
export interface DeadLetterRow {
  id: number;
  queue: string;
  reason: string;
  body: string;
  received_at: string;
  replayed_at: string | null;
  replayed_by: string | null;
}

/** A listed row: its body only for the activities queue (what the list summarises); other bodies are left in D1. */
export type DeadLetterListRow = Omit<DeadLetterRow, 'body'> & { body: string | null };

export type DeadLetterState = 'open' | 'replayed' | 'all';

const COLUMNS = 'id, queue, reason, body, received_at, replayed_at, replayed_by';

/** Newest first, keyset on id (`before`: the last id of the previous page). */
export async function listDeadLetters(
  db: D1Database,
  q: { queue: string | null; state: DeadLetterState; before: number | null; limit: number },
): Promise<DeadLetterListRow[]> {
  // Conditions are left out rather than written `? IS NULL OR …`, so the planner sees `replayed_at IS NULL` and a
  // queue equality and lists open rows from dead_letters_open.
  const where: string[] = [];
  const binds: unknown[] = [ACTIVITIES_DLQ];
  if (q.state === 'open') where.push('replayed_at IS NULL');
  if (q.state === 'replayed') where.push('replayed_at IS NOT NULL');
  if (q.queue !== null) {
    where.push('queue = ?');
    binds.push(q.queue);
  }
  if (q.before !== null) {
    where.push('id < ?');
    binds.push(q.before);
  }
  binds.push(q.limit);
  const { results } = await db
    .prepare(
      `SELECT id, queue, reason, CASE WHEN queue = ? THEN body END AS body, received_at, replayed_at, replayed_by
         FROM dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY id DESC LIMIT ?`,
    )
    .bind(...binds)
    .all<DeadLetterListRow>();
  return results;
}

export async function getDeadLetter(db: D1Database, id: number): Promise<DeadLetterRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM dead_letters WHERE id = ?`).bind(id).first<DeadLetterRow>();
}

/**
 * Marks an open row replayed in one statement: of two replays at once only one gets the row back, so each claim sends
 * the message once. Null when the row is unknown or already replayed.
 */
export async function claimDeadLetter(db: D1Database, id: number, by: string, at: string): Promise<DeadLetterRow | null> {
  return db
    .prepare(`UPDATE dead_letters SET replayed_at = ?, replayed_by = ? WHERE id = ? AND replayed_at IS NULL RETURNING ${COLUMNS}`)
    .bind(at, by, id)
    .first<DeadLetterRow>();
}

/** Opens a claimed row again when its message could not be sent, so nothing is lost; only that claim (by, at). */
export async function releaseDeadLetter(db: D1Database, id: number, by: string, at: string): Promise<void> {
  await db
    .prepare('UPDATE dead_letters SET replayed_at = NULL, replayed_by = NULL WHERE id = ? AND replayed_at = ? AND replayed_by = ?')
    .bind(id, at, by)
    .run();
}

/** The first member erasure recorded after `since`, if any (audit_log_action index). */
export async function erasureSince(db: D1Database, since: string): Promise<string | null> {
  const row = await db.prepare(`SELECT at FROM audit_log WHERE action = 'member.erase' AND at > ?1 ORDER BY at LIMIT 1`).bind(since).first<{ at: string }>();
  return row?.at ?? null;
}
