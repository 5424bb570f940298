import { describe, expect, it } from 'vitest';
import { BudgetExhaustedError, localGate, type Clock } from './gate';
import type { Limits } from './limits';
import { budgetSignals, retryAfterUntil } from './signals';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const SMALL: Limits = { buckets: { default: { capacity: 3, windowMs: 1_000 }, search: { capacity: 1, windowMs: 500, parent: 'default' } }, daily: null };

/** A clock that never really sleeps: each caller's sleep is recorded and resolves at once. */
function fakeClock(start = T0): Clock & { slept: number[]; set(ms: number): void } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    set: (ms) => void (now = ms),
    sleep: async (ms) => void slept.push(ms),
  };
}

describe('localGate', () => {
  it('queues concurrent callers in call order, one window at a time', async () => {
    const clock = fakeClock();
    const gate = localGate(SMALL, clock);
    await Promise.all(Array.from({ length: 8 }, () => gate.take('default')));
    expect(clock.slept).toEqual([1_000, 1_000, 1_000, 2_000, 2_000]);
  });

  it('spends search against both limits', async () => {
    const clock = fakeClock();
    const gate = localGate(SMALL, clock);
    await gate.take('search');
    await gate.take('search');
    expect(clock.slept).toEqual([500]);
    expect((await gate.status()).buckets.map((b) => [b.name, b.used, b.queued])).toEqual([
      ['default', 1, 1],
      ['search', 1, 1],
    ]);
  });

  it('throws BudgetExhaustedError, reserving nothing, when the wait exceeds maxWaitMs', async () => {
    const clock = fakeClock();
    const gate = localGate(SMALL, clock, { maxWaitMs: 100 });
    await gate.pause(T0 + 60_000, 'daily limit');
    const error = await gate.take('default').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExhaustedError);
    expect(error).toMatchObject({ waitMs: 60_000, reason: 'paused' });
    expect((await gate.status()).buckets[0]?.queued).toBe(0);
  });

  it('observes a 429 with Retry-After as a pause for everyone', async () => {
    const clock = fakeClock();
    const gate = localGate(SMALL, clock);
    await gate.observe(429, new Headers({ 'Retry-After': '7' }));
    expect(await gate.status()).toMatchObject({ pausedUntil: T0 + 7_000 });
    await gate.take('default');
    expect(clock.slept).toEqual([7_000]);
  });

  it('observes X-HubSpot-RateLimit-Remaining as use by others', async () => {
    const clock = fakeClock();
    const gate = localGate(SMALL, clock);
    await gate.observe(200, { 'x-hubspot-ratelimit-remaining': '0' });
    await gate.take('default');
    expect(clock.slept).toEqual([1_000]);
  });
});

describe('budgetSignals', () => {
  it.each([
    { label: 'HubSpot window remaining', status: 200, headers: { 'X-HubSpot-RateLimit-Remaining': '42' }, out: [{ kind: 'remaining', bucket: 'default', remaining: 42 }] },
    { label: 'HubSpot daily remaining', status: 200, headers: { 'x-hubspot-ratelimit-daily-remaining': '9000' }, out: [{ kind: 'remaining', bucket: 'daily', remaining: 9000 }] },
    { label: 'Salesforce api-usage', status: 200, headers: { 'Sforce-Limit-Info': 'api-usage=18/15000' }, out: [{ kind: 'remaining', bucket: 'daily', remaining: 14982 }] },
    { label: 'Salesforce over its limit', status: 200, headers: { 'Sforce-Limit-Info': 'api-usage=15010/15000' }, out: [{ kind: 'remaining', bucket: 'daily', remaining: 0 }] },
    { label: '429 with Retry-After seconds', status: 429, headers: { 'Retry-After': '3' }, out: [{ kind: 'pause', untilMs: T0 + 3_000 }] },
    { label: '429 without Retry-After fills the window', status: 429, headers: {}, out: [{ kind: 'remaining', bucket: 'default', remaining: 0 }] },
    { label: '429 with remaining header only', status: 429, headers: { 'X-HubSpot-RateLimit-Remaining': '0' }, out: [{ kind: 'remaining', bucket: 'default', remaining: 0 }] },
    { label: 'garbage', status: 200, headers: { 'X-HubSpot-RateLimit-Remaining': 'lots', 'Sforce-Limit-Info': 'nope' }, out: [] },
    { label: 'Retry-After on a success is not a pause', status: 200, headers: { 'Retry-After': '3' }, out: [] },
  ])('$label', ({ status, headers, out }) => {
    const signals = budgetSignals(status, headers, T0);
    expect(signals).toHaveLength(out.length);
    out.forEach((expected, i) => expect(signals[i]).toMatchObject(expected));
  });

  it.each([
    { raw: '0', until: null },
    { raw: '120', until: T0 + 120_000 },
    { raw: new Date(T0 + 5_000).toUTCString(), until: T0 + 5_000 },
    { raw: 'soon', until: null },
  ])('Retry-After $raw', ({ raw, until }) => {
    const got = retryAfterUntil(raw, T0);
    expect(got !== null && got > T0 ? got : null).toBe(until);
  });
});
