import type { IngestPlan, StoredIdentity } from '../ingest/plan';
import { identityKey } from '../ingest/plan';

/** One query for every identity a batch touches (row-value IN over a JSON array; D1 caps bound parameters at 100). */
export async function loadIdentities(db: D1Database, keys: [string, string][]): Promise<Map<string, StoredIdentity>> {
  const out = new Map<string, StoredIdentity>();
  if (!keys.length) return out;
  const { results } = await db
    .prepare(
      `SELECT id, source, external_id, member_id, handle, email, email_verified, name, company, is_bot
         FROM identities
        WHERE (source, external_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))`,
    )
    .bind(JSON.stringify(keys))
    .all<StoredIdentity>();
  for (const row of results) out.set(identityKey(row.source, row.external_id), row);
  return out;
}

/** The identities these members hold on the given platforms, per member. */
export async function accountsHeld(db: D1Database, memberIds: string[], sources: string[]): Promise<Map<string, [string, string][]>> {
  const out = new Map<string, [string, string][]>();
  const { results } = await db
    .prepare(
      `SELECT member_id, source, external_id FROM identities
        WHERE member_id IN (SELECT value FROM json_each(?1)) AND source IN (SELECT value FROM json_each(?2))`,
    )
    .bind(JSON.stringify(memberIds), JSON.stringify(sources))
    .all<{ member_id: string; source: string; external_id: string }>();
  for (const r of results) out.set(r.member_id, [...(out.get(r.member_id) ?? []), [r.source, r.external_id]]);
  return out;
}

export interface WriteMeta {
  origin: string;
  receivedAt: string;
  importJob?: { job: string; chunk: number };
}

export interface WriteOutcome {
  inserted: number;
  duplicates: number;
  rowsWritten: number;
  rowsRead: number;
}

/**
 * Writes a plan as one D1 batch (one transaction): members, identities, activities and, for an import chunk, its counts.
 * Each step is a single statement over a JSON array, so a batch of 500 activities is still ~6 statements.
 * A concurrent writer that created one of our identities first makes the member insert skip and the identity insert hit
 * the foreign key, failing the whole batch; the message is then retried and re-planned against the new state.
 */
