import type { CrmKind } from '../crm/types';
import { nowIso } from '../ids';

export type RunStage = 'pull' | 'expand' | 'resolve' | 'attribute' | 'write' | 'finish';
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'stopped';

export interface RunRow {
  id: string;
  crm: CrmKind;
  trigger: string;
  dry_run: number;
  full: number;
  status: RunStatus;
  stage: RunStage;
  checkpoint: string;
  step: number;
  counts: string;
  errors: string;
  reason: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface StateRow {
  crm: CrmKind;
  cursors: string;
  activity_seq: number;
  lease_run: string | null;
  lease_until: string | null;
  rerun: number;
  tick_until: string | null;
}

export const LEASE_MS = 5 * 60_000;

export async function getRun(db: D1Database, id: string): Promise<RunRow | null> {
  return db.prepare('SELECT * FROM sync_runs WHERE id = ?').bind(id).first<RunRow>();
}

export async function listRuns(db: D1Database, opts: { crm: string | null; limit: number; before: string | null }): Promise<RunRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM sync_runs WHERE (?1 IS NULL OR crm = ?1) AND (?3 IS NULL OR created_at < ?3)
        ORDER BY created_at DESC LIMIT ?2`,
    )
    .bind(opts.crm, opts.limit, opts.before)
    .all<RunRow>();
  return results;
}

export async function getState(db: D1Database, crm: CrmKind): Promise<StateRow> {
  await db.prepare('INSERT INTO sync_state (crm) VALUES (?) ON CONFLICT DO NOTHING').bind(crm).run();
  return (await db.prepare('SELECT * FROM sync_state WHERE crm = ?').bind(crm).first<StateRow>())!;
}

/**
 * Creates a run holding the CRM's lease, or answers the run that holds it. The lease expires, so a run whose
 * worker died is taken over by the next start instead of blocking the CRM forever.
 */
export async function createRunWithLease(
  db: D1Database,
  run: { id: string; crm: CrmKind; trigger: string; dryRun: boolean; full: boolean },
): Promise<{ created: true } | { created: false; holder: string }> {
  const now = new Date();
  const until = new Date(now.getTime() + LEASE_MS).toISOString();
  await db.prepare('INSERT INTO sync_state (crm) VALUES (?) ON CONFLICT DO NOTHING').bind(run.crm).run();
  const [lease] = await db.batch([
    db.prepare(
      `UPDATE sync_state SET lease_run = ?2, lease_until = ?3, rerun = 0
        WHERE crm = ?1 AND (lease_run IS NULL OR lease_until < ?4)`,
    ).bind(run.crm, run.id, until, now.toISOString()),
    db.prepare(
      `INSERT INTO sync_runs (id, crm, trigger, dry_run, full, status, stage, created_at, started_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, 'running', 'pull', ?6, ?6, ?6
        WHERE (SELECT lease_run FROM sync_state WHERE crm = ?2) = ?1`,
    ).bind(run.id, run.crm, run.trigger, run.dryRun ? 1 : 0, run.full ? 1 : 0, now.toISOString()),
  ]);
  if (lease!.meta.changes > 0) return { created: true };
  const state = await getState(db, run.crm);
  return { created: false, holder: state.lease_run ?? '' };
}

/** Saves a finished step; only the holder of the expected step wins, so a duplicated queue message does nothing. */
export function saveStepStmt(
  db: D1Database,
  run: RunRow,
  next: { stage: RunStage; checkpoint: unknown; counts: Record<string, number>; errors: unknown[] },
) {
  const now = new Date();
  return [
    db.prepare(
      `UPDATE sync_runs SET stage = ?3, checkpoint = ?4, counts = ?5, errors = ?6, step = step + 1, updated_at = ?7
        WHERE id = ?1 AND step = ?2 AND status = 'running'`,
    ).bind(run.id, run.step, next.stage, JSON.stringify(next.checkpoint), JSON.stringify(next.counts),
      JSON.stringify(next.errors.slice(0, 200)), now.toISOString()),
    db.prepare('UPDATE sync_state SET lease_until = ?3 WHERE crm = ?1 AND lease_run = ?2')
      .bind(run.crm, run.id, new Date(now.getTime() + LEASE_MS).toISOString()),
  ];
}

export async function endRun(db: D1Database, run: RunRow, status: 'done' | 'failed' | 'stopped', reason: string | null): Promise<boolean> {
  const now = nowIso();
  const [, state] = await db.batch([
    db.prepare(`UPDATE sync_runs SET status = ?2, reason = ?3, finished_at = ?4, updated_at = ?4 WHERE id = ?1 AND status = 'running'`)
      .bind(run.id, status, reason, now),
    db.prepare('UPDATE sync_state SET lease_run = NULL, lease_until = NULL WHERE crm = ?1 AND lease_run = ?2 RETURNING rerun')
      .bind(run.crm, run.id),
  ]);
  return ((state!.results[0] as { rerun?: number } | undefined)?.rerun ?? 0) > 0;
}

export async function requestRerun(db: D1Database, crm: CrmKind): Promise<void> {
  await db.prepare('UPDATE sync_state SET rerun = 1 WHERE crm = ? AND lease_run IS NOT NULL').bind(crm).run();
}

/** True when this caller should schedule the debounced run (no other tick is pending). */
export async function claimTick(db: D1Database, crm: CrmKind, debounceSeconds: number): Promise<boolean> {
  const now = new Date();
  await db.prepare('INSERT INTO sync_state (crm) VALUES (?) ON CONFLICT DO NOTHING').bind(crm).run();
  const res = await db
    .prepare('UPDATE sync_state SET tick_until = ?2 WHERE crm = ?1 AND (tick_until IS NULL OR tick_until < ?3)')
    .bind(crm, new Date(now.getTime() + debounceSeconds * 1000).toISOString(), now.toISOString())
    .run();
  return res.meta.changes > 0;
}

export async function releaseTick(db: D1Database, crm: CrmKind): Promise<void> {
  await db.prepare('UPDATE sync_state SET tick_until = NULL WHERE crm = ?').bind(crm).run();
}

export async function dirtyBatch(db: D1Database, crm: CrmKind, kind: string, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare('SELECT ref FROM sync_dirty WHERE crm = ? AND kind = ? ORDER BY ref LIMIT ?')
    .bind(crm, kind, limit)
    .all<{ ref: string }>();
  return results.map((r) => r.ref);
}

/** Marks records of one kind dirty, so a run computes them from their touches. */
export function markDirtyStmt(db: D1Database, crm: CrmKind, kind: string, refs: string[]) {
  return db
    .prepare('INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, ?2, value FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING')
    .bind(crm, kind, JSON.stringify(refs));
}

export function clearDirtyStmt(db: D1Database, crm: CrmKind, kind: string, refs: string[]) {
  return db
    .prepare('DELETE FROM sync_dirty WHERE crm = ?1 AND kind = ?2 AND ref IN (SELECT value FROM json_each(?3))')
    .bind(crm, kind, JSON.stringify(refs));
}

/**
 * Clears what a step just computed under rules loaded when `activatedAt` was the latest activation, in the same batch
 * as the results. A version activated since then marked everything dirty, maybe before this clear: the marks go back,
 * so no result of the old version is left standing. (Activation commits before it marks, so one of the two sees it.)
 */
export function clearComputedStmts(db: D1Database, crm: CrmKind, kind: string, refs: string[], activatedAt: string) {
  return [
    clearDirtyStmt(db, crm, kind, refs),
    db.prepare(
      `INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, ?2, value FROM json_each(?3)
        WHERE (SELECT coalesce(max(activated_at), '') FROM rules_active) > ?4 ON CONFLICT DO NOTHING`,
    ).bind(crm, kind, JSON.stringify(refs), activatedAt),
  ];
}

export async function countDirty(db: D1Database, crm: CrmKind): Promise<Record<string, number>> {
  const { results } = await db
    .prepare('SELECT kind, count(*) AS n FROM sync_dirty WHERE crm = ? GROUP BY kind')
    .bind(crm)
    .all<{ kind: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.kind, r.n]));
}
