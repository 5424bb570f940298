import { Hono } from 'hono';
import * as z from 'zod';
import { requireScope } from '../../auth/tokens';
import { newId, nowIso } from '../../ids';
import { csvMappingSchema } from '../../imports/mapping';
import { emptySummary, importCsv, importNdjson } from '../../imports/run';
import { createImportJob, failImportJob, finishImportUpload, getImportJob } from '../../store/imports';
import { requireMediaType } from '../body';
import { ApiError, invalid } from '../errors';
import type { AppEnv } from '../types';
import type { Logger } from '../../log';
import type { ImportSummary } from '../../imports/run';
import { parseQuery } from '../validate';
import { byPrincipal, rateLimit } from '../ratelimit';

export const imports = new Hono<AppEnv>();

const importQuery = z.object({
  mapping: z.string().optional(),
  filename: z.string().max(256).optional(),
});

function parseMapping(text: string | undefined) {
  if (!text) throw new ApiError(400, 'invalid_request', 'a CSV upload needs a column mapping', [{ path: 'query.mapping', message: 'required for text/csv' }]);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, 'invalid_request', 'mapping is not valid JSON', [{ path: 'query.mapping', message: (e as Error).message }]);
  }
  const parsed = csvMappingSchema.safeParse(json);
  if (!parsed.success) throw invalid(parsed.error, 'mapping is invalid', 'query.mapping');
  return parsed.data;
}

function jobView(job: NonNullable<Awaited<ReturnType<typeof getImportJob>>>) {
  return {
    id: job.id,
    format: job.format,
    status: job.status,
    filename: job.filename,
    rows_total: job.rows_total,
    accepted: job.accepted,
    duplicate: job.duplicate,
    rejected: job.rejected,
    errors: JSON.parse(job.errors) as unknown[],
    failure: job.failure,
    created_at: job.created_at,
    updated_at: job.updated_at,
  };
}

/**
 * Streams a CSV (with a column mapping) or NDJSON upload into the activities queue. The response comes when the
 * whole upload has been read: row counts and rejections are final then; accepted/duplicate fill in as chunks commit.
 */
imports.post('/', requireScope('ingest'), rateLimit(byPrincipal), async (c) => {
  const type = requireMediaType(c, 'text/csv', 'application/x-ndjson', 'application/ndjson');
  const q = parseQuery(c, importQuery);
  const format = type === 'text/csv' ? 'csv' : 'ndjson';
  const mapping = format === 'csv' ? parseMapping(q.mapping) : undefined;
  const config = c.get('config');
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > config.MAX_IMPORT_BYTES) {
    throw new ApiError(413, 'payload_too_large', `import exceeds ${config.MAX_IMPORT_BYTES} bytes`);
  }
  const body = c.req.raw.body;
  if (!body) throw new ApiError(400, 'invalid_request', 'the upload is empty');
  const jobId = newId('imp');
  let started = false;
  const target = {
    queue: c.env.ACTIVITIES,
    jobId,
    receivedAt: nowIso(),
    maxBytes: config.MAX_IMPORT_BYTES,
    onStart: async () => {
      await createImportJob(c.env.DB, { id: jobId, format, filename: q.filename ?? null, mapping, createdBy: c.get('principal')!.id });
      started = true;
    },
  };
  const summary = emptySummary();
  try {
    if (format === 'csv') await importCsv(body, mapping!, target, summary);
    else await importNdjson(body, target, summary);
  } catch (e) {
    if (!started) throw e;
    throw await brokenOff(c.env.DB, jobId, summary, e, c.get('log'));
  }
  await finishImportUpload(c.env.DB, jobId, summary);
  c.get('log').info('import received', { job: jobId, rows: summary.rowsTotal, rejected: summary.rejected, chunks: summary.chunks });
  const job = await getImportJob(c.env.DB, jobId);
  return c.json(jobView(job!), 202);
});

/**
 * An upload that broke off after chunks were enqueued (too large, the queue refused, the connection dropped): the rows
 * the queue took are stored (each is valid on its own), so the answer names the job and where the upload stopped.
 * Sending the whole file again is safe: rows already stored count as duplicates.
 */
async function brokenOff(db: D1Database, jobId: string, summary: ImportSummary, e: unknown, log: Logger): Promise<ApiError> {
  const cause = e instanceof Error ? e.message : 'upload failed';
  const where = `the upload broke off after line ${summary.lastRow}: ${cause}. The ${summary.rowsSent} rows sent before that are being stored`;
  await failImportJob(db, jobId, where, summary);
  if (!(e instanceof ApiError)) log.error('import broke off', { job: jobId, error: e });
  const status = e instanceof ApiError ? e.status : 503;
  const code = e instanceof ApiError ? e.code : 'temporarily_unavailable';
  return new ApiError(status, code, `${where} (import ${jobId}); send the file again: rows already stored count as duplicates`,
    e instanceof ApiError ? e.issues : [], { import: { id: jobId, status: 'failed', rows_sent: summary.rowsSent, last_row: summary.lastRow } });
}

imports.get('/:id', requireScope('read'), async (c) => {
  const job = await getImportJob(c.env.DB, c.req.param('id'));
  if (!job) throw new ApiError(404, 'not_found', `no import ${c.req.param('id')}`);
  return c.json(jobView(job));
});
