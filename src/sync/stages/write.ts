import * as z from 'zod';
import { CrmStopError, type FieldValue, type RecordFailure, type RecordWrite, type WriteObject, type WriteResult } from '../../crm/types';
import { settleByReadBack } from '../../crm/reconcile';
import { idsInDoubt, markInflight, settleInflight } from '../../store/inflight';
import type { RunContext, StepResult } from '../context';
import { addCounts, type Counts } from '../context';

const CHUNK = 200;

/** A per-record failure that says the CRM did not apply the write (unlike IN_DOUBT, or no answer for the record). */
const isRefusal = (f: RecordFailure | undefined) => f !== undefined && f.code !== 'IN_DOUBT';

/** Of `writes`, the records in doubt that the CRM already holds with exactly these values (read back in one go). */
async function landedEarlier(ctx: RunContext, object: WriteObject, writes: RecordWrite[]): Promise<Set<string>> {
  const doubt = await idsInDoubt(ctx.db, ctx.crm, object);
  const check = writes.filter((w) => doubt.has(w.crmId) && Object.keys(w.fields).length);
  if (!check.length) return new Set();
  const fields = [...new Set(check.flatMap((w) => Object.keys(w.fields)))];
  const { records } = await ctx.connector().readFields(object, check.map((w) => w.crmId), fields);
  return new Set(settleByReadBack(check, records).landed.map((w) => w.crmId));
}

export const writeCheckpointSchema = z.object({
  provisioned: z.boolean().default(false),
  /** Fields the CRM lacks (provision: false): planned but never sent. */
  skipped: z.array(z.string()).default([]),
});

interface PendingRow {
  object: WriteObject;
  crm_id: string;
  fields: string;
  old: string;
}

/**
 * Sends the planned writes in CRM-sized batches. Each batch is marked in flight in D1 before it goes out, and its
 * outcome (last-written values, audit rows, statuses, out of flight) is committed in one D1 transaction right after the
 * CRM answers, so a resumed run sends only what is still pending, and reads back whatever it cannot know landed.
 */
