import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Budget, DAY_MS } from './bucket';
import { HUBSPOT_LIMITS, parseLimits, SALESFORCE_LIMITS, type Limits } from './limits';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

function reserveMany(b: Budget, n: number, bucket: string, now: number) {
  return Array.from({ length: n }, () => b.reserve(bucket, 1, now));
}

describe('Budget: HubSpot defaults', () => {
  it.each([
    { label: '100th default goes at once', bucket: 'default', before: 99, waitMs: 0 },
    { label: '101st default waits for the first to leave the 10 s window', bucket: 'default', before: 100, waitMs: 10_000 },
    { label: '4th search goes at once', bucket: 'search', before: 3, waitMs: 0 },
    { label: '5th search waits a second', bucket: 'search', before: 4, waitMs: 1_000 },
  ])('$label', ({ bucket, before, waitMs }) => {
    const b = new Budget(HUBSPOT_LIMITS);
    reserveMany(b, before, bucket, T0);
    const r = b.reserve(bucket, 1, T0);
    expect(r).toMatchObject({ granted: true, waitMs, atMs: T0 + waitMs, reason: waitMs > 0 ? 'rate' : null });
  });

  it('charges a search against the general window too', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    reserveMany(b, 100, 'default', T0);
    expect(b.reserve('search', 1, T0 + 500).waitMs).toBe(9_500);
    expect(b.status(T0 + 10_000).buckets.find((s) => s.name === 'default')).toMatchObject({ used: 1, queued: 0 });
  });

  it('does not hold general requests behind queued searches', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    reserveMany(b, 4, 'search', T0);
    expect(b.reserve('search', 1, T0).waitMs).toBe(1_000);
    expect(b.reserve('default', 1, T0).waitMs).toBe(0);
  });

  it('spends a cost of several units at one instant', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    expect(b.reserve('default', 60, T0).waitMs).toBe(0);
    expect(b.reserve('default', 60, T0 + 1).waitMs).toBe(9_999);
  });

  it.each([0, -1, 1.5, 101])('rejects cost %s', (cost) => {
    expect(() => new Budget(HUBSPOT_LIMITS).reserve('default', cost, T0)).toThrow(RangeError);
  });

  it('bills a bucket the account has no limit for to default (Salesforce has no search limit)', () => {
    const b = new Budget(SALESFORCE_LIMITS);
    reserveMany(b, 20, 'search', T0);
    expect(b.reserve('default', 1, T0).waitMs).toBe(1_000);
  });
});

describe('Budget: maxWaitMs', () => {
  it('reserves nothing when the wait is too long', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    reserveMany(b, 100, 'default', T0);
    expect(b.reserve('default', 1, T0, 5_000)).toMatchObject({ granted: false, waitMs: 10_000, reason: 'rate' });
    expect(b.status(T0).buckets[0]).toMatchObject({ used: 100, queued: 0 });
  });
});

describe('Budget: pause', () => {
  it('holds every reservation until the pause ends, and reports it', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    b.pause(T0 + 30_000, '429 Retry-After', T0);
    expect(b.reserve('default', 1, T0 + 1_000)).toMatchObject({ waitMs: 29_000, reason: 'paused' });
    expect(b.status(T0)).toMatchObject({ pausedUntil: T0 + 30_000, reason: '429 Retry-After' });
    expect(b.status(T0 + 30_000)).toMatchObject({ pausedUntil: null, reason: null });
  });

  it('is never shortened by a shorter pause, and is extended by a longer one', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    b.pause(T0 + 30_000, 'long', T0);
    b.pause(T0 + 5_000, 'short', T0);
    expect(b.status(T0)).toMatchObject({ pausedUntil: T0 + 30_000, reason: 'long' });
    b.pause(T0 + 60_000, 'longer', T0);
    expect(b.status(T0)).toMatchObject({ pausedUntil: T0 + 60_000, reason: 'longer' });
  });

  it('ignores a pause already over', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    b.pause(T0 - 1, 'old', T0);
    expect(b.reserve('default', 1, T0).waitMs).toBe(0);
  });
});

