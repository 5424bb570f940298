import { Hono } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { connectedCrms } from '../../env';
import { countDirty, getRun, listRuns, type RunRow } from '../../store/sync';
import { startRun, startedRunJson } from '../../sync/runner';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';
import { parseQuery } from '../validate';

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

sync.get('/runs/:id', requireScope('read'), async (c) => {
  const run = await getRun(c.env.DB, c.req.param('id'));
  if (!run) throw new ApiError(404, 'not_found', `no sync run ${c.req.param('id')}`);
  const [remaining, writes] = await Promise.all([
    run.status === 'running' ? countDirty(c.env.DB, run.crm) : Promise.resolve({}),
    c.env.DB.prepare(
      `SELECT object, crm_id, fields, old, status, error FROM sync_writes WHERE run_id = ? ORDER BY object, crm_id LIMIT 500`,
    ).bind(run.id).all<{ object: string; crm_id: string; fields: string; old: string; status: string; error: string | null }>(),
  ]);
  const byStatus = await c.env.DB.prepare('SELECT status, count(*) AS n FROM sync_writes WHERE run_id = ? GROUP BY status')
    .bind(run.id).all<{ status: string; n: number }>();
  return c.json({
    ...runView(run),
    progress: { remaining },
    writes: {
      by_status: Object.fromEntries(byStatus.results.map((r) => [r.status, r.n])),
      // For a dry run this is the plan: what would be written, field by field, old → new.
      records: writes.results.map((w) => ({ ...w, fields: JSON.parse(w.fields), old: JSON.parse(w.old) })),
    },
  });
});
