/**
 * Incremental pulls, one page per call, resumable from the cursor:
 *  - REST: SOQL ordered by (SystemModstamp, Id), then queryMore through nextRecordsUrl (kept as the cursor's pageToken).
 *    If a locator expired (INVALID_QUERY_LOCATOR) the query restarts after the cursor's (SystemModstamp, Id).
 *  - Bulk API 2.0 for initial loads above the threshold (decided by a COUNT() query): the pageToken is
 *    `bulk2:<jobId>:<createdMs>:<locator|pending>`. Bulk results are unordered, so the cursor keeps the running maximum
 *    (SystemModstamp, Id). They are no point-in-time snapshot either: a record read early may change while a later-read
 *    one carries a newer stamp. So the load ends with the cursor at min(maximum, job creation − margin), and the first
 *    incremental pull re-reads what changed during the job (the sync compares with its mirror, so that is harmless).
 */
import * as z from 'zod';
import type { CrmDealCompany, CrmDealContact, PullCursor, PullObject, PullPage, PullRecord } from '../types';
import { type BulkPollOptions, createQueryJob, jobCreatedMs, readResults, waitForJob } from './bulk';
import { PULL_SPECS } from './normalise';
import { salesforceErrorCode } from './retry';
import type { SalesforceSession } from './session';
import { countQuery, inChunks, incrementalQuery, inList, isoFromSalesforce } from './soql';
import { contactRoleRecord, csvToJson, type DescribeResult, opportunityAccount, queryResult, type QueryResult } from './wire';

export interface PullOptions {
  /** Initial loads with more records than this go through Bulk API 2.0. */
  bulkThreshold: number;
  /** Minimum records per Bulk results page (a larger pull pageSize wins). */
  bulkPageSize: number;
  poll: BulkPollOptions;
}

const START: PullCursor = { phase: 'initial', updatedAfter: null, lastId: null, pageToken: null };
/** `bulk2:<job>:<createdMs>:<position>`; tokens stored before the creation time was kept lack it. */
const BULK = /^bulk2:([0-9A-Za-z]{15,18}):(?:(\d{13}):)?([A-Za-z0-9_=+/-]+)$/;
/**
 * How far before a Bulk job's creation the following incremental pull starts: SystemModstamp is taken when a transaction
 * starts, so one still committing when the job began carries an earlier stamp (the same allowance as HubSpot's index lag).
 */
export const BULK_START_MARGIN_MS = 5_000;

type BulkJobRef = { id: string; createdMs: number | null };
const bulkToken = (job: BulkJobRef, position: string) => `bulk2:${job.id}:${job.createdMs === null ? '' : `${job.createdMs}:`}${position}`;

/**
 * Cursors come back from storage: check them. A pageToken is followed with the bearer token attached, so it must be a
 * relative queryMore path or one of our Bulk tokens, never an arbitrary URL.
 */
export const pullCursor = z.object({
  phase: z.enum(['initial', 'incremental']),
  updatedAfter: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a datetime').nullable(),
  lastId: z.string().regex(/^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$/).nullable(),
  pageToken: z.string().regex(/^(\/services\/data\/v\d+\.\d+\/query\/[0-9A-Za-z-]+|bulk2:[0-9A-Za-z]{15,18}:(\d{13}:)?[A-Za-z0-9_=+/-]+)$/).nullable(),
});

type Mark = { updatedAfter: string | null; lastId: string | null };

/** Is (stamp, id) after the mark? Stamps compare as instants, ids as strings (the order SOQL sorts them in). */
function after(stamp: string, id: string, mark: Mark): boolean {
  if (!mark.updatedAfter) return true;
  const a = Date.parse(stamp);
  const b = Date.parse(mark.updatedAfter);
  return a > b || (a === b && id > (mark.lastId ?? ''));
}

/** The mark, moved back to `ms` when it lies later: the next pull starts no later than that instant. */
function notAfter(mark: Mark, ms: number): Mark {
  if (!mark.updatedAfter || Date.parse(mark.updatedAfter) <= ms) return mark;
  return { updatedAfter: new Date(ms).toISOString(), lastId: null };
}

export class Puller {
  constructor(
    private readonly session: SalesforceSession,
    private readonly describe: (sobject: string) => Promise<DescribeResult>,
    private readonly opts: PullOptions,
  ) {}

  private async fieldsFor(object: PullObject): Promise<string[]> {
    const spec = PULL_SPECS[object];
    const multiCurrency = spec.sobject === 'Opportunity' ? (await this.describe('Opportunity')).fields.some((f) => f.name === 'CurrencyIsoCode') : false;
    return spec.fields(multiCurrency);
  }

  async query(soql: string, pageSize?: number): Promise<QueryResult> {
    return this.session.request(queryResult, {
      method: 'GET',
      url: `${this.session.dataPath}/query?${new URLSearchParams({ q: soql }).toString()}`,
      ...(pageSize ? { headers: { 'Sforce-Query-Options': `batchSize=${pageSize}` } } : {}),
    });
  }

  private queryMore(nextRecordsUrl: string): Promise<QueryResult> {
    return this.session.request(queryResult, { method: 'GET', url: nextRecordsUrl });
  }

  /** Every record of a query, following queryMore to the end. */
  async queryAll(soql: string): Promise<Record<string, unknown>[]> {
    let page = await this.query(soql);
    const records = [...page.records];
    while (!page.done && page.nextRecordsUrl) {
      page = await this.queryMore(page.nextRecordsUrl);
      records.push(...page.records);
    }
    return records;
  }

