/** The dead-letter queues whose consumers record rows (wrangler.toml): only the activities one holds work to send again. */
export const ACTIVITIES_DLQ = 'ci-activities-dlq';
export const SYNC_DLQ = 'ci-sync-dlq';
/** How the activities consumer begins the reason of a message it could not parse (src/ingest/consumer.ts). */
export const UNPARSEABLE = 'unparseable message:';

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

/**
 * A listed row without its body (up to ~128 KB each): for an activities message, what its body says about itself,
 * read by SQLite's JSON functions (null when the body is not a JSON object of that shape).
 */
export type DeadLetterListRow = Omit<DeadLetterRow, 'body'> & {
  origin: string | null;
  activities: number | null;
  /** When the message was first accepted (its own received_at): its activities are at least that old. */
  message_received_at: string | null;
};

export type DeadLetterState = 'open' | 'replayed' | 'all';

const COLUMNS = 'id, queue, reason, body, received_at, replayed_at, replayed_by';

/**
 * An activities message (?1 = the activities queue): one whose retries ran out had passed the consumer's schema check,
 * while one it could not parse was parked with an `unparseable message:` reason (src/ingest/consumer.ts). The outline
 * check covers rows written otherwise; replay checks the body with the schema again.
 */
const SHAPED = `(queue = ?1 AND reason NOT LIKE '${UNPARSEABLE}%' AND json_valid(body) AND json_extract(body, '$.v') = 1
                 AND json_array_length(body, '$.items') > 0 AND json_type(body, '$.origin') = 'text' AND json_extract(body, '$.origin') <> '')`;

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
      `SELECT id, queue, reason, received_at, replayed_at, replayed_by,
              CASE WHEN ${SHAPED} THEN json_extract(body, '$.origin') END AS origin,
              CASE WHEN ${SHAPED} THEN json_array_length(body, '$.items') END AS activities,
              CASE WHEN ${SHAPED} THEN json_extract(body, '$.received_at') END AS message_received_at
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

/** Marks an open row replayed in one statement; null when it is unknown or was marked meanwhile. */
export async function markReplayed(db: D1Database, id: number, by: string, at: string): Promise<DeadLetterRow | null> {
  return db
    .prepare(`UPDATE dead_letters SET replayed_at = ?, replayed_by = ? WHERE id = ? AND replayed_at IS NULL RETURNING ${COLUMNS}`)
    .bind(at, by, id)
    .first<DeadLetterRow>();
}

/** The latest member erasure recorded, if any (audit_log_action index). */
export async function latestErasure(db: D1Database): Promise<string | null> {
  const row = await db.prepare(`SELECT max(at) AS at FROM audit_log WHERE action = 'member.erase'`).first<{ at: string | null }>();
  return row?.at ?? null;
}