export async function writePlan(db: D1Database, plan: IngestPlan, meta: WriteMeta): Promise<WriteOutcome> {
  const now = meta.receivedAt;
  const stmts: D1PreparedStatement[] = [];
  if (plan.members.length) {
    stmts.push(
      db
        .prepare(
          `INSERT INTO members (id, display_name, is_bot, created_at, updated_at)
           SELECT value ->> 'id', value ->> 'display_name', value ->> 'is_bot', ?2, ?2
             FROM json_each(?1) m
            WHERE NOT EXISTS (
              SELECT 1 FROM identities i, json_each(m.value -> 'keys') k
               WHERE i.source = k.value ->> 0 AND i.external_id = k.value ->> 1)`,
        )
        .bind(JSON.stringify(plan.members), now),
    );
  }
  if (plan.newIdentities.length) {
    stmts.push(
      db
        .prepare(
          `INSERT INTO identities (source, external_id, member_id, handle, handle_lc, email, email_verified, name, company,
                                   is_bot, first_seen_at)
           SELECT value ->> 'source', value ->> 'external_id',
                  -- Only onto a live member: one merged away since planning makes this NULL, failing the batch, and
                  -- the retried message is planned against the survivor.
                  (SELECT id FROM members WHERE id = value ->> 'member_id' AND merged_into IS NULL), value ->> 'handle',
                  value ->> 'handle_lc', value ->> 'email', value ->> 'email_verified', value ->> 'name',
                  value ->> 'company', value ->> 'is_bot', ?2
             FROM json_each(?1) WHERE true
           ON CONFLICT (source, external_id) DO NOTHING`,
        )
        .bind(JSON.stringify(plan.newIdentities), now),
    );
  }
  if (plan.changedIdentities.length) {
    stmts.push(
      db
        .prepare(
          `UPDATE identities
              SET (handle, handle_lc, email, email_verified, name, company, is_bot) = (
                    SELECT u.value ->> 'handle', u.value ->> 'handle_lc', u.value ->> 'email', u.value ->> 'email_verified',
                           u.value ->> 'name', u.value ->> 'company', u.value ->> 'is_bot'
                      FROM json_each(?1) u
                     WHERE u.value ->> 'source' = identities.source AND u.value ->> 'external_id' = identities.external_id)
            WHERE (source, external_id) IN (SELECT value ->> 'source', value ->> 'external_id' FROM json_each(?1))`,
        )
        .bind(JSON.stringify(plan.changedIdentities)),
    );
  }
  const touched = [...plan.newIdentities, ...plan.changedIdentities].map((i) => [i.source, i.external_id]);
  if (touched.length) {
    // Members whose identities this batch adds or changes are matched again (src/members/match.ts), marked in the same
    // transaction so a failure after it leaves them pending; keys_gen tells a matcher that read them earlier that its
    // keys are stale (it then leaves them pending).
    stmts.push(
      db
        .prepare(
          `UPDATE members SET keys_at = NULL, keys_gen = keys_gen + 1
            WHERE id IN (
              SELECT i.member_id FROM identities i WHERE (i.source, i.external_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1)))`,
        )
        .bind(JSON.stringify(touched)),
    );
  }
  const activityIndex = stmts.length;
  stmts.push(
    db
      .prepare(
        `INSERT INTO activities (source, external_id, type, occurred_at, member_id, identity_id, url, title, properties,
                                 origin, received_at)
         SELECT a.value ->> 'source', a.value ->> 'external_id', a.value ->> 'type', a.value ->> 'occurred_at',
                i.member_id, i.id, a.value ->> 'url', a.value ->> 'title', a.value ->> 'properties', ?2, ?3
           FROM json_each(?1) a
           JOIN identities i ON i.source = a.value ->> 'identity_source' AND i.external_id = a.value ->> 'identity_external_id'
          WHERE true
         ON CONFLICT (source, external_id) DO NOTHING`,
      )
      .bind(JSON.stringify(plan.activities), meta.origin, now),
  );
  if (meta.importJob) {
    // changes() still reports the activities insert here: the counts commit in the same transaction as the rows.
    stmts.push(
      db
        .prepare(
          `UPDATE import_jobs
              SET accepted = accepted + changes(), duplicate = duplicate + (?1 - changes()),
                  chunks_done = chunks_done + 1, updated_at = ?3,
                  status = CASE WHEN chunks_total IS NOT NULL AND chunks_done + 1 >= chunks_total THEN 'done' ELSE status END
            WHERE id = ?2`,
        )
        .bind(plan.activities.length, meta.importJob.job, now),
      db.prepare('INSERT INTO import_chunks (job_id, chunk) VALUES (?1, ?2)').bind(meta.importJob.job, meta.importJob.chunk),
    );
  }
  const results = await db.batch(stmts);
  const inserted = results[activityIndex]!.meta.changes;
  return {
    inserted,
    duplicates: plan.activities.length - inserted,
    rowsWritten: results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0),
    rowsRead: results.reduce((n, r) => n + (r.meta.rows_read ?? 0), 0),
  };
}

export async function importChunkApplied(db: D1Database, job: string, chunk: number): Promise<boolean> {
  const row = await db.prepare('SELECT 1 AS x FROM import_chunks WHERE job_id = ? AND chunk = ?').bind(job, chunk).first();
  return row !== null;
}

export async function recordDeadLetter(db: D1Database, queue: string, reason: string, body: unknown): Promise<void> {
  await db
    .prepare('INSERT INTO dead_letters (queue, reason, body, received_at) VALUES (?, ?, ?, ?)')
    .bind(queue, reason, typeof body === 'string' ? body : JSON.stringify(body ?? null), new Date().toISOString())
    .run();
}