describe('Budget: noteRemaining', () => {
  it('records use by others when the CRM reports less remaining than we counted', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    reserveMany(b, 10, 'default', T0);
    b.noteRemaining('default', 50, T0 + 100);
    expect(b.status(T0 + 100).buckets[0]).toMatchObject({ used: 50, remaining: 50 });
    reserveMany(b, 50, 'default', T0 + 100);
    // The window is full: the next slot opens when our first ten leave it.
    expect(b.reserve('default', 1, T0 + 100).waitMs).toBe(9_900);
  });

  it('ignores more remaining than we counted', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    reserveMany(b, 10, 'default', T0);
    b.noteRemaining('default', 100, T0);
    expect(b.status(T0).buckets[0]).toMatchObject({ used: 10 });
  });

  it('ignores buckets it has no limit for', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    b.noteRemaining('nope', 0, T0);
    expect(b.reserve('default', 1, T0).waitMs).toBe(0);
  });

  it('without a daily cap, pauses until the next UTC day when the day is used up', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    b.noteRemaining('daily', 0, T0);
    const midnight = Math.ceil(T0 / DAY_MS) * DAY_MS;
    expect(b.reserve('default', 1, T0)).toMatchObject({ atMs: midnight, reason: 'paused' });
  });

  it('with a daily cap, raises today’s count to what the CRM says', () => {
    const b = new Budget({ ...HUBSPOT_LIMITS, daily: 1_000 });
    b.noteRemaining('daily', 10, T0);
    expect(b.status(T0).daily).toEqual({ capacity: 1_000, used: 990 });
  });
});

describe('Budget: daily cap', () => {
  it('moves reservations past the cap to the next UTC day, and resets there', () => {
    const b = new Budget({ ...HUBSPOT_LIMITS, daily: 3 });
    reserveMany(b, 3, 'default', T0);
    const midnight = Math.ceil(T0 / DAY_MS) * DAY_MS;
    expect(b.reserve('default', 1, T0)).toMatchObject({ atMs: midnight, reason: 'daily' });
    expect(b.status(T0).daily.used).toBe(3);
    expect(b.status(midnight).daily.used).toBe(1);
    expect(b.reserve('default', 2, midnight).waitMs).toBe(0);
    expect(b.reserve('default', 1, midnight).atMs).toBe(midnight + DAY_MS);
  });
});

