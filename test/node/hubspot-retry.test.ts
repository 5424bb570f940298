import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CallTimeoutError } from '../../src/crm/call';
import { advance, decideHubspotRetry, HubspotApiError, initialCursor, searchFor } from '../../src/crm/hubspot';
import { CrmStopError, type PullCursor } from '../../src/crm/types';

const NOW = Date.parse('2026-03-01T12:34:56.000Z');
const api = (status: number, body: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  new HubspotApiError(status, body, headers, 'https://api.hubapi.com/x');
const tenSecondly = { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' };

describe('decideHubspotRetry', () => {
  it.each([
    ['timeout', new CallTimeoutError(100), 0, { retry: true, reason: 'timeout', waitMs: 0 }],
    ['node fetch failure', new TypeError('fetch failed'), 0, { retry: true, reason: 'network', waitMs: 0 }],
    ['workerd connection lost', new Error('Network connection lost.'), 0, { retry: true, reason: 'network', waitMs: 0 }],
    ['500', api(500), 0, { retry: true, reason: 'server_500', waitMs: 0 }],
    ['502', api(502), 3, { retry: true, reason: 'server_502', waitMs: 0 }],
    ['503', api(503), 0, { retry: true, reason: 'server_503', waitMs: 0 }],
    ['423 locked', api(423), 0, { retry: true, reason: 'locked', waitMs: 2000 }],
    ['429 ten-secondly, first', api(429, tenSecondly), 0, { retry: true, reason: 'rate_limit_ten_secondly', waitMs: 1000 }],
    ['429 ten-secondly, third', api(429, tenSecondly), 2, { retry: true, reason: 'rate_limit_ten_secondly', waitMs: 4000 }],
    ['429 ten-secondly, capped at the interval', api(429, tenSecondly, { 'x-hubspot-ratelimit-interval-milliseconds': '10000' }), 9, { retry: true, reason: 'rate_limit_ten_secondly', waitMs: 10_000 }],
    ['429 with Retry-After', api(429, tenSecondly, { 'retry-after': '3' }), 0, { retry: true, reason: 'rate_limit_ten_secondly', waitMs: 3000 }],
    ['429 secondly (search)', api(429, { policyName: 'SECONDLY' }), 0, { retry: true, reason: 'rate_limit_secondly', waitMs: 1000 }],
    ['429 unknown policy', api(429, {}), 1, { retry: true, reason: 'rate_limit', waitMs: 2000 }],
    ['400', api(400, { category: 'VALIDATION_ERROR' }), 0, { retry: false, reason: 'client_400', waitMs: 0 }],
    ['403', api(403, { category: 'MISSING_SCOPES' }), 0, { retry: false, reason: 'client_403', waitMs: 0 }],
    ['404', api(404), 0, { retry: false, reason: 'client_404', waitMs: 0 }],
    ['programming error', new RangeError('bad'), 0, { retry: false, reason: 'unexpected', waitMs: 0 }],
  ])('%s', (_name, error, attempt, expected) => {
    expect(decideHubspotRetry(error, attempt, NOW)).toEqual(expected);
  });

  it('stops on the daily limit, resuming at the next UTC midnight', () => {
    const run = () => decideHubspotRetry(api(429, { ...tenSecondly, policyName: 'DAILY', message: 'You have reached your daily limit.' }), 0, NOW);
    expect(run).toThrow(CrmStopError);
    expect(run).toThrow('daily limit reached, resumes at 2026-03-02T00:00:00.000Z');
    try {
      run();
    } catch (e) {
      expect(e).toMatchObject({ code: 'daily_limit', resumesAt: '2026-03-02T00:00:00.000Z' });
    }
  });

  it('stops on 401 (a private-app token cannot be refreshed)', () => {
    expect(() => decideHubspotRetry(api(401, { category: 'INVALID_AUTHENTICATION' }), 0, NOW)).toThrow(expect.objectContaining({ code: 'auth' }));
  });

  it('passes CrmStopError through', () => {
    const stop = new CrmStopError('x', 'y');
    expect(() => decideHubspotRetry(stop, 0, NOW)).toThrow(stop);
  });
});

describe('incremental walk', () => {
  const t = (s: number) => new Date(Date.parse('2025-01-01T00:00:00.000Z') + s * 1000).toISOString();
  const rows = (...pairs: [string, number][]) => pairs.map(([id, s]) => ({ id, modified: t(s) }));

  it('starts unfiltered, sorted by the modified property', () => {
    expect(searchFor(initialCursor, 'hs_lastmodifieddate', ['dealname'], 100)).toMatchObject({ filterGroups: [], sort: 'hs_lastmodifieddate', limit: 100 });
  });

  it('after a full page, re-queries from the last time, leaving out the ids already read at that time', () => {
    const next = advance(initialCursor, rows(['1', 1], ['2', 3], ['3', 3]), 3);
    expect(next).toEqual({ done: false, cursor: { phase: 'initial', updatedAfter: t(3), lastId: null, pageToken: 'gte', seen: ['2', '3'] } });
    const at = String(Date.parse(t(3)));
    expect(searchFor(next.cursor, 'm', [], 3).filterGroups).toEqual([
      [{ propertyName: 'm', operator: 'EQ', value: at }, { propertyName: 'hs_object_id', operator: 'NOT_IN', values: ['2', '3'] }],
      [{ propertyName: 'm', operator: 'GT', value: at }],
    ]);
    // Another full page still at that time adds its ids; one that moves on starts a new list.
    const same = advance(next.cursor, rows(['8', 3], ['9', 3], ['5', 3]), 3);
    expect(same.cursor).toMatchObject({ updatedAfter: t(3), pageToken: 'gte', seen: ['2', '3', '8', '9', '5'] });
    const on = advance(same.cursor, rows(['6', 3], ['7', 4], ['4', 4]), 3);
    expect(on.cursor).toMatchObject({ updatedAfter: t(4), pageToken: 'gte', seen: ['7', '4'] });
  });

  it('past 100 ids at one time, switches to keyset on id within it, then continues strictly after it', () => {
    const block = Array.from({ length: 101 }, (_, i) => [String(1000 - i), 5] as [string, number]);
    const tie = advance(initialCursor, rows(...block), 101);
    expect(tie.cursor).toMatchObject({ updatedAfter: t(5), lastId: '0' });
    expect(tie.cursor.seen).toBeUndefined();
    const q = searchFor(tie.cursor, 'm', [], 3);
    expect(q.sort).toBe('hs_object_id');
    expect(q.filterGroups[0]).toContainEqual({ propertyName: 'hs_object_id', operator: 'GT', value: '0' });
    const within = advance(tie.cursor, rows(['4', 5], ['7', 5], ['9', 5]), 3);
    expect(within.cursor.lastId).toBe('9');
    const out = advance(within.cursor, rows(['12', 5]), 3);
    expect(out).toEqual({ done: false, cursor: { phase: 'initial', updatedAfter: t(5), lastId: null, pageToken: null } });
  });

  it('ends with an exclusive incremental cursor at the newest time seen', () => {
    const end = advance({ phase: 'initial', updatedAfter: t(1), lastId: null, pageToken: 'gte' }, rows(['1', 1], ['5', 8]), 3);
    expect(end).toEqual({ done: true, cursor: { phase: 'incremental', updatedAfter: t(8), lastId: null, pageToken: null } });
    const empty = advance(end.cursor, [], 3);
    expect(empty).toEqual({ done: true, cursor: end.cursor });
  });

  it('always makes progress: a cursor never repeats while pages are full', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 5 })), { minLength: 3, maxLength: 3 }),
      (pairs) => {
        const sorted = [...pairs].sort((a, b) => a[1] - b[1]).map(([id, s]) => ({ id: String(id), modified: t(s) }));
        const from: PullCursor = { phase: 'initial', updatedAfter: t(0), lastId: null, pageToken: 'gte' };
        const next = advance(from, sorted, 3);
        return next.done || JSON.stringify(next.cursor) !== JSON.stringify(from) || sorted.every((r) => r.modified === t(0));
      },
    ));
  });
});

