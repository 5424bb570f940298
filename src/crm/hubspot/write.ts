/**
 * Batch write-back: per object type, 100 records a call (HubSpot's batch limit). A 207 multi-status lists per-record errors;
 * only the records that failed with a retryable category are sent again (a few rounds with backoff), so a record HubSpot
 * already accepted is never re-sent. Refusals (429, 423) are retried one level down by callWithRetry: nothing of the
 * batch was applied. A failure that may have been applied (timeout, dropped connection, 5xx) comes up as InDoubtError;
 * the batch is then read back and only the records not already holding the sent values are sent again, so a lost
 * response never turns into a second write.
 *
 * HubSpot validates a whole batch before applying any of it, so one bad value 400s all 100 records. Such a batch is
 * split: records the 400's own problem list blames (same property, same value) fail at once and the rest go again; when
 * nothing can be blamed, the batch is halved. A record deleted or merged away fails alone, marked `gone`.
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

/**
 * Maps a 207's errors onto the ids they name (`context.ids`). OBJECT_NOT_FOUND means deleted: gone for good. HubSpot
 * answers for a merged-away id under the id of the record it was merged into, so that id is in neither results nor
 * errors; when the results hold such a stranger, the unanswered ids count as merged away (gone) too.
 */
function failuresOf(sent: string[], result: BatchUpdateResult): RecordFailure[] {
  const sentIds = new Set(sent);
  const ok = new Set<string>();
  let strangers = 0;
  for (const r of result.results) {
    if (sentIds.has(r.id) && !ok.has(r.id)) ok.add(r.id);
    else strangers++;
  }
  const byId = new Map<string, RecordFailure>();
  for (const raw of result.errors) {
    const parsed = standardError.safeParse(raw);
    if (!parsed.success) continue;
    const e = parsed.data;
    const gone = e.category === 'OBJECT_NOT_FOUND' ? { gone: true } : {};
    for (const id of e.context?.ids ?? []) {
      byId.set(id, { crmId: id, code: e.category, message: e.message, retryable: isRetryableCategory(e.category), ...gone });
    }
  }
  const unanswered = (id: string): RecordFailure =>
    strangers > 0
      ? { crmId: id, code: 'MERGED', message: 'HubSpot answered for another record instead: merged into it', retryable: false, gone: true }
      : { crmId: id, code: 'UNKNOWN', message: 'not in batch results', retryable: false };
  return sent.filter((id) => !ok.has(id)).map((id) => byId.get(id) ?? unanswered(id));
}

/** One entry of a 400's "Property values were not valid: [...]" list. */
const propertyProblem = z.object({ name: z.string(), message: z.string().default(''), error: z.string().default('') }).loose();
type PropertyProblem = z.infer<typeof propertyProblem>;
/** Errors about the property itself: every record carrying it fails, whatever its value. */
const PROPERTY_LEVEL = new Set(['PROPERTY_DOESNT_EXIST', 'READ_ONLY_VALUE']);

function isValidationError(error: unknown): error is HubspotApiError {
  return error instanceof HubspotApiError && error.status === 400 && error.body.category === 'VALIDATION_ERROR';
}

/** The per-property problems a batch 400 lists in its message (HubSpot names property and value, never the record). */
function problemsOf(error: HubspotApiError): PropertyProblem[] {
  const message = error.body.message ?? '';
  const start = message.indexOf('[');
  if (start < 0) return [];
  try {
    const parsed = z.array(propertyProblem).safeParse(JSON.parse(message.slice(start)));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** Does this problem belong to these properties? HubSpot's value messages start with the value ("x was not …"). */
function blames(problem: PropertyProblem, props: Record<string, string>): boolean {
  const value = props[problem.name];
  if (value === undefined) return false;
  if (PROPERTY_LEVEL.has(problem.error)) return true;
  return value !== '' && (problem.message.startsWith(`${value} was `) || problem.message.startsWith(`${value} is `));
}

/** HubSpot's message, led by the property name unless it already names it. */
const describe = (p: PropertyProblem) => (p.message.includes(p.name) ? p.message : `${p.name}: ${p.message}`);

/** Extra calls a rejected batch of 100 may spend on finding its bad records: two bisections (2·log2 100 ≈ 14 each). */
export const SPLIT_CALLS = 28;

/**
 * A batch HubSpot rejected whole (nothing of it applied): fails the records its problem list blames and sends the rest
 * again, or halves it when none can be blamed, within `split.left` extra calls. Past that budget, or for a single record
 * nothing can be blamed on, the rest fail with HubSpot's whole message.
 */
async function splitRejected(
  type: HubspotObjectType,
  pending: [string, Record<string, string>][],
  error: HubspotApiError,
  deps: WriteDeps,
  out: WriteResult,
  split: { left: number },
): Promise<void> {
  const problems = problemsOf(error);
  const rest: [string, Record<string, string>][] = [];
  for (const entry of pending) {
    const mine = problems.filter((p) => blames(p, entry[1]));
    if (mine.length === 0) rest.push(entry);
    else out.failed.push({ crmId: entry[0], code: 'VALIDATION_ERROR', message: mine.map(describe).join('; '), retryable: false });
  }
  if (rest.length === 0) return;
  const parts = rest.length < pending.length ? [rest] : rest.length > 1 ? [rest.slice(0, rest.length >> 1), rest.slice(rest.length >> 1)] : [];
  if (parts.length === 0 || split.left < parts.length) {
    out.failed.push(...wholeCallFailure(rest.map(([id]) => id), error));
    return;
  }
  split.left -= parts.length;
  for (const part of parts) await writeChunk(type, part, deps, out, split);
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
  split = { left: SPLIT_CALLS },
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
      if (isValidationError(error)) return splitRejected(type, pending, error, deps, out, split);
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
