/**
 * Writes through sObject Collections (PATCH /composite/sobjects, ≤ 200 records a call, allOrNone false). Results come
 * back in input order, one per record; a record that failed with a retryable code (UNABLE_TO_LOCK_ROW…) is re-sent in a
 * later round on its own, and a record that succeeded is never sent again. Whole-call failures are retried by the
 * session; if they persist, every record of that call is reported failed (retryable) rather than thrown, except stops.
 */
import { backoffMs } from '../call';
import { CrmStopError, type FieldValue, type RecordFailure, type RecordWrite, type WriteResult } from '../types';
import { sobjectFor } from './normalise';
import { isRetryableRecordCode, salesforceErrorCode } from './retry';
import type { SalesforceSession } from './session';
import { saveResults } from './wire';

export const COLLECTION_LIMIT = 200;

export interface WriteOptions {
  /** Extra rounds for records that failed with a retryable code. */
  recordRetries: number;
  sleep: (ms: number) => Promise<void>;
}

/** One record per (object, id): later writes' fields win, so a batch never carries the same id twice (Salesforce rejects that). */
export function mergeWrites(writes: RecordWrite[]): RecordWrite[] {
  const byKey = new Map<string, RecordWrite>();
  for (const w of writes) {
    const key = `${w.object}:${w.crmId}`;
    const prev = byKey.get(key);
    byKey.set(key, prev ? { ...prev, fields: { ...prev.fields, ...w.fields } } : { ...w, fields: { ...w.fields } });
  }
  return [...byKey.values()];
}

function body(batch: RecordWrite[]) {
  return {
    allOrNone: false,
    records: batch.map((w) => ({ attributes: { type: sobjectFor(w.object, w.crmId) }, Id: w.crmId, ...(w.fields satisfies Record<string, FieldValue>) })),
  };
}

export async function writeRecords(session: SalesforceSession, writes: RecordWrite[], opts: WriteOptions): Promise<WriteResult> {
  const calls0 = session.calls;
  const written: string[] = [];
  const failed: RecordFailure[] = [];
  let pending: RecordWrite[] = [];
  for (const w of mergeWrites(writes)) {
    if (/^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$/.test(w.crmId)) pending.push(w);
    else failed.push({ crmId: w.crmId, code: 'MALFORMED_ID', message: `not a Salesforce id: ${w.crmId}`, retryable: false });
  }

  for (let round = 0; pending.length > 0; round++) {
    if (round > 0) await opts.sleep(backoffMs(round - 1, 500));
    const again: RecordWrite[] = [];
    const lastRound = round >= opts.recordRetries;
    for (let i = 0; i < pending.length; i += COLLECTION_LIMIT) {
      const batch = pending.slice(i, i + COLLECTION_LIMIT);
      let results;
      try {
        results = await session.request(saveResults, { method: 'PATCH', url: `${session.dataPath}/composite/sobjects`, body: body(batch) });
      } catch (error) {
        if (error instanceof CrmStopError) throw error;
        const code = salesforceErrorCode(error) ?? 'CALL_FAILED';
        const message = error instanceof Error ? error.message : String(error);
        // The call itself failed after the session's retries: nothing in it is known to be written.
        const retryable = !/^(INVALID_FIELD|INVALID_TYPE|JSON_PARSER_ERROR|EXCEEDED_ID_LIMIT|MALFORMED_)/.test(code);
        for (const w of batch) failed.push({ crmId: w.crmId, code, message, retryable });
        continue;
      }
      for (const [j, w] of batch.entries()) {
        const r = results[j];
        if (r?.success) {
          written.push(w.crmId);
          continue;
        }
        const err = r?.errors[0];
        const code = err?.statusCode ?? 'MISSING_RESULT';
        const retryable = isRetryableRecordCode(code);
        if (retryable && !lastRound) again.push(w);
        else failed.push({ crmId: w.crmId, code, message: err?.message ?? 'no result for this record', retryable });
      }
    }
    pending = again;
  }
  return { written, failed, calls: session.calls - calls0 };
}
