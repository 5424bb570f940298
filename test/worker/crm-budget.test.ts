import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { Budget, type Reservation } from '../../src/crm/budget/bucket';
import type { CrmBudget } from '../../src/crm/budget/durable-object';
import { BudgetExhaustedError, budgetGate } from '../../src/crm/budget/gate';
import { HUBSPOT_LIMITS, type Limits } from '../../src/crm/budget/limits';
import { loadConfig } from '../../src/env';
import { accountGates, accountKeyFor } from '../../src/sync/connectors';

/** The CRM_BUDGET binding, checked rather than cast, so this file type-checks before and after `wrangler types` adds it. */
function budgets(): DurableObjectNamespace<CrmBudget> {
  const ns: unknown = Reflect.get(env, 'CRM_BUDGET');
  if (!isNamespace(ns)) throw new Error('CRM_BUDGET Durable Object binding is missing from wrangler.toml');
  return ns;
}
function isNamespace(v: unknown): v is DurableObjectNamespace<CrmBudget> {
  return typeof v === 'object' && v !== null && 'idFromName' in v && 'get' in v;
}

const stubFor = (key: string) => budgets().get(budgets().idFromName(key));
/** Each test its own account: the Durable Objects persist across tests in a file. */
const account = (name: string) => `hubspot:test-${name}-${crypto.randomUUID()}`;

const small = (capacity: number, windowMs: number): Limits => ({
  buckets: { default: { capacity, windowMs }, search: { capacity: 1, windowMs, parent: 'default' } },
  daily: null,
});

/** Sleeps are recorded, not slept: the reserved instants are what the test measures. */
const noSleep = async () => {};

describe('CrmBudget Durable Object', () => {
  it('never lets two concurrent gates on one account exceed capacity in any window', async () => {
    const key = account('shared');
    await stubFor(key).configure(small(5, 1_000));
    const seen: Reservation[] = [];
    const opts = { maxWaitMs: 60_000, onReserve: (r: Reservation) => void seen.push(r) };
    const a = budgetGate(budgets(), key, noSleep, opts);
    const b = budgetGate(budgets(), key, noSleep, opts);
    await Promise.all([...Array.from({ length: 12 }, () => a.take('default')), ...Array.from({ length: 12 }, () => b.take('default'))]);

    expect(seen).toHaveLength(24);
    expect(seen.every((r) => r.granted)).toBe(true);
    const instants = seen.map((r) => r.atMs).sort((x, y) => x - y);
    for (const end of instants) expect(instants.filter((t) => t > end - 1_000 && t <= end).length).toBeLessThanOrEqual(5);
    // 24 requests at 5 per second: the last one can go no sooner than 4 windows after the first.
    expect(instants.at(-1)! - instants[0]!).toBeGreaterThanOrEqual(4_000);
  });

  it('keeps accounts independent', async () => {
    const full = account('full');
    const other = account('other');
    await stubFor(full).configure(small(2, 60_000));
    await stubFor(other).configure(small(2, 60_000));
    await stubFor(full).reserve('default', 2);
    expect((await stubFor(full).reserve('default', 1)).waitMs).toBeGreaterThan(0);
    expect(await stubFor(other).reserve('default', 1)).toMatchObject({ granted: true, waitMs: 0 });
  });

  it('honours a pause: callers wait for it, or give up without reserving when it is too long', async () => {
    const key = account('paused');
    const stub = stubFor(key);
    const until = Date.now() + 30_000;
    await stub.pause(until, '429 Retry-After');
    const r = await stub.reserve('default', 1, 120_000);
    expect(r).toMatchObject({ granted: true, reason: 'paused' });
    expect(r.atMs).toBe(until);

    const gate = budgetGate(budgets(), key, noSleep, { maxWaitMs: 1_000 });
    await expect(gate.take('default')).rejects.toBeInstanceOf(BudgetExhaustedError);
    const status = await stub.status();
    expect(status).toMatchObject({ pausedUntil: until, reason: '429 Retry-After' });
    expect(status.buckets.find((s) => s.name === 'default')?.queued).toBe(1);
  });

  it('reports usage in status, including searches against the general window and noted external use', async () => {
    const key = account('status');
    const stub = stubFor(key);
    await stub.configure({ buckets: { default: { capacity: 10, windowMs: 60_000 }, search: { capacity: 3, windowMs: 60_000, parent: 'default' } }, daily: 1_000 });
    const gate = budgetGate(budgets(), key, noSleep);
    for (let i = 0; i < 3; i++) await gate.take('default');
    await gate.take('search');
    await gate.noteRemaining('default', 4);
    const status = await stub.status();
    expect(status.buckets).toEqual([
      { name: 'default', capacity: 10, windowMs: 60_000, used: 6, remaining: 4, queued: 0 },
      { name: 'search', capacity: 3, windowMs: 60_000, used: 1, remaining: 2, queued: 0 },
    ]);
    expect(status.daily).toEqual({ capacity: 1_000, used: 4 });
    expect(status.pausedUntil).toBeNull();
  });

  it('starts from defaults chosen by the account key', async () => {
    const hub = await stubFor(account('defaults')).status();
    expect(hub.buckets.map((b) => [b.name, b.capacity, b.windowMs])).toEqual([
      ['default', 100, 10_000],
      ['search', 4, 1_000],
    ]);
    const sf = await stubFor(`salesforce:test-${crypto.randomUUID()}`).status();
    expect(sf.buckets.map((b) => [b.name, b.capacity, b.windowMs])).toEqual([['default', 20, 1_000]]);
  });

  it('refuses invalid limits over RPC and keeps the old ones', async () => {
    const stub = stubFor(account('invalid'));
    const bad = { buckets: { default: { capacity: 0, windowMs: 1_000 } }, daily: null };
    const result = await stub.configure(bad);
    expect(result).toEqual({ ok: false, issues: ['buckets.default.capacity: Too small: expected number to be >0'] });
    expect((await stub.status()).buckets[0]?.capacity).toBe(100);
  });

  it('persists pauses, limits and counts, so a restarted object keeps them', async () => {
    const key = account('persist');
    const stub = stubFor(key);
    await stub.configure(small(3, 60_000));
    await stub.reserve('default', 2);
    const until = Date.now() + 3_600_000;
    await stub.pause(until, 'daily limit reached');

    const stored = await runInDurableObject(stub, (_instance: CrmBudget, state) => state.storage.get('budget'));
    // What a fresh instance would load in its constructor.
    const restored = Budget.restore(stored).status(Date.now());
    expect(restored).toMatchObject({ pausedUntil: until, reason: 'daily limit reached' });
    expect(restored.buckets[0]).toMatchObject({ capacity: 3, used: 2 });
    expect(await stub.status()).toEqual(restored);
  });

  it('sets the HubSpot allowance from configuration also when it is back at the default 100', async () => {
    // An earlier deploy with HUBSPOT_REQUESTS_PER_10S=190 left its limits in the object's storage.
    const key = accountKeyFor('hubspot', loadConfig(env));
    const stub = stubFor(key);
    await stub.configure({ ...HUBSPOT_LIMITS, buckets: { ...HUBSPOT_LIMITS.buckets, default: { capacity: 190, windowMs: 10_000 } } });
    const defaultCapacity = async () => (await stub.status()).buckets.find((b) => b.name === 'default')!.capacity;
    expect(await defaultCapacity()).toBe(190);
    await accountGates(env)('hubspot', key)!.take('default', 1);
    expect(loadConfig(env).HUBSPOT_REQUESTS_PER_10S).toBe(100);
    expect(await defaultCapacity()).toBe(100);
  });
});
