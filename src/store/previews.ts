import type { Journey } from '../attribution/markov';
import type { CrmName } from '../env';
import { nowIso } from '../ids';

/** A full rules preview (migration 0011): both rules files, where it has got to, and its running state. */
export interface PreviewJobRow {
  id: string;
  crm: CrmName;
  author: string;
  active_hash: string;
  active_content: string;
  proposed_hash: string;
  proposed_content: string;
  status: 'running' | 'done' | 'failed';
  phase: 'fit' | 'evaluate';
  step: number;
  after_id: string;
  total: number;
  evaluated: number;
  as_of: string;
  state: string;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** Previews are kept this long, then removed when a new one starts. */
const KEEP_DAYS = 30;

/** Why a preview was not created: the same one is already running, or `maxLive` others are. */
export type CreateRefusal = { reason: 'same_running'; id: string; total: number } | { reason: 'busy'; live: number };

/**
 * Creates a preview unless the same proposal against the same active rules is already running (a second click) or
 * `maxLive` previews are advancing (each takes its turn on the sync queue). Checked by the insert itself, so two
 * starts at once cannot both pass. A preview idle for `stalledMs` is not counted: it waits for a reader to revive it.
 */
export async function createPreviewJob(
  db: D1Database,
  row: Pick<PreviewJobRow, 'id' | 'crm' | 'author' | 'active_hash' | 'active_content' | 'proposed_hash' | 'proposed_content' | 'phase' | 'total' | 'state'>,
  limits: { maxLive: number; stalledMs: number },
): Promise<CreateRefusal | null> {
  const now = nowIso();
  const old = new Date(Date.now() - KEEP_DAYS * 86_400_000).toISOString();
  const since = new Date(Date.now() - limits.stalledMs).toISOString();
  const results = await db.batch([
    db.prepare('DELETE FROM rule_preview_journeys WHERE preview_id IN (SELECT id FROM rule_previews WHERE created_at < ?)').bind(old),
    db.prepare('DELETE FROM rule_previews WHERE created_at < ?').bind(old),
    db.prepare(
      `INSERT INTO rule_previews (id, crm, author, active_hash, active_content, proposed_hash, proposed_content, status, phase, total, as_of, state, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', ?8, ?9, ?10, ?11, ?10, ?10
        WHERE NOT EXISTS (SELECT 1 FROM rule_previews WHERE status = 'running' AND crm = ?2 AND active_hash = ?4 AND proposed_hash = ?6)
          AND (SELECT count(*) FROM rule_previews WHERE status = 'running' AND updated_at > ?12) < ?13`,
    ).bind(row.id, row.crm, row.author, row.active_hash, row.active_content, row.proposed_hash, row.proposed_content, row.phase, row.total, now, row.state, since, limits.maxLive),
  ]);
  if (results.at(-1)?.meta.changes) return null;
  // Refused, but whatever refused it may have finished since: still a refusal (the caller may try again).
  return (await previewRefusal(db, row, limits)) ?? { reason: 'busy', live: limits.maxLive };
}

/** Whether a preview of this proposal could start now, and if not, why (see createPreviewJob). */
export async function previewRefusal(
  db: D1Database,
  row: Pick<PreviewJobRow, 'crm' | 'active_hash' | 'proposed_hash'>,
  limits: { maxLive: number; stalledMs: number },
): Promise<CreateRefusal | null> {
  const since = new Date(Date.now() - limits.stalledMs).toISOString();
  const same = await db
    .prepare(`SELECT id, total FROM rule_previews WHERE status = 'running' AND crm = ?1 AND active_hash = ?2 AND proposed_hash = ?3 ORDER BY created_at DESC LIMIT 1`)
    .bind(row.crm, row.active_hash, row.proposed_hash)
    .first<{ id: string; total: number }>();
  if (same) return { reason: 'same_running', ...same };
  const live = (await db.prepare(`SELECT count(*) AS n FROM rule_previews WHERE status = 'running' AND updated_at > ?`).bind(since).first<{ n: number }>())?.n ?? 0;
  return live >= limits.maxLive ? { reason: 'busy', live } : null;
}

export function getPreviewJob(db: D1Database, id: string): Promise<PreviewJobRow | null> {
  return db.prepare('SELECT * FROM rule_previews WHERE id = ?').bind(id).first<PreviewJobRow>();
}

/**
 * Saves one step's progress if the job is still at that step: a duplicated or retried message that lost the race
 * changes nothing (0 rows changed), so progress is never counted twice.
 */
export function savePreviewStepStmt(
  db: D1Database,
  job: PreviewJobRow,
  next: Pick<PreviewJobRow, 'status' | 'phase' | 'after_id' | 'evaluated' | 'state'>,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE rule_previews SET status = ?3, phase = ?4, after_id = ?5, evaluated = ?6, state = ?7, step = step + 1, updated_at = ?8
        WHERE id = ?1 AND step = ?2 AND status = 'running'`,
    )
    .bind(job.id, job.step, next.status, next.phase, next.after_id, next.evaluated, next.state, nowIso());
}

/** Fails a running preview; with `step`, only while it is still at that step (a stale dead letter fails nothing). */
export async function failPreviewJob(db: D1Database, id: string, error: string, step?: number): Promise<void> {
  await db
    .prepare(`UPDATE rule_previews SET status = 'failed', error = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'running' AND (?4 IS NULL OR step = ?4)`)
    .bind(id, error, nowIso(), step ?? null)
    .run();
}

/** Claims the re-send of a stalled step: true for one caller only (it moves updated_at, so the next waits again). */
export async function claimPreviewResend(db: D1Database, job: Pick<PreviewJobRow, 'id' | 'step' | 'updated_at'>): Promise<boolean> {
  const r = await db
    .prepare(`UPDATE rule_previews SET updated_at = ?4 WHERE id = ?1 AND step = ?2 AND updated_at = ?3 AND status = 'running'`)
    .bind(job.id, job.step, job.updated_at, nowIso())
    .run();
  return r.meta.changes === 1;
}

/** The next deal ids of the CRM mirror after `afterId`, in id order (keyset pagination over the primary key). */
export async function dealIdsAfter(db: D1Database, crm: CrmName, afterId: string, limit: number, closedOnly: boolean): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT crm_id FROM crm_deals WHERE crm = ?1 AND crm_id > ?2 ${closedOnly ? 'AND is_closed = 1' : ''} ORDER BY crm_id LIMIT ?3`)
    .bind(crm, afterId, limit)
    .all<{ crm_id: string }>();
  return results.map((r) => r.crm_id);
}

