/**
 * Batch write-back: per object type, 100 records a call (HubSpot's batch limit). A 207 multi-status lists per-record errors;
 * only the records that failed with a retryable category are sent again (a few rounds with backoff), so a record HubSpot
 * already accepted is never re-sent. Refusals (429, 423) are retried one level down by callWithRetry: nothing of the
 * batch was applied. A failure that may have been applied (timeout, dropped connection, 5xx) comes up as InDoubtError;
 * the batch is then read back and only the records not already holding the sent values are sent again, so a lost
 * response never turns into a second write.
 */
import * as z from 'zod';
import { backoffMs, InDoubtError } from '../call';
import { settleByReadBack, type ReadBack } from '../reconcile';
import { CrmStopError, type FieldValue, type RecordFailure, type RecordWrite, type WriteResult, type WriteObject } from '../types';
import type { BatchUpdateResult, HubspotObjectType } from './clients';
import { isRetryableCategory } from './retry';
import { HubspotApiError } from './transport';
import { WRITE_TYPES } from './objects';

export const BATCH_SIZE = 100;

/**
 * A stop (daily limit, revoked token) in the middle of a write: still a CrmStopError for the run to stop on, carrying what
 * was already written so the caller can record it and not re-send it after the resume.
 */
export class HubspotWriteStopped extends CrmStopError {
  constructor(stop: CrmStopError, readonly partial: WriteResult) {
    super(stop.code, stop.message, stop.resumesAt);
    this.name = 'CrmStopError';
  }
}

const standardError = z
  .object({
    category: z.string().default('UNKNOWN'),
    message: z.string().default(''),
    context: z.record(z.string(), z.array(z.string())).optional(),
  })
  .loose();

export interface WriteDeps {
  update(type: HubspotObjectType, inputs: { id: string; properties: Record<string, string> }[]): Promise<BatchUpdateResult>;
  /** Current values of the given properties (for settling an in-doubt batch). */
  read(type: HubspotObjectType, ids: string[], properties: string[]): Promise<ReadBack>;
  sleep(ms: number): Promise<void>;
  /** Extra rounds for records a 207 marked retryable. */
  retryRounds: number;
}

/** HubSpot takes every property value as a string; '' clears a property. */
export function wireValue(v: FieldValue): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

/** One object type's writes, merged by id (HubSpot rejects a batch naming an id twice), later fields winning. */
function mergeById(writes: RecordWrite[]): Map<string, Record<string, string>> {
  const byId = new Map<string, Record<string, string>>();
  for (const w of writes) {
    const props = byId.get(w.crmId) ?? {};
    for (const [k, v] of Object.entries(w.fields)) props[k] = wireValue(v);
    byId.set(w.crmId, props);
  }
  return byId;
}

/** Maps a 207's errors onto the ids they name (`context.ids`); ids named by none get a generic failure. */
function failuresOf(sent: string[], result: BatchUpdateResult): RecordFailure[] {
  const ok = new Set(result.results.map((r) => r.id));
  const byId = new Map<string, RecordFailure>();
  for (const raw of result.errors) {
    const parsed = standardError.safeParse(raw);
    if (!parsed.success) continue;
    const e = parsed.data;
    for (const id of e.context?.ids ?? []) {
      byId.set(id, { crmId: id, code: e.category, message: e.message, retryable: isRetryableCategory(e.category) });
    }
  }
  return sent
    .filter((id) => !ok.has(id))
    .map((id) => byId.get(id) ?? { crmId: id, code: 'UNKNOWN', message: 'not in batch results', retryable: false });
}

function wholeCallFailure(ids: string[], error: unknown): RecordFailure[] {
  if (error instanceof InDoubtError) return ids.map((crmId) => ({ crmId, code: 'IN_DOUBT', message: error.message, retryable: true }));
  const status = error instanceof HubspotApiError ? error.status : null;
  const code = error instanceof HubspotApiError ? (error.body.category ?? `HTTP_${error.status}`) : 'CALL_FAILED';
  const message = error instanceof Error ? error.message : String(error);
  // callWithRetry already spent its attempts on retryable errors; flag them so the next run tries again.
  const retryable = status === null || status === 429 || status >= 500;
  return ids.map((crmId) => ({ crmId, code, message, retryable }));
}

async function writeChunk(
  type: HubspotObjectType,
  chunk: [string, Record<string, string>][],
  deps: WriteDeps,
  out: WriteResult,
): Promise<void> {
  let pending = chunk;
  let doubts = 0;
  for (let round = 0; pending.length > 0; round++) {
    let result: BatchUpdateResult;
    try {
      result = await deps.update(type, pending.map(([id, properties]) => ({ id, properties })));
    } catch (error) {
      if (error instanceof CrmStopError) throw error;
      if (error instanceof InDoubtError && doubts++ <= deps.retryRounds) {
        const rest = await settle(type, pending, deps, out);
        if (rest) {
          pending = rest;
          await deps.sleep(backoffMs(doubts));
          continue;
        }
      }
      out.failed.push(...wholeCallFailure(pending.map(([id]) => id), error));
      return;
    }
    const sent = pending.map(([id]) => id);
    const failures = failuresOf(sent, result);
    const failedIds = new Set(failures.map((f) => f.crmId));
    out.written.push(...sent.filter((id) => !failedIds.has(id)));
    const retry = failures.filter((f) => f.retryable);
    out.failed.push(...failures.filter((f) => !f.retryable));
    if (retry.length === 0) return;
    if (round >= deps.retryRounds) {
      out.failed.push(...retry);
      return;
    }
    const again = new Set(retry.map((f) => f.crmId));
    pending = pending.filter(([id]) => again.has(id));
    await deps.sleep(Math.max(250, backoffMs(round + 1)));
  }
}

/**
 * Reads an in-doubt batch back: records already holding the sent values count as written; the rest are returned to be
 * sent again. Null when the read itself failed (the records stay in doubt).
 */
async function settle(
  type: HubspotObjectType,
  pending: [string, Record<string, string>][],
  deps: WriteDeps,
  out: WriteResult,
): Promise<[string, Record<string, string>][] | null> {
  const names = [...new Set(pending.flatMap(([, props]) => Object.keys(props)))];
  let current: ReadBack;
  try {
    current = await deps.read(type, pending.map(([id]) => id), names);
  } catch (error) {
    if (error instanceof CrmStopError) throw error;
    return null;
  }
  const { landed } = settleByReadBack(pending.map(([crmId, fields]) => ({ object: 'deal', crmId, fields })), current);
  const done = new Set(landed.map((w) => w.crmId));
  out.written.push(...done);
  out.settled = (out.settled ?? 0) + done.size;
  return pending.filter(([id]) => !done.has(id));
}

/** `calls` in the result is left at 0: the connector fills it from its own request counter (retries included). */
export async function writeAll(writes: RecordWrite[], deps: WriteDeps): Promise<WriteResult> {
  const out: WriteResult = { written: [], failed: [], calls: 0 };
  const groups = new Map<WriteObject, RecordWrite[]>();
  for (const w of writes) {
    const list = groups.get(w.object);
    if (list) list.push(w);
    else groups.set(w.object, [w]);
  }
  for (const [object, list] of groups) {
    const entries = [...mergeById(list)];
    for (let i = 0; i < entries.length; i += BATCH_SIZE) {
      try {
        await writeChunk(WRITE_TYPES[object], entries.slice(i, i + BATCH_SIZE), deps, out);
      } catch (error) {
        if (error instanceof CrmStopError && !(error instanceof HubspotWriteStopped)) throw new HubspotWriteStopped(error, out);
        throw error;
      }
    }
  }
  return out;
}
