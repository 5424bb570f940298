import { nowIso } from '../ids';
import type { ImportSummary } from '../imports/run';

export interface ImportJobRow {
  id: string;
  format: string;
  status: string;
  filename: string | null;
  rows_total: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  errors: string;
  chunks_total: number | null;
  chunks_done: number;
  failure: string | null;
  created_at: string;
  updated_at: string;
}

export async function createImportJob(
  db: D1Database,
  job: { id: string; format: string; filename: string | null; mapping: unknown; createdBy: string },
) {
  const now = nowIso();
  await db
    .prepare(
      `INSERT INTO import_jobs (id, format, status, filename, mapping, created_by, created_at, updated_at)
       VALUES (?, ?, 'receiving', ?, ?, ?, ?, ?)`,
    )
    .bind(job.id, job.format, job.filename, job.mapping === undefined ? null : JSON.stringify(job.mapping), job.createdBy, now, now)
    .run();
}

/** Marks the upload as fully read; the job is done as soon as the consumer has applied every chunk. */
export async function finishImportUpload(db: D1Database, id: string, s: ImportSummary) {
  await db
    .prepare(
      `UPDATE import_jobs
          SET rows_total = ?2, rejected = ?3, errors = ?4, chunks_total = ?5, failure = ?6, updated_at = ?7,
              status = CASE WHEN chunks_done >= ?5 THEN 'done' ELSE 'processing' END
        WHERE id = ?1`,
    )
    .bind(id, s.rowsTotal, s.rejected, JSON.stringify(s.errors), s.chunks, s.failure, nowIso())
    .run();
}

/**
 * An upload that broke off: the counts so far, and no chunks_total, so chunks still committing fill in accepted and
 * duplicate without turning the job 'done'.
 */
export async function failImportJob(db: D1Database, id: string, failure: string, s: Pick<ImportSummary, 'rowsTotal' | 'rejected' | 'errors'>) {
  await db
    .prepare(`UPDATE import_jobs SET status = 'failed', failure = ?2, updated_at = ?3, rows_total = ?4, rejected = ?5, errors = ?6 WHERE id = ?1`)
    .bind(id, failure, nowIso(), s.rowsTotal, s.rejected, JSON.stringify(s.errors))
    .run();
}

export async function getImportJob(db: D1Database, id: string): Promise<ImportJobRow | null> {
  return db.prepare('SELECT * FROM import_jobs WHERE id = ?').bind(id).first<ImportJobRow>();
}
