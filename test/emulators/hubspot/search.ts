/**
 * CRM search as HubSpot answers it: filterGroups (OR of ANDs, ≤ 5 groups, ≤ 10 filters a group, ≤ 25 in all), ONE sort
 * rule (further rules are ignored), limit ≤ 200, offset paging by `after`, and never past 10,000 results (400).
 * Equal sort values come back in descending id order, on purpose: a client must not assume ties are ordered by id.
 */
import { z } from 'zod';
import type { ObjectType, PropertyDef } from './properties';
import type { HubspotState, StoredObject } from './state';

export const SEARCH_CAP = 10_000;
export const MAX_LIMIT = 200;

const filter = z.object({
  propertyName: z.string(),
  operator: z.enum(['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY']),
  value: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
  highValue: z.union([z.string(), z.number()]).transform(String).optional(),
  values: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
});
const sort = z.union([
  z.string().transform((s) => (s.startsWith('-') ? { propertyName: s.slice(1), descending: true } : { propertyName: s, descending: false })),
  z.object({ propertyName: z.string(), direction: z.enum(['ASCENDING', 'DESCENDING']).default('ASCENDING') })
    .transform((s) => ({ propertyName: s.propertyName, descending: s.direction === 'DESCENDING' })),
]);
export const searchRequest = z.object({
  filterGroups: z.array(z.object({ filters: z.array(filter) })).default([]),
  sorts: z.array(sort).default([]),
  properties: z.array(z.string()).default([]),
  limit: z.coerce.number().int().min(0).default(10),
  after: z.coerce.number().int().min(0).default(0),
  query: z.string().optional(),
});
export type SearchRequest = z.infer<typeof searchRequest>;
type Filter = z.infer<typeof filter>;

export class SearchError extends Error {}

const DEFAULT_PROPS: Record<ObjectType, string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
  deals: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
};

/** Comparable form of a stored value: numbers and times compare numerically, everything else as lower-case text. */
function comparable(def: PropertyDef | undefined, raw: string | null | undefined): number | string | null {
  if (raw === null || raw === undefined || raw === '') return null;
  if (def && (def.type === 'number' || def.type === 'datetime' || def.type === 'date')) {
    const n = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : Date.parse(raw);
    return Number.isNaN(n) ? null : n;
  }
  return raw.toLowerCase();
}

function matches(f: Filter, defs: Map<string, PropertyDef>, obj: StoredObject): boolean {
  const def = defs.get(f.propertyName);
  const v = comparable(def, obj.properties[f.propertyName]);
  if (f.operator === 'HAS_PROPERTY') return v !== null;
  if (f.operator === 'NOT_HAS_PROPERTY') return v === null;
  const c = (x: string | undefined) => comparable(def, x);
  if (f.operator === 'IN' || f.operator === 'NOT_IN') {
    const inList = (f.values ?? []).some((x) => c(x) === v);
    return f.operator === 'IN' ? inList : !inList;
  }
  const target = c(f.value);
  if (f.operator === 'NEQ') return v !== target;
  if (v === null || target === null) return false;
  switch (f.operator) {
    case 'EQ': return v === target;
    case 'LT': return v < target;
    case 'LTE': return v <= target;
    case 'GT': return v > target;
    case 'GTE': return v >= target;
    case 'BETWEEN': {
      const high = c(f.highValue);
      return high !== null && v >= target && v <= high;
    }
  }
}

function validate(req: SearchRequest, defs: Map<string, PropertyDef>): void {
  const groups = req.filterGroups;
  if (groups.length > 5) throw new SearchError('Too many filter groups (max 5).');
  if (groups.some((g) => g.filters.length > 10)) throw new SearchError('Too many filters in a filter group (max 10).');
  if (groups.reduce((n, g) => n + g.filters.length, 0) > 25) throw new SearchError('Too many filters (max 25).');
  if (req.limit > MAX_LIMIT) throw new SearchError(`limit must be at most ${MAX_LIMIT}.`);
  // Our client keeps IN / NOT_IN lists to 100 values (src/crm/hubspot/walk.ts); refusing more catches a client bug.
  if (groups.some((g) => g.filters.some((f) => (f.values?.length ?? 0) > 100))) throw new SearchError('Too many values in an IN / NOT_IN filter (max 100).');
  for (const g of groups) for (const f of g.filters) {
    if (!defs.has(f.propertyName)) throw new SearchError(`There was a problem with the request. Property ${f.propertyName} does not exist.`);
  }
  if (req.after >= SEARCH_CAP) {
    throw new SearchError(`Search results are limited to ${SEARCH_CAP} results; page with filters instead of 'after' ${req.after}.`);
  }
}

/**
 * Objects sorted by one property, cached per store version: walks re-sort nothing between writes, and each query is one
 * linear filter pass over the sorted list (100k records: a few ms).
 */
const sortedCache = new WeakMap<HubspotState, Map<string, { version: number; list: StoredObject[] }>>();