  /**
   * `pageSize` is a hint: REST pages are clamped to Salesforce's batchSize range (200–2,000), and Bulk pages are
   * max(pageSize, bulkPageSize) — small Bulk pages would spend an API call per handful of records.
   */
  async pull<O extends PullObject>(object: O, cursorIn: PullCursor | null, pageSize?: number): Promise<PullPage<PullRecord[O]>> {
    const calls0 = this.session.calls;
    const cursor: PullCursor = cursorIn ? pullCursor.parse(cursorIn) : START;
    const spec = PULL_SPECS[object];
    const fields = await this.fieldsFor(object);
    const bulk = cursor.pageToken ? BULK.exec(cursor.pageToken) : null;
    const bulkSize = Math.max(pageSize ?? 0, this.opts.bulkPageSize);
    if (bulk) {
      try {
        const job = { id: bulk[1]!, createdMs: bulk[2] ? Number(bulk[2]) : null };
        return await this.bulkPage(object, cursor, job, bulk[3]!, bulkSize, calls0);
      } catch (error) {
        // Bulk results expire (7 days) and jobs can be deleted. The running maximum of an unordered load is no place to
        // resume from, so the initial load starts over; re-reading records is harmless, skipping them is not.
        if (salesforceErrorCode(error) !== 'NOT_FOUND') throw error;
        const restarted = await this.pull(object, START, pageSize);
        return { ...restarted, calls: this.session.calls - calls0 };
      }
    }

    let page: QueryResult | null = null;
    if (cursor.pageToken) {
      try {
        page = await this.queryMore(cursor.pageToken);
      } catch (error) {
        if (salesforceErrorCode(error) !== 'INVALID_QUERY_LOCATOR') throw error;
      }
    }
    if (!page) {
      if (cursor.phase === 'initial' && !cursor.updatedAfter) {
        const count = await this.query(countQuery(spec.sobject, cursor));
        if (count.totalSize > this.opts.bulkThreshold) {
          const soql = `SELECT ${fields.join(', ')} FROM ${spec.sobject}`;
          const job = await createQueryJob(this.session, soql);
          return this.bulkPage(object, cursor, job, 'pending', bulkSize, calls0);
        }
      }
      page = await this.query(incrementalQuery(spec.sobject, fields, cursor), Math.max(200, Math.min(2000, pageSize ?? 2000)));
    }
    const records = page.records.map((r) => spec.parse(r));
    const last = page.records.at(-1);
    const done = page.done || !page.nextRecordsUrl;
    return {
      records,
      done,
      calls: this.session.calls - calls0,
      cursor: {
        phase: done ? 'incremental' : cursor.phase,
        updatedAfter: last ? isoFromSalesforce(String(last.SystemModstamp)) : cursor.updatedAfter,
        lastId: last ? String(last.Id) : cursor.lastId,
        pageToken: done ? null : (page.nextRecordsUrl ?? null),
      },
    };
  }

  private async bulkPage<O extends PullObject>(object: O, cursor: PullCursor, job: BulkJobRef, position: string, maxRecords: number, calls0: number): Promise<PullPage<PullRecord[O]>> {
    const spec = PULL_SPECS[object];
    if (position === 'pending') {
      const complete = await waitForJob(this.session, job.id, this.opts.poll);
      if (!complete) {
        return { records: [], done: false, calls: this.session.calls - calls0, cursor: { ...cursor, pageToken: bulkToken(job, 'pending') } };
      }
    }
    const types = new Map((await this.describe(spec.sobject)).fields.map((f) => [f.name, f.type]));
    const page = await readResults(this.session, job.id, position === 'pending' ? null : position, maxRecords);
    const mark: Mark = { updatedAfter: cursor.updatedAfter, lastId: cursor.lastId };
    const records = page.rows.map((row) => {
      const json = csvToJson(row, types);
      const stamp = isoFromSalesforce(String(json.SystemModstamp));
      const id = String(json.Id);
      if (after(stamp, id, mark)) {
        mark.updatedAfter = stamp;
        mark.lastId = id;
      }
      return spec.parse(json);
    });
    const done = page.next === null;
    if (!done) {
      return { records, done, calls: this.session.calls - calls0, cursor: { phase: 'initial', ...mark, pageToken: bulkToken(job, page.next!) } };
    }
    const createdMs = job.createdMs ?? (await jobCreatedMs(this.session, job.id));
    const end = createdMs === null ? mark : notAfter(mark, createdMs - BULK_START_MARGIN_MS);
    return { records, done, calls: this.session.calls - calls0, cursor: { phase: 'incremental', ...end, pageToken: null } };
  }

  /** OpportunityContactRole rows and Opportunity.AccountId for the given deals, 200 ids per IN clause. */
  async dealLinks(dealIds: string[]): Promise<{ contacts: CrmDealContact[]; companies: CrmDealCompany[]; calls: number }> {
    const calls0 = this.session.calls;
    const contacts: CrmDealContact[] = [];
    const companies: CrmDealCompany[] = [];
    for (const chunk of inChunks(dealIds)) {
      const roles = await this.queryAll(`SELECT Id, OpportunityId, ContactId, Role, IsPrimary FROM OpportunityContactRole WHERE OpportunityId IN ${inList(chunk)}`);
      for (const raw of roles) {
        const r = contactRoleRecord.parse(raw);
        if (r.ContactId) contacts.push({ dealId: r.OpportunityId, contactId: r.ContactId, role: r.Role, isPrimary: r.IsPrimary });
      }
      const opps = await this.queryAll(`SELECT Id, AccountId FROM Opportunity WHERE Id IN ${inList(chunk)}`);
      for (const raw of opps) {
        const o = opportunityAccount.parse(raw);
        if (o.AccountId) companies.push({ dealId: o.Id, companyId: o.AccountId });
      }
    }
    return { contacts, companies, calls: this.session.calls - calls0 };
  }
}