describe('Budget: configure and snapshots', () => {
  it('takes new limits (HubSpot Professional: 190 / 10 s) and keeps granted reservations', () => {
    const b = new Budget(HUBSPOT_LIMITS);
    reserveMany(b, 100, 'default', T0);
    b.configure({ ...HUBSPOT_LIMITS, buckets: { ...HUBSPOT_LIMITS.buckets, default: { capacity: 190, windowMs: 10_000 } } });
    expect(reserveMany(b, 90, 'default', T0).every((r) => r.waitMs === 0)).toBe(true);
    expect(b.reserve('default', 1, T0).waitMs).toBe(10_000);
  });

  it.each([
    { label: 'no default bucket', limits: { buckets: { search: { capacity: 1, windowMs: 1 } }, daily: null } },
    { label: 'unknown parent', limits: { buckets: { default: { capacity: 1, windowMs: 1, parent: 'x' } }, daily: null } },
    { label: 'a parent cycle', limits: { buckets: { default: { capacity: 1, windowMs: 1, parent: 'a' }, a: { capacity: 1, windowMs: 1, parent: 'default' } }, daily: null } },
    { label: 'zero capacity', limits: { buckets: { default: { capacity: 0, windowMs: 1 } }, daily: null } },
  ])('rejects limits with $label', ({ limits }) => {
    expect(() => parseLimits(limits)).toThrow();
  });

  it('restores to the same behaviour from a JSON round trip', () => {
    const a = new Budget({ ...HUBSPOT_LIMITS, daily: 500 });
    reserveMany(a, 104, 'default', T0);
    reserveMany(a, 6, 'search', T0);
    a.pause(T0 + 20_000, 'why', T0);
    const b = Budget.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.status(T0)).toEqual(a.status(T0));
    expect(b.reserve('search', 1, T0)).toEqual(a.reserve('search', 1, T0));
  });

  it('refuses something that is not a snapshot', () => {
    expect(() => Budget.restore({ v: 2 })).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Properties, on small integer limits so a brute-force oracle can check every instant.

type Op = { kind: 'reserve'; dt: number; bucket: 'default' | 'search'; cost: number; maxWait: number } | { kind: 'pause'; dt: number; forMs: number } | { kind: 'note'; dt: number; remaining: number };

const limitsArb = fc.record({
  dc: fc.integer({ min: 1, max: 6 }),
  dw: fc.integer({ min: 1, max: 20 }),
  sc: fc.integer({ min: 1, max: 4 }),
  sw: fc.integer({ min: 1, max: 12 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('reserve' as const), dt: fc.integer({ min: 0, max: 8 }), bucket: fc.constantFrom('default' as const, 'search' as const), cost: fc.integer({ min: 1, max: 3 }), maxWait: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 30 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), dt: fc.integer({ min: 0, max: 8 }), forMs: fc.integer({ min: 0, max: 25 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('note' as const), dt: fc.integer({ min: 0, max: 8 }), remaining: fc.integer({ min: 0, max: 6 }) }) },
);

function limitsOf(l: { dc: number; dw: number; sc: number; sw: number }): Limits {
  return { buckets: { default: { capacity: l.dc, windowMs: l.dw }, search: { capacity: l.sc, windowMs: l.sw, parent: 'default' } }, daily: null };
}

interface Granted {
  chain: string[];
  at: number;
  cost: number;
}

/** Units of `bucket` in (x − w, x] over granted reservations. */
function unitsEnding(granted: Granted[], bucket: string, x: number, w: number): number {
  return granted.filter((g) => g.chain.includes(bucket) && g.at > x - w && g.at <= x).reduce((n, g) => n + g.cost, 0);
}

/** Brute force: can `cost` more units go at integer instant t without any window of any chained bucket overflowing? */
function oracleFits(limits: Limits, granted: Granted[], chain: string[], cost: number, t: number): boolean {
  return chain.every((name) => {
    const spec = limits.buckets[name];
    if (!spec) return false;
    for (let x = t; x < t + spec.windowMs; x++) if (unitsEnding(granted, name, x, spec.windowMs) + cost > spec.capacity) return false;
    return true;
  });
}

describe('Budget properties', () => {
  it('never reserves more than capacity in any window, even with pauses and external use noted', () => {
    fc.assert(
      fc.property(limitsArb, fc.array(opArb, { maxLength: 40 }), (l, ops) => {
        const limits = limitsOf(l);
        const b = new Budget(limits);
        const granted: Granted[] = [];
        let now = 0;
        for (const op of ops) {
          now += op.dt;
          if (op.kind === 'pause') b.pause(now + op.forMs, 'p', now);
          else if (op.kind === 'note') b.noteRemaining('default', op.remaining, now);
          else {
            const chain = op.bucket === 'search' ? ['search', 'default'] : ['default'];
            const cost = Math.min(op.cost, ...chain.map((c) => limits.buckets[c]?.capacity ?? 1));
            const r = b.reserve(op.bucket, cost, now, op.maxWait);
            expect(r.atMs).toBeGreaterThanOrEqual(now);
            expect(r.granted).toBe(r.waitMs <= op.maxWait);
            if (r.granted) granted.push({ chain, at: r.atMs, cost });
          }
        }
        for (const [name, spec] of Object.entries(limits.buckets)) {
          for (const g of granted) expect(unitsEnding(granted, name, g.at, spec.windowMs)).toBeLessThanOrEqual(spec.capacity);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reserves the earliest instant that fits (waits are minimal), granted or not', () => {
    fc.assert(
      fc.property(limitsArb, fc.array(opArb.filter((o) => o.kind !== 'note'), { maxLength: 30 }), (l, ops) => {
        const limits = limitsOf(l);
        const b = new Budget(limits);
        const granted: Granted[] = [];
        let now = 0;
        let pausedUntil = 0;
        for (const op of ops) {
          now += op.dt;
          if (op.kind === 'pause') {
            b.pause(now + op.forMs, 'p', now);
            pausedUntil = Math.max(pausedUntil, now + op.forMs);
          } else if (op.kind === 'reserve') {
            const chain = op.bucket === 'search' ? ['search', 'default'] : ['default'];
            const cost = Math.min(op.cost, ...chain.map((c) => limits.buckets[c]?.capacity ?? 1));
            const r = b.reserve(op.bucket, cost, now, op.maxWait);
            const lower = Math.max(now, pausedUntil);
            let expected = lower;
            while (!oracleFits(limits, granted, chain, cost, expected)) expected++;
            expect(r.atMs).toBe(expected);
            if (r.granted) granted.push({ chain, at: r.atMs, cost });
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
