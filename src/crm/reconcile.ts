/**
 * Settling writes whose outcome is unknown (a timeout, a dropped connection, a crash between the CRM's answer and D1's
 * record of it): read the records back and compare with what was sent. Records already carrying the sent values are
 * counted as written and never sent again; the rest are sent. Pure functions; the reads live in each connector.
 */
import type { FieldValue, RecordWrite } from './types';

/** Current values of some fields of some records, as the CRM returns them (HubSpot: strings; Salesforce: JSON types). */
export type ReadBack = Map<string, Record<string, unknown>>;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || v.trim() === '' || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v.trim())) return null;
  return Number(v);
}

function asTime(v: unknown): number | null {
  // HubSpot may return datetimes as epoch milliseconds.
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{12,14}$/.test(v))) return Number(v);
  if (typeof v !== 'string' || !ISO_DATE.test(v)) return null;
  // Salesforce writes offsets as +0000; Date.parse wants +00:00.
  const t = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(t) ? null : t;
}

/**
 * Whether the CRM's current value is the value we sent, across the CRMs' representations: '' and null both mean empty
 * (HubSpot clears with ''), booleans may come back as 'true'/'false', numbers as strings (compared to 1e-9 relative, as
 * CRMs round currency), dates and datetimes in any ISO form (a date compared by its day).
 */
export function valuesMatch(sent: FieldValue, actual: unknown): boolean {
  const empty = (v: unknown) => v === null || v === undefined || v === '';
  if (empty(sent) || empty(actual)) return empty(sent) && empty(actual);
  if (typeof sent === 'boolean') return actual === sent || actual === String(sent);
  if (typeof sent === 'number') {
    const n = asNumber(actual);
    return n !== null && Math.abs(n - sent) <= 1e-9 * Math.max(1, Math.abs(sent));
  }
  if (typeof actual === 'string' && actual === sent) return true;
  const a = typeof sent === 'string' ? asTime(sent) : null;
  const b = a === null ? null : asTime(actual);
  if (a !== null && b !== null) {
    // A date-only value ("2026-11-24") matches whatever time of that day the CRM returns for it.
    const day = (t: number) => new Date(t).toISOString().slice(0, 10);
    return String(sent).length === 10 || String(actual).length === 10 ? day(a) === day(b) : a === b;
  }
  const n = asNumber(sent);
  const m = asNumber(actual);
  return n !== null && m !== null && n === m;
}

/** Splits writes into those the CRM already holds (every field matches) and those still to send. */
export function settleByReadBack(writes: RecordWrite[], current: ReadBack): { landed: RecordWrite[]; toSend: RecordWrite[] } {
  const landed: RecordWrite[] = [];
  const toSend: RecordWrite[] = [];
  for (const w of writes) {
    const now = current.get(w.crmId);
    const same = now !== undefined && Object.entries(w.fields).every(([name, value]) => valuesMatch(value, now[name]));
    (same ? landed : toSend).push(w);
  }
  return { landed, toSend };
}
