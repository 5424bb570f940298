/**
 * crm_write_inflight: batches sent to a CRM whose outcome D1 has not recorded yet (see migrations/0006). All SQL for
 * the table lives here; the write stage decides what to do with a record in doubt.
 */
import type { CrmKind, WriteObject } from '../crm/types';

/** CRM ids of `object` whose last write may or may not have landed. */
export async function idsInDoubt(db: D1Database, crm: CrmKind, object: WriteObject): Promise<Set<string>> {
  const { results } = await db.prepare('SELECT ids FROM crm_write_inflight WHERE crm = ? AND object = ?').bind(crm, object).all<{ ids: string }>();
  return new Set(results.flatMap((r) => JSON.parse(r.ids) as string[]));
}

/** Records a batch as in flight; committed before the CRM call, so a crash after it leaves the batch in doubt. */
export async function markInflight(db: D1Database, crm: CrmKind, object: WriteObject, runId: string, ids: string[], now: string): Promise<number> {
  const row = await db
    .prepare('INSERT INTO crm_write_inflight (crm, object, run_id, ids, since) VALUES (?, ?, ?, ?, ?) RETURNING id')
    .bind(crm, object, runId, JSON.stringify(ids), now)
    .first<{ id: number }>();
  if (!row) throw new Error('crm_write_inflight insert returned no id');
  return row.id;
}

/**
 * Statements (for the transaction that records the CRM's answer) that take `settled` ids out of doubt: from every
 * inflight row of this object (an earlier batch that died may name them too), dropping rows left empty.
 */
export function settleInflight(db: D1Database, crm: CrmKind, object: WriteObject, settled: string[]): D1PreparedStatement[] {
  if (settled.length === 0) return [];
  return [
    db.prepare(
      `UPDATE crm_write_inflight
          SET ids = (SELECT json_group_array(a.value) FROM json_each(crm_write_inflight.ids) a WHERE a.value NOT IN (SELECT value FROM json_each(?3)))
        WHERE crm = ?1 AND object = ?2`,
    ).bind(crm, object, JSON.stringify(settled)),
    db.prepare("DELETE FROM crm_write_inflight WHERE crm = ?1 AND object = ?2 AND ids = '[]'").bind(crm, object),
  ];
}
