/**
 * Bulk API 2.0 query jobs for initial loads: create the job, poll until JobComplete, then read the CSV results page by
 * page, each page pointing at the next through the Sforce-Locator header ('null' on the last). Every step is one
 * retried, timed-out call through the session, so a resumed run can pick up at the job and locator in its cursor.
 */
import * as z from 'zod';
import type { SalesforceSession } from './session';
import { isoFromSalesforce } from './soql';
import { bulkJobInfo, csvRow } from './wire';

export interface BulkPollOptions {
  pollMs: number;
  /** Polls per pull() call; if the job is still running the caller returns an empty page and polls again next time. */
  maxPolls: number;
  sleep: (ms: number) => Promise<void>;
}

/** The job and when Salesforce created it (epoch ms, its own clock: the one SystemModstamp is on). */
export async function createQueryJob(session: SalesforceSession, soql: string): Promise<{ id: string; createdMs: number }> {
  const requestedAt = Date.now();
  const job = await session.request(bulkJobInfo, {
    method: 'POST',
    url: `${session.dataPath}/jobs/query`,
    body: { operation: 'query', query: soql, contentType: 'CSV', columnDelimiter: 'COMMA', lineEnding: 'LF' },
  });
  return { id: job.id, createdMs: createdMsOf(job.createdDate) ?? requestedAt };
}

/** A job's creation time, for Bulk cursors stored before they carried it. */
export async function jobCreatedMs(session: SalesforceSession, jobId: string): Promise<number | null> {
  const info = await session.request(bulkJobInfo, { method: 'GET', url: `${session.dataPath}/jobs/query/${jobId}` });
  return createdMsOf(info.createdDate);
}

function createdMsOf(stamp: string | undefined): number | null {
  if (!stamp) return null;
  try {
    return Date.parse(isoFromSalesforce(stamp));
  } catch {
    return null;
  }
}

/** True when the job completed, false when it is still running after maxPolls; throws when it failed or was aborted. */
export async function waitForJob(session: SalesforceSession, jobId: string, opts: BulkPollOptions): Promise<boolean> {
  for (let poll = 0; poll < opts.maxPolls; poll++) {
    const info = await session.request(bulkJobInfo, { method: 'GET', url: `${session.dataPath}/jobs/query/${jobId}` });
    if (info.state === 'JobComplete') return true;
    if (info.state === 'Failed' || info.state === 'Aborted') {
      throw new Error(`Bulk API 2.0 query job ${jobId} ${info.state.toLowerCase()}: ${info.errorMessage ?? 'no message'}`);
    }
    if (poll + 1 < opts.maxPolls) await opts.sleep(opts.pollMs);
  }
  return false;
}

export interface BulkPage {
  rows: Record<string, string>[];
  /** Locator of the next page, null after the last. */
  next: string | null;
}

export async function readResults(session: SalesforceSession, jobId: string, locator: string | null, maxRecords: number): Promise<BulkPage> {
  const params = new URLSearchParams({ maxRecords: String(maxRecords) });
  if (locator) params.set('locator', locator);
  const url = `${session.dataPath}/jobs/query/${jobId}/results?${params.toString()}`;
  // jsforce parses text/csv bodies into row objects itself; the locator only exists as a response header.
  const raw = await session.call((conn) => conn.request<unknown>({ method: 'GET', url, headers: { accept: 'text/csv' } }, { retry: { maxRetries: 0 } }));
  const rows = z.array(csvRow).parse(Array.isArray(raw) ? raw : []);
  const header = session.headersOf(url)?.['sforce-locator'];
  return { rows, next: header && header !== 'null' ? header : null };
}