export async function writeStep(ctx: RunContext, checkpoint: unknown): Promise<StepResult> {
  const cp = writeCheckpointSchema.parse(checkpoint ?? {});
  const { db, crm, run } = ctx;
  if (run.dry_run || !ctx.config.SYNC_WRITES_ENABLED) {
    const planned = await db.prepare('SELECT count(*) AS n FROM sync_writes WHERE run_id = ?').bind(run.id).first<{ n: number }>();
    return { stage: 'finish', checkpoint: {}, counts: { writes_not_sent: planned?.n ?? 0 }, errors: [] };
  }
  // Existence, not a count: counting re-reads every pending row of a large run on each invocation.
  const anyPending = await db.prepare("SELECT 1 AS one FROM sync_writes WHERE run_id = ? AND status = 'pending' LIMIT 1").bind(run.id).first<{ one: number }>();
  if (!anyPending) return { stage: 'finish', checkpoint: {}, counts: {}, errors: [] };
  const connector = ctx.connector();
  let counts: Counts = {};
  const errors: unknown[] = [];
  const mapping = ctx.active.mappings[crm];
  if (!cp.provisioned && mapping) {
    const before = connector.calls;
    const report = await connector.provision(mapping, { dryRun: false });
    counts = addCounts(counts, { crm_calls: connector.calls - before, properties_created: report.created.length });
    if (report.wrongType.length) {
      const names = report.wrongType.map((w) => `${w.object}.${w.name} is ${w.actual}, mapping says ${w.expected}`).join('; ');
      return { stage: 'write', checkpoint: cp, counts, errors, stop: { status: 'failed', reason: `field mapping does not match the CRM, nothing written: ${names}` } };
    }
    // By object and name: a field missing on one object (Account) may exist under the same name on another.
    cp.skipped = report.missing.map((m) => `${m.object}:${m.name}`);
    cp.provisioned = true;
    if (report.missing.length) {
      errors.push({ code: 'missing_fields', message: `not in the CRM and provision is off: ${report.missing.map((m) => `${m.object}.${m.name} (${m.type})`).join(', ')}` });
    }
  }
  const skipped = new Set(cp.skipped);
  while (!ctx.spent()) {
    const { results } = await db
      .prepare("SELECT object, crm_id, fields, old FROM sync_writes INDEXED BY sync_writes_pending WHERE run_id = ? AND status = 'pending' ORDER BY object, crm_id LIMIT ?")
      .bind(run.id, CHUNK)
      .all<PendingRow>();
    if (!results.length) return { stage: 'finish', checkpoint: cp, counts, errors };
    // One object type per call: CRM ids are only unique within an object type.
    const object = results[0]!.object;
    results.splice(0, results.length, ...results.filter((r) => r.object === object));
    const writes: RecordWrite[] = results.map((r) => {
      const fields = JSON.parse(r.fields) as Record<string, FieldValue>;
      for (const name of Object.keys(fields)) {
        // A bare name is a checkpoint written before skips were per object: it applied to every object then.
        if (skipped.has(`${r.object}:${name}`) || skipped.has(name)) delete fields[name];
      }
      return { object: r.object, crmId: r.crm_id, fields };
    });
    const before = connector.calls;
    // Records a dead invocation (or a lost, unsettled answer) may already have written are read back first: those
    // holding the planned values are recorded as written, not sent again. A failing read throws: nothing is sent.
    const landed = await landedEarlier(ctx, object, writes);
    const toSend = writes.filter((w) => Object.keys(w.fields).length && !landed.has(w.crmId));
    if (toSend.length) await markInflight(db, crm, object, run.id, toSend.map((w) => w.crmId), new Date().toISOString());
    let result: WriteResult;
    let stopped: CrmStopError | null = null;
    try {
      result = toSend.length ? await connector.write(toSend) : { written: [], failed: [], calls: 0 };
    } catch (error) {
      if (!(error instanceof CrmStopError)) throw error;
      // A stop (daily limit, request limit) part-way: what the CRM already took is recorded below, so the next run
      // does not send it again; the rest stays pending and is planned again (and stays in doubt until read back).
      stopped = error;
      const partial = (error as { partial?: WriteResult }).partial;
      result = { written: partial?.written ?? [], failed: [], calls: partial?.calls ?? 0 };
      const taken = new Set([...result.written, ...landed]);
      for (let i = results.length - 1; i >= 0; i--) {
        if (!taken.has(results[i]!.crm_id)) {
          results.splice(i, 1);
          writes.splice(i, 1);
        }
      }
    }
    result.written.push(...landed);
    const byId = new Map(results.map((r, i) => [`${r.object}:${r.crm_id}`, { row: r, write: writes[i]! }]));
    const written = new Set(result.written);
    const failedIds = new Map(result.failed.map((f) => [f.crmId, f]));
    const now = new Date().toISOString();
    const writtenRows: { object: string; crm_id: string; field: string; value: string; old: string | null }[] = [];
    const statuses: { object: string; crm_id: string; status: string; error: string | null }[] = [];
    for (const { row, write } of byId.values()) {
      if (!Object.keys(write.fields).length) {
        // Every field of this record is missing in the CRM (provision: false): reported once above, not retried.
        statuses.push({ object: row.object, crm_id: row.crm_id, status: 'skipped', error: 'all fields missing in the CRM' });
        continue;
      }
      const failure = failedIds.get(row.crm_id);
      if (failure?.gone) {
        // Deleted, merged away or a converted Lead: it can never take the write, so it is not planned again.
        statuses.push({ object: row.object, crm_id: row.crm_id, status: 'skipped', error: `gone from the CRM: ${failure.code}: ${failure.message}` });
        continue;
      }
      if (failure || !written.has(row.crm_id)) {
        const message = failure ? `${failure.code}: ${failure.message}` : 'the CRM did not confirm this record';
        statuses.push({ object: row.object, crm_id: row.crm_id, status: 'failed', error: message });
        errors.push({ object: row.object, crm_id: row.crm_id, code: failure?.code ?? 'unconfirmed', message: failure?.message ?? message, retryable: failure?.retryable ?? true });
        continue;
      }
      const old = JSON.parse(row.old) as Record<string, FieldValue | undefined>;
      for (const [field, value] of Object.entries(write.fields)) {
        writtenRows.push({ object: row.object, crm_id: row.crm_id, field, value: JSON.stringify(value), old: old[field] === undefined ? null : JSON.stringify(old[field]) });
      }
      statuses.push({ object: row.object, crm_id: row.crm_id, status: 'written', error: null });
    }
    await db.batch([
      db.prepare(
        `INSERT INTO crm_written (crm, object, crm_id, field, value, run_id, written_at)
         SELECT ?1, value ->> 'object', value ->> 'crm_id', value ->> 'field', value ->> 'value', ?2, ?3 FROM json_each(?4) WHERE true
         ON CONFLICT (crm, object, crm_id, field) DO UPDATE SET value = excluded.value, run_id = excluded.run_id, written_at = excluded.written_at`,
      ).bind(crm, run.id, now, JSON.stringify(writtenRows)),
      db.prepare(
        `INSERT INTO audit_log (at, actor, action, crm, object, crm_id, field, old_value, new_value, run_id)
         SELECT ?3, 'sync', 'crm.write', ?1, value ->> 'object', value ->> 'crm_id', value ->> 'field', value ->> 'old', value ->> 'value', ?2
           FROM json_each(?4) WHERE true`,
      ).bind(crm, run.id, now, JSON.stringify(writtenRows)),
      // One keyed UPDATE per outcome (primary-key lookups of this batch's rows): a correlated json_each lookup per
      // row read the whole batch for each row, 100× the rows it updates.
      ...outcomeGroups(statuses).map((g) =>
        db.prepare('UPDATE sync_writes SET status = ?3, error = ?4 WHERE run_id = ?1 AND object = ?2 AND crm_id IN (SELECT value FROM json_each(?5))')
          .bind(run.id, object, g.status, g.error, JSON.stringify(g.ids))),
      // Out of doubt: what the CRM confirmed, and what it definitely refused. Records whose outcome is still unknown
      // (IN_DOUBT) stay in their inflight row and are read back before the next attempt.
      ...settleInflight(db, crm, object, statuses.filter((s) => s.status !== 'failed' || isRefusal(failedIds.get(s.crm_id))).map((s) => s.crm_id)),
    ]);
    counts = addCounts(counts, {
      crm_calls: connector.calls - before,
      records_written: statuses.filter((s) => s.status === 'written').length,
      records_failed: statuses.filter((s) => s.status === 'failed').length,
      records_skipped: statuses.filter((s) => s.status === 'skipped').length,
      fields_written: writtenRows.length,
      records_settled: landed.size + (result.settled ?? 0),
    });
    if (stopped) return { stage: 'write', checkpoint: cp, counts, errors, stop: { status: 'stopped', reason: stopped.message } };
  }
  return { stage: 'write', checkpoint: cp, counts, errors };
}

/** Statuses grouped by (status, error): written and skipped rows share one group each; failures mostly differ. */
function outcomeGroups(statuses: { crm_id: string; status: string; error: string | null }[]) {
  const groups = new Map<string, { status: string; error: string | null; ids: string[] }>();
  for (const s of statuses) {
    const key = JSON.stringify([s.status, s.error]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { status: s.status, error: s.error, ids: [] }));
    g.ids.push(s.crm_id);
  }
  return [...groups.values()];
}
