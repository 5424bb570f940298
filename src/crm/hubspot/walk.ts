/**
 * The incremental walk over HubSpot search, as pure functions (cursor → query, cursor + page → next cursor).
 *
 * HubSpot search answers at most 10,000 results per query (a 400 past that) and applies one sort rule, so we never page by
 * offset: every page is a fresh keyset query on the modified time, which also cannot skip a record when another record is
 * modified mid-walk (offset paging would shift under it). Three modes, encoded in the PullCursor:
 *
 *   range, exclusive  (lastId null, pageToken null)   modified >  T                                sort modified
 *   range, inclusive  (lastId null, pageToken 'gte')  (modified == T, id not in seen) or modified > T  sort modified
 *   tie               (lastId set)                    modified == T, id > lastId                   sort hs_object_id
 *
 * After a full range page ending at time T2, the next query starts at T2 again, so that none at T2 can be missed
 * whatever order HubSpot gives equal timestamps, but names the ids already returned at T2 (`seen`, NOT_IN) so they do
 * not come back. That matters because HubSpot stamps a whole batch update (100 records) with one time: after we write
 * back, the next pull walks our own writes, and a plain `>= T2` would read about half of every page twice. When more
 * than MAX_SEEN records share T2 (bulk imports), we switch to the tie mode, keyset on id within that instant, then
 * continue `> T`. No query ever passes offset 0, so the 10,000 cap is never near. The end of a walk leaves an
 * exclusive cursor at the newest time seen: the next pull returns only later changes.
 */
import * as z from 'zod';
import type { PullCursor } from '../types';
import type { SearchFilter, SearchQuery } from './clients';

/**
 * Most ids a NOT_IN filter carries. We know of no documented ceiling on IN/NOT_IN values; 100 (one HubSpot batch
 * update, the usual size of a shared timestamp) keeps the request small, and the emulator refuses more.
 */
export const MAX_SEEN = 100;

export const pullCursorSchema = z.object({
  phase: z.enum(['initial', 'incremental']),
  updatedAfter: z.string().nullable(),
  lastId: z.string().nullable(),
  pageToken: z.enum(['gte']).nullable(),
  seen: z.array(z.string()).max(MAX_SEEN).optional(),
});


/** HubSpot's search page size ceiling. */
export const MAX_SEARCH_LIMIT = 200;

export const initialCursor: PullCursor = { phase: 'initial', updatedAfter: null, lastId: null, pageToken: null };

function epochMs(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`cursor time is not a date: ${iso}`);
  return String(ms);
}

export function searchFor(cursor: PullCursor, modified: string, properties: string[], limit: number): SearchQuery {
  const c = pullCursorSchema.parse(cursor);
  const base = { properties: [...new Set(['hs_object_id', modified, ...properties])], limit };
  if (c.updatedAfter === null) return { ...base, filterGroups: [], sort: modified };
  const at = epochMs(c.updatedAfter);
  if (c.lastId !== null) {
    const filters: SearchFilter[] = [
      { propertyName: modified, operator: 'EQ', value: at },
      { propertyName: 'hs_object_id', operator: 'GT', value: c.lastId },
    ];
    return { ...base, filterGroups: [filters], sort: 'hs_object_id' };
  }
  if (c.pageToken === 'gte' && c.seen?.length) {
    const atT: SearchFilter[] = [
      { propertyName: modified, operator: 'EQ', value: at },
      { propertyName: 'hs_object_id', operator: 'NOT_IN', values: c.seen },
    ];
    return { ...base, filterGroups: [atT, [{ propertyName: modified, operator: 'GT', value: at }]], sort: modified };
  }
  const operator = c.pageToken === 'gte' ? 'GTE' : 'GT';
  return { ...base, filterGroups: [[{ propertyName: modified, operator, value: at }]], sort: modified };
}

export interface PageRow {
  id: string;
  /** ISO time of the record's modified property. */
  modified: string;
}

/**
 * `settledBefore` (ISO): HubSpot's search index trails writes by seconds, so a walk ending on very recent records can
 * miss ones written just before them and not yet indexed. With it, a finished walk's cursor never goes past that instant,
 * and the next pull re-reads (inclusively) from there: a few duplicates instead of a silent gap.
 */
export function advance(
  cursor: PullCursor,
  rows: PageRow[],
  limit: number,
  settledBefore: string | null = null,
): { cursor: PullCursor; done: boolean } {
  const c = pullCursorSchema.parse(cursor);
  const full = rows.length >= limit;
  const last = rows.at(-1);
  if (c.lastId !== null) {
    // Tie mode: keyset on id within one instant, then carry on strictly after it.
    if (full && last) return { cursor: { ...c, lastId: last.id, pageToken: null, seen: undefined }, done: false };
    return { cursor: { ...c, lastId: null, pageToken: null, seen: undefined }, done: false };
  }
  if (!full || !last) {
    const newest = last?.modified ?? c.updatedAfter;
    if (settledBefore !== null && newest !== null && Date.parse(newest) > Date.parse(settledBefore)) {
      const floor = c.updatedAfter !== null && Date.parse(c.updatedAfter) > Date.parse(settledBefore) ? c.updatedAfter : settledBefore;
      return { cursor: { phase: 'incremental', updatedAfter: floor, lastId: null, pageToken: 'gte' }, done: true };
    }
    return { cursor: { phase: 'incremental', updatedAfter: newest, lastId: null, pageToken: null }, done: true };
  }
  const T2 = Date.parse(last.modified);
  const atT2 = rows.filter((r) => Date.parse(r.modified) === T2).map((r) => r.id);
  // Still at the cursor's instant (a page of more records sharing it): the ids already seen there stay excluded.
  const sameInstant = c.pageToken === 'gte' && c.updatedAfter !== null && Date.parse(c.updatedAfter) === T2;
  const seen = sameInstant ? [...(c.seen ?? []), ...atT2] : atT2;
  if (seen.length <= MAX_SEEN) {
    return { cursor: { ...c, updatedAfter: sameInstant ? c.updatedAfter : last.modified, lastId: null, pageToken: 'gte', seen }, done: false };
  }
  const first = rows[0];
  if (first && Date.parse(first.modified) === T2) {
    return { cursor: { ...c, updatedAfter: last.modified, lastId: '0', pageToken: null, seen: undefined }, done: false };
  }
  // Too many ids at T2 for NOT_IN, but the page did move past the cursor: re-read the T2 records (upserts are harmless).
  return { cursor: { ...c, updatedAfter: last.modified, lastId: null, pageToken: 'gte', seen: undefined }, done: false };
}
