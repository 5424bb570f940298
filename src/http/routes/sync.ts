import { Hono } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { connectedCrms } from '../../env';
import { countDirty, getRun, listRuns, type RunRow } from '../../store/sync';
import { countWritesByStatus, decodeWritesCursor, listSyncWrites, PLAN_COLUMNS, planRows, WRITE_OBJECTS, WRITE_STATUSES } from '../../store/sync-writes';
import { startRun, startedRunJson } from '../../sync/runner';
import { csvResponse, wantsCsv } from '../csv';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';
import { cursorParam, parseQuery } from '../validate';

export const sync = new Hono<AppEnv>();

const flag = z.enum(['0', '1', 'true', 'false']).optional().transform((v) => v === '1' || v === 'true');
const startQuery = z.object({ dryRun: flag, full: flag, crm: z.enum(['hubspot', 'salesforce']).optional() });

export function runView(run: RunRow) {
  const started = run.started_at ? Date.parse(run.started_at) : null;
  const ended = run.finished_at ? Date.parse(run.finished_at) : Date.now();
  return {
    id: run.id,
    crm: run.crm,
    trigger: run.trigger,
    dry_run: run.dry_run === 1,
    full: run.full === 1,
    status: run.status,
    stage: run.stage,
    steps: run.step,
    counts: JSON.parse(run.counts) as Record<string, number>,
    errors: JSON.parse(run.errors) as unknown[],
    reason: run.reason,
    created_at: run.created_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    duration_ms: started === null ? null : ended - started,
  };
}

/** Starts a run per connected CRM (or the one named). A CRM already running answers with that run instead. */
sync.post('/', requireScope('admin'), async (c) => {
  const q = parseQuery(c, startQuery);
  const crms = connectedCrms(c.get('config')).filter((crm) => !q.crm || crm === q.crm);
  if (!crms.length) {
    throw new ApiError(409, 'no_crm', q.crm ? `${q.crm} is not configured` : 'no CRM is configured (set HUBSPOT_ACCESS_TOKEN or the SALESFORCE_* settings)');
  }
  const runs = await Promise.all(crms.map(async (crm) => ({ crm, ...(await startRun(c.env, crm, { trigger: 'api', dryRun: q.dryRun, full: q.full })) })));
  return c.json({ runs: runs.map(startedRunJson) }, 202);
});

const listQuery = z.object({
  crm: z.enum(['hubspot', 'salesforce']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.iso.datetime().optional(),
});

sync.get('/runs', requireScope('read'), async (c) => {
  const q = parseQuery(c, listQuery);
  const runs = await listRuns(c.env.DB, { crm: q.crm ?? null, limit: q.limit, before: q.before ?? null });
  return c.json({ data: runs.map(runView), next_before: runs.length === q.limit ? runs[runs.length - 1]!.created_at : null });
});

/** The run's records shown with it; the rest are paged through /runs/:id/writes (`writes.next_cursor`). */
const RUN_VIEW_RECORDS = 500;

async function runOr404(db: D1Database, id: string): Promise<RunRow> {
  const run = await getRun(db, id);
  if (!run) throw new ApiError(404, 'not_found', `no sync run ${id}`);
  return run;
}

sync.get('/runs/:id', requireScope('read'), async (c) => {
  const run = await runOr404(c.env.DB, c.req.param('id'));
  const [remaining, page, byStatus] = await Promise.all([
    run.status === 'running' ? countDirty(c.env.DB, run.crm) : Promise.resolve({}),
    listSyncWrites(c.env.DB, run.id, { limit: RUN_VIEW_RECORDS }),
    countWritesByStatus(c.env.DB, run.id),
  ]);
  return c.json({
    ...runView(run),
    progress: { remaining },
    writes: {
      by_status: byStatus,
      // For a dry run this is the plan: what would be written, field by field, old → new.
      records: page.records,
      next_cursor: page.next_cursor,
      all_url: `/v1/sync/runs/${encodeURIComponent(run.id)}/writes`,
    },
  });
});

const cursorSchema = cursorParam(decodeWritesCursor);

const writesQuery = z.object({
  status: z.enum(WRITE_STATUSES).optional(),
  object: z.enum(WRITE_OBJECTS).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  cursor: cursorSchema.optional(),
  format: z.enum(['json', 'csv']).optional(),
});

/** Every write of a run (a dry run's whole plan), a keyset page at a time; JSON, or CSV for a spreadsheet. */
sync.get('/runs/:id/writes', requireScope('read'), async (c) => {
  const q = parseQuery(c, writesQuery);
  const run = await runOr404(c.env.DB, c.req.param('id'));
  const page = await listSyncWrites(c.env.DB, run.id, { limit: q.limit, status: q.status ?? null, object: q.object ?? null, after: q.cursor ?? null });
  if (wantsCsv(c, q.format)) {
    // A CSV body has nowhere to carry the cursor.
    if (page.next_cursor) c.header('x-next-cursor', page.next_cursor);
    return csvResponse(c, `sync-writes-${run.id.replace(/[^A-Za-z0-9_.-]/g, '_')}.csv`, PLAN_COLUMNS, planRows(page.records));
  }
  return c.json({ data: page.records, next_cursor: page.next_cursor });
});