function sortedBy(state: HubspotState, type: ObjectType, rule: { propertyName: string; descending: boolean } | undefined): StoredObject[] {
  const store = state.objects[type];
  const key = `${type}|${rule?.propertyName ?? ''}|${rule?.descending ?? false}`;
  let perState = sortedCache.get(state);
  if (!perState) sortedCache.set(state, (perState = new Map()));
  const hit = perState.get(key);
  if (hit && hit.version === store.version) return hit.list;
  let list: StoredObject[];
  if (rule) {
    const def = state.properties[type].get(rule.propertyName);
    const keyed = [...store.byId.values()].map((o) => ({ o, k: comparable(def, o.properties[rule.propertyName]) }));
    keyed.sort((a, b) => {
      // Nulls last; equal values in descending id order (see the module comment).
      if (a.k === null || b.k === null) return a.k === b.k ? b.o.num - a.o.num : a.k === null ? 1 : -1;
      const cmp = a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
      return cmp !== 0 ? (rule.descending ? -cmp : cmp) : b.o.num - a.o.num;
    });
    list = keyed.map((x) => x.o);
  } else {
    list = [...store.byId.values()].sort((a, b) => a.num - b.num);
  }
  perState.set(key, { version: store.version, list });
  return list;
}

/**
 * Where a scan over the list sorted ascending by `prop` may start and where every later record is certain to match:
 * a group whose filters include a lower bound on the sort property excludes everything below it, and a group that is
 * only `prop GT/GTE v` matches every non-null record above it. Null when no such shortcut applies.
 */
function ranges(groups: { filters: Filter[] }[], rule: { propertyName: string; descending: boolean } | undefined, def: PropertyDef | undefined) {
  if (!rule || rule.descending || groups.length === 0) return null;
  let low = null as number | string | null;
  let sure = null as { bound: number | string; strict: boolean } | null;
  for (const g of groups) {
    const lows = g.filters
      .filter((f) => f.propertyName === rule.propertyName && (f.operator === 'GT' || f.operator === 'GTE' || f.operator === 'EQ' || f.operator === 'BETWEEN'))
      .map((f) => comparable(def, f.value));
    const bound = lows.reduce<number | string | null>((a, b) => (b === null ? a : a === null || b > a ? b : a), null);
    if (bound === null) return null;
    low = low === null || bound < low ? bound : low;
    const only = g.filters.length === 1 ? g.filters[0]! : null;
    if (only && (only.operator === 'GT' || only.operator === 'GTE') && (sure === null || bound < sure.bound)) sure = { bound, strict: only.operator === 'GT' };
  }
  return low === null ? null : { low, sure };
}

/** First index whose key is ≥ `low` (keys ascending, nulls last). */
function lowerBound(list: StoredObject[], key: (o: StoredObject) => number | string | null, low: number | string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = key(list[mid]!);
    if (k !== null && k < low) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `naive` turns the range shortcuts off (tests compare both). */
export function runSearch(state: HubspotState, type: ObjectType, req: SearchRequest, naive = false) {
  const defs = state.properties[type];
  validate(req, defs);
  const groups = req.filterGroups;
  const end = Math.min(req.after + req.limit, SEARCH_CAP);
  const page: StoredObject[] = [];
  let total = 0;
  const list = sortedBy(state, type, req.sorts[0]);
  const rule = req.sorts[0];
  const def = rule ? defs.get(rule.propertyName) : undefined;
  const key = (o: StoredObject) => comparable(def, rule ? o.properties[rule.propertyName] : null);
  // Walks page through large stores with a lower bound on the sort key: start at it by binary search, and count the
  // tail where every record matches instead of testing each (the answer, `total` included, is the same).
  const range = groups.length > 0 && !naive ? ranges(groups, rule, def) : null;
  const nonNull = range?.sure ? lowerBound(list, (o) => (key(o) === null ? Infinity : -Infinity), 0) : list.length;
  for (let i = range ? lowerBound(list, key, range.low) : 0; i < list.length; i++) {
    const obj = list[i]!;
    const k = range?.sure ? key(obj) : null;
    if (range?.sure && k !== null && (range.sure.strict ? k > range.sure.bound : k >= range.sure.bound)) {
      const remaining = nonNull - i;
      for (let m = Math.max(total, req.after); m < Math.min(end, total + remaining); m++) page.push(list[i + m - total]!);
      total += remaining;
      break;
    }
    if (groups.length > 0 && !groups.some((g) => g.filters.every((f) => matches(f, defs, obj)))) continue;
    if (total >= req.after && total < end) page.push(obj);
    total++;
  }
  const names = [...new Set([...(req.properties.length > 0 ? req.properties : DEFAULT_PROPS[type]), 'hs_object_id', 'createdate', ...state.modifiedProps(type).slice(0, 1)])];
  const results = page.map((o) => ({
    id: o.id,
    properties: Object.fromEntries(names.map((n) => [n, o.properties[n] ?? null])),
    createdAt: new Date(o.createdAt).toISOString(),
    updatedAt: new Date(o.updatedAt).toISOString(),
    archived: false,
  }));
  const nextAfter = req.after + page.length;
  return {
    total,
    results,
    ...(nextAfter < total && page.length > 0 ? { paging: { next: { after: String(nextAfter), link: '' } } } : {}),
  };
}
