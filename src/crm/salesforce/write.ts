/**
 * Writes through sObject Collections (PATCH /composite/sobjects, ≤ 200 records a call, allOrNone false). Results come
 * back in input order, one per record; a record that failed with a retryable code (UNABLE_TO_LOCK_ROW…) is re-sent in a
 * later round on its own, and a record that succeeded is never sent again. Refused calls are retried by the session; a
 * call that may have been applied (timeout, dropped connection, 5xx) is settled by reading its records back, and only the
 * records not holding the sent values go out again. Failures that persist are reported per record (retryable) rather
 * than thrown, except stops; a deleted record or a converted Lead is reported `gone`.
 */
import { backoffMs, InDoubtError } from '../call';
import { settleByReadBack, type ReadBack } from '../reconcile';
import { CrmStopError, type FieldValue, type RecordFailure, type RecordWrite, type WriteResult } from '../types';
import { sobjectFor } from './normalise';
import { isGoneRecordCode, isRetryableRecordCode, salesforceErrorCode } from './retry';
import type { SalesforceSession } from './session';
import { saveResults } from './wire';

export const COLLECTION_LIMIT = 200;

export interface WriteOptions {
  /** Extra rounds for records that failed with a retryable code. */
  recordRetries: number;
  sleep: (ms: number) => Promise<void>;
  /** Current values of the batch's fields, to settle a write whose outcome is unknown. */
  read: (writes: RecordWrite[]) => Promise<ReadBack>;
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
  let settled = 0;
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
        results = await session.request(saveResults, { method: 'PATCH', url: `${session.dataPath}/composite/sobjects`, body: body(batch) }, { idempotent: false });
      } catch (error) {
        if (error instanceof CrmStopError) throw error;
        if (error instanceof InDoubtError) {
          const rest = await settle(batch, opts, written);
          settled += batch.length - (rest?.length ?? batch.length);
          if (rest && !lastRound) {
            again.push(...rest);
            continue;
          }
          for (const w of rest ?? batch) failed.push({ crmId: w.crmId, code: 'IN_DOUBT', message: error.message, retryable: true });
          continue;
        }
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
        else failed.push({ crmId: w.crmId, code, message: err?.message ?? 'no result for this record', retryable, ...(isGoneRecordCode(code) ? { gone: true } : {}) });
      }
    }
    pending = again;
  }
  return { written, failed, calls: session.calls - calls0, ...(settled ? { settled } : {}) };
}

/** Reads an in-doubt batch back; records holding the sent values join `written`. Null when the read itself failed. */
async function settle(batch: RecordWrite[], opts: WriteOptions, written: string[]): Promise<RecordWrite[] | null> {
  let current: ReadBack;
  try {
    current = await opts.read(batch);
  } catch (error) {
    if (error instanceof CrmStopError) throw error;
    return null;
  }
  const { landed, toSend } = settleByReadBack(batch, current);
  written.push(...landed.map((w) => w.crmId));
  return toSend;
}
