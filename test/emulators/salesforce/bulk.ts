/**
 * Bulk API 2.0 query jobs: create (the result set is fixed at creation), poll (first poll says InProgress, so clients
 * really poll), and read results as CSV pages chained by the Sforce-Locator header ('null' on the last page).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { KEY_PREFIX } from './ids';
import { type EmuEnv, sfError } from './http';
import { isSObjectName } from './schema';
import { SoqlError, type Literal } from './soql';
import type { BulkJob, SalesforceState } from './state';

const createJob = z.object({
  operation: z.enum(['query', 'queryAll']),
  query: z.string(),
  contentType: z.literal('CSV').optional(),
  columnDelimiter: z.literal('COMMA').optional(),
  lineEnding: z.literal('LF').optional(),
});

function csvCell(v: Literal): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function bulkRoutes(state: SalesforceState) {
  const app = new Hono<EmuEnv>().basePath('/services/data/:version/jobs/query');

  const info = (job: BulkJob, version: string) => ({
    id: job.id,
    operation: 'query',
    object: job.object,
    createdById: state.userId,
    createdDate: job.createdDate,
    systemModstamp: job.createdDate,
    state: job.polls === 0 ? 'UploadComplete' : job.polls === 1 ? 'InProgress' : 'JobComplete',
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: Number(version.slice(1)),
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    ...(job.polls > 1 ? { numberRecordsProcessed: job.rows.length, retries: 0, totalProcessingTime: 100 } : {}),
  });

  app.post('/', async (c) => {
    const body = createJob.safeParse(await c.req.json().catch(() => null));
    if (!body.success) return sfError(c, 400, 'INVALIDJOB', `Invalid job: ${body.error.message}`);
    try {
      const q = state.parse(body.data.query);
      if (q.select === 'count') return sfError(c, 400, 'INVALIDJOB', 'Aggregate queries are not supported by Bulk API 2.0');
      const job: BulkJob = {
        id: state.nextId(KEY_PREFIX.BulkJob),
        object: q.object,
        query: body.data.query,
        rows: state.run(q),
        select: q.select,
        polls: 0,
        createdDate: new Date().toISOString().replace('Z', '+0000'),
      };
      state.bulkJobs.set(job.id, job);
      const out = info(job, c.req.param('version'));
      job.polls = 1;
      return c.json(out);
    } catch (e) {
      if (e instanceof SoqlError) return sfError(c, 400, 'INVALIDJOB', `${e.errorCode}: ${e.message}`);
      throw e;
    }
  });

  app.get('/:jobId', (c) => {
    const job = state.bulkJobs.get(c.req.param('jobId'));
    if (!job) return sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
    const out = info(job, c.req.param('version'));
    job.polls++;
    return c.json(out);
  });

  app.get('/:jobId/results', (c) => {
    const job = state.bulkJobs.get(c.req.param('jobId'));
    if (!job) return sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
    if (job.polls <= 2) return sfError(c, 400, 'INVALIDJOB', `Job ${job.id} is not complete yet`);
    const offset = Number(c.req.query('locator') ? Buffer.from(c.req.query('locator')!, 'base64url').toString() : '0');
    const max = Math.max(1, Number(c.req.query('maxRecords') ?? 50_000));
    const rows = job.rows.slice(offset, offset + max);
    const next = offset + rows.length;
    const types = isSObjectName(job.object) ? state.fieldTypes(job.object) : new Map<string, string>();
    const lines = [job.select.map((f) => `"${f}"`).join(',')];
    for (const r of rows) {
      lines.push(job.select.map((f) => {
        const v = r[f] ?? null;
        // Bulk CSV datetimes are UTC with a Z suffix (REST JSON uses +0000).
        return csvCell(types.get(f) === 'datetime' && typeof v === 'string' ? new Date(v).toISOString() : v);
      }).join(','));
    }
    c.header('Sforce-Locator', next >= job.rows.length ? 'null' : Buffer.from(String(next)).toString('base64url'));
    c.header('Sforce-NumberOfRecords', String(rows.length));
    c.header('Content-Type', 'text/csv');
    return c.body(`${lines.join('\n')}\n`);
  });

  return app;
}
