import type { FieldValue, WriteObject } from '../crm/types';
import { decodeCursor, encodeCursor } from './cursor';

export const WRITE_OBJECTS = ['deal', 'contact', 'company'] as const satisfies readonly WriteObject[];
/** skipped: every field of the record is missing in the CRM (provision: false), so it was never sent. */
export const WRITE_STATUSES = ['pending', 'written', 'failed', 'skipped'] as const;
export type WriteStatus = (typeof WRITE_STATUSES)[number];

/** One record's planned write in a run: for a dry run, a line of the plan (fields new, `old` as last written). */
export interface WriteRecord {
  object: WriteObject;
  crm_id: string;
  status: WriteStatus;
  error: string | null;
  fields: Record<string, FieldValue>;
  /** A field missing here was never written by us. */
  old: Record<string, FieldValue>;
}

export type WritesAfter = { object: WriteObject; crmId: string };

/** Keyset cursor of a run's writes: the last record's (object, crm_id). */
export const writesCursor = (r: Pick<WriteRecord, 'object' | 'crm_id'>): string => encodeCursor([r.object, r.crm_id]);

/** The position a cursor from `writesCursor` names, or null for anything else. */
export function decodeWritesCursor(raw: string): WritesAfter | null {
  const v = decodeCursor(raw);
  return Array.isArray(v) && v.length === 2 && WRITE_OBJECTS.includes(v[0]) && typeof v[1] === 'string' ? { object: v[0] as WriteObject, crmId: v[1] } : null;
}

type Row = Omit<WriteRecord, 'fields' | 'old'> & { fields: string; old: string };

/**
 * A run's writes in (object, crm_id) order, a page at a time: keyset on the primary key, or on sync_writes_pending
 * (run_id, status, object, crm_id) for one status, so a page reads its own rows however deep it is (a first sync
 * plans hundreds of thousands). One row past the page says whether there is a next.
 */
export async function listSyncWrites(
  db: D1Database,
  runId: string,
  opts: { limit: number; status?: WriteStatus | null; object?: WriteObject | null; after?: WritesAfter | null },
): Promise<{ records: WriteRecord[]; next_cursor: string | null }> {
  const binds: unknown[] = [runId];
  const param = (v: unknown) => `?${binds.push(v)}`;
  const where = ['run_id = ?1'];
  if (opts.status) where.push(`status = ${param(opts.status)}`);
  const after = opts.after ?? null;
  if (opts.object) {
    // With the object fixed, a bound on crm_id alone: SQLite does not range-search (object, crm_id) > (…) after
    // object = ?, it would read the object's rows from the start.
    where.push(`object = ${param(opts.object)}`);
    if (after && after.object > opts.object) return { records: [], next_cursor: null };
    if (after?.object === opts.object) where.push(`crm_id > ${param(after.crmId)}`);
  } else if (after) {
    where.push(`(object, crm_id) > (${param(after.object)}, ${param(after.crmId)})`);
  }
  // The planner takes the primary key for a status filter too (same order), then reads every row of the run.
  const from = opts.status ? 'sync_writes INDEXED BY sync_writes_pending' : 'sync_writes';
  const { results } = await db
    .prepare(`SELECT object, crm_id, status, error, fields, old FROM ${from} WHERE ${where.join(' AND ')} ORDER BY object, crm_id LIMIT ${param(opts.limit + 1)}`)
    .bind(...binds)
    .all<Row>();
  const page = results.slice(0, opts.limit);
  return {
    records: page.map((r) => ({ ...r, fields: JSON.parse(r.fields) as WriteRecord['fields'], old: JSON.parse(r.old) as WriteRecord['old'] })),
    next_cursor: results.length > opts.limit ? writesCursor(page[page.length - 1]!) : null,
  };
}

/** How many of a run's writes are in each status (from the (run_id, status, …) index alone). */
export async function countWritesByStatus(db: D1Database, runId: string): Promise<Record<string, number>> {
  const { results } = await db.prepare('SELECT status, count(*) AS n FROM sync_writes WHERE run_id = ? GROUP BY status')
    .bind(runId).all<{ status: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

export const PLAN_COLUMNS = ['object', 'crm_id', 'field', 'old', 'new', 'status', 'error'] as const;

/** The diff sheet: a line per record and field, old → new (old empty when we never wrote the field). */
export function planRows(records: readonly WriteRecord[]): unknown[][] {
  return records.flatMap((r) =>
    Object.entries(r.fields).map(([field, value]) => [r.object, r.crm_id, field, r.old[field], value, r.status, r.error]));
}