export async function countDeals(db: D1Database, crm: CrmName): Promise<number> {
  return (await db.prepare('SELECT count(*) AS n FROM crm_deals WHERE crm = ?').bind(crm).first<{ n: number }>())?.n ?? 0;
}

/** D1 takes a bound string of at most 2 MB: journeys are bound as JSON arrays of at most this many UTF-16 units. */
const MAX_BOUND_CHARS = 600_000;

/**
 * Adds journeys (merged by path) to a preview's, as JSON parameters split to fit D1's limit. Only while the job is at
 * `step`: batched before the step's save, a message that lost the race adds nothing.
 */
export function addPreviewJourneysStmts(db: D1Database, job: Pick<PreviewJobRow, 'id' | 'step'>, journeys: readonly Journey[]): D1PreparedStatement[] {
  const groups: string[][] = [[]];
  let size = 0;
  for (const j of journeys) {
    const row = JSON.stringify({ j: JSON.stringify(j.path), w: j.conversions, l: j.nulls, v: j.value ?? 0 });
    if (size + row.length > MAX_BOUND_CHARS && groups.at(-1)!.length) {
      groups.push([]);
      size = 0;
    }
    groups.at(-1)!.push(row);
    size += row.length + 1;
  }
  return groups.filter((g) => g.length).map((g) => addJourneysStmt(db, job, `[${g.join(',')}]`));
}

function addJourneysStmt(db: D1Database, job: Pick<PreviewJobRow, 'id' | 'step'>, rows: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO rule_preview_journeys (preview_id, journey, won, lost, value)
       SELECT ?1, value ->> 'j', value ->> 'w', value ->> 'l', value ->> 'v' FROM json_each(?2)
        WHERE EXISTS (SELECT 1 FROM rule_previews WHERE id = ?1 AND step = ?3 AND status = 'running')
       ON CONFLICT (preview_id, journey) DO UPDATE SET won = won + excluded.won, lost = lost + excluded.lost, value = value + excluded.value`,
    )
    .bind(job.id, rows, job.step);
}

export async function loadPreviewJourneys(db: D1Database, id: string): Promise<Journey[]> {
  const { results } = await db
    .prepare('SELECT journey, won, lost, value FROM rule_preview_journeys WHERE preview_id = ?')
    .bind(id)
    .all<{ journey: string; won: number; lost: number; value: number }>();
  return results.map((r) => ({ path: JSON.parse(r.journey) as string[], conversions: r.won, nulls: r.lost, value: r.value }));
}

export function dropPreviewJourneysStmt(db: D1Database, id: string): D1PreparedStatement {
  return db.prepare('DELETE FROM rule_preview_journeys WHERE preview_id = ?').bind(id);
}