describe('walk completeness (property)', () => {
  /** A tiny in-memory search honouring the query the walk builds, with ties in an arbitrary (seeded) order. */
  function search(records: { id: number; t: number }[], q: ReturnType<typeof searchFor>, shuffleSeed: number) {
    const ok = (r: { id: number; t: number }) =>
      q.filterGroups.length === 0 ||
      q.filterGroups.some((g) => g.every((f) => {
        const v = f.propertyName === 'hs_object_id' ? r.id : r.t;
        if ('values' in f) return !f.values.map(Number).includes(v);
        const x = Number(f.value);
        return f.operator === 'EQ' ? v === x : f.operator === 'GT' ? v > x : v >= x;
      }));
    const tieKey = (id: number) => (id * 2654435761 + shuffleSeed) % 4294967296;
    return records
      .filter(ok)
      .sort((a, b) => (q.sort === 'hs_object_id' ? a.id - b.id : a.t - b.t || tieKey(a.id) - tieKey(b.id)))
      .slice(0, q.limit);
  }

  it('returns every record exactly once whatever the ties, page size and tie order', () => {
    const base = Date.parse('2025-01-01T00:00:00.000Z');
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { minLength: 0, maxLength: 120 }),
      fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 120, maxLength: 120 }),
      fc.integer({ min: 1, max: 12 }),
      fc.nat(),
      (ids, times, limit, seed) => {
        const records = ids.map((id, i) => ({ id, t: base + (times[i] ?? 0) * 1000 }));
        let cursor: PullCursor = initialCursor;
        const seen = new Set<number>();
        let returned = 0;
        for (let pages = 0; pages < 1000; pages++) {
          const q = searchFor(cursor, 'm', [], limit);
          const rows = search(records, q, seed);
          rows.forEach((r) => seen.add(r.id));
          returned += rows.length;
          const next = advance(cursor, rows.map((r) => ({ id: String(r.id), modified: new Date(r.t).toISOString() })), limit);
          cursor = next.cursor;
          // Never more than 100 records share a time here, so none is ever read twice.
          if (next.done) return seen.size === records.length && returned === records.length;
        }
        return false;
      },
    ), { numRuns: 300 });
  });
});

describe('index lag allowance', () => {
  const t = (s: number) => new Date(Date.parse('2025-01-01T00:00:00.000Z') + s * 1000).toISOString();
  it('keeps a finished cursor at or before the settled instant, inclusively', () => {
    const rows = [{ id: '1', modified: t(1) }, { id: '2', modified: t(9) }];
    expect(advance(initialCursor, rows, 5, t(5)).cursor).toEqual({ phase: 'incremental', updatedAfter: t(5), lastId: null, pageToken: 'gte' });
    expect(advance(initialCursor, rows, 5, t(20)).cursor).toEqual({ phase: 'incremental', updatedAfter: t(9), lastId: null, pageToken: null });
    // Never moves a cursor backwards past where the walk started.
    const from: PullCursor = { phase: 'incremental', updatedAfter: t(7), lastId: null, pageToken: null };
    expect(advance(from, [{ id: '2', modified: t(9) }], 5, t(5)).cursor).toMatchObject({ updatedAfter: t(7), pageToken: 'gte' });
  });
});
