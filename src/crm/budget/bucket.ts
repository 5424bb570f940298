/**
 * A pure rolling-window limiter for one CRM account: no I/O, the caller passes the time. Each request is a reservation of
 * `cost` units at one instant; a window bucket guarantees that no rolling window of `windowMs` holds more than `capacity`
 * units (a window is half-open, (x − windowMs, x]). Reservations are placed at the earliest instant that keeps every window
 * valid, possibly in the future: the caller waits until then. A granted reservation never moves, so a caller that queued
 * first is never overtaken in a way that delays it; a small request may fill a gap before a queued large one.
 *
 * Future reservations are why this is a log of stamps rather than a token counter: an instant is valid only if it also fits
 * the windows that already-granted later reservations fall in.
 */
import * as z from 'zod';
import { parseLimits, type Limits } from './limits';

export const DAY_MS = 86_400_000;

export type WaitReason = 'paused' | 'daily' | 'rate';

export interface Reservation {
  granted: boolean;
  /** Milliseconds from now until the request may go out; when not granted, until it could have. */
  waitMs: number;
  /** The reserved instant (or, when not granted, the earliest possible one). */
  atMs: number;
  /** What made the caller wait; null when it may go at once. */
  reason: WaitReason | null;
}

export interface BucketStatus {
  name: string;
  capacity: number;
  windowMs: number;
  /** Units in the window ending now (including children's and noted external use). */
  used: number;
  remaining: number;
  /** Units reserved for instants after now. */
  queued: number;
}

export interface BudgetStatus {
  buckets: BucketStatus[];
  pausedUntil: number | null;
  reason: string | null;
  daily: { capacity: number | null; used: number };
}

/** Sorted by time; units at the same instant are merged. */
type Stamps = [atMs: number, units: number][];

const snapshotSchema = z.object({
  v: z.literal(1),
  limits: z.unknown(),
  pausedUntil: z.number().nullable(),
  reason: z.string().nullable(),
  stamps: z.record(z.string(), z.array(z.tuple([z.number(), z.number().int().positive()]))),
  days: z.array(z.tuple([z.number().int(), z.number().int().nonnegative()])),
});
export type BudgetSnapshot = z.infer<typeof snapshotSchema>;

const dayOf = (ms: number) => Math.floor(ms / DAY_MS);

export class Budget {
  private limits: Limits;
  private stamps = new Map<string, Stamps>();
  /** Units per UTC day index; only today and days holding future reservations are kept. */
  private days = new Map<number, number>();
  private pausedUntil: number | null = null;
  private pauseReason: string | null = null;

  constructor(limits: Limits) {
    this.limits = parseLimits(limits);
  }

  /** Replaces the limits. Reservations already granted stay (they may have gone out); removed buckets are forgotten. */
  configure(limits: Limits): void {
    this.limits = parseLimits(limits);
    for (const name of [...this.stamps.keys()]) if (!this.limits.buckets[name]) this.stamps.delete(name);
  }

  /**
   * Reserves `cost` units of `bucket` (and its parents) at the earliest valid instant ≥ nowMs. If that is more than
   * `maxWaitMs` away, nothing is reserved and `granted` is false, so a caller that gives up does not waste capacity.
   */
  reserve(bucket: string, cost: number, nowMs: number, maxWaitMs = Number.POSITIVE_INFINITY): Reservation {
    const chain = this.chainFor(bucket);
    if (!Number.isInteger(cost) || cost < 1) throw new RangeError(`cost must be a positive integer, got ${cost}`);
    for (const name of chain) {
      const cap = this.spec(name).capacity;
      if (cost > cap) throw new RangeError(`cost ${cost} exceeds the capacity ${cap} of bucket ${name}`);
    }
    if (this.limits.daily !== null && cost > this.limits.daily) throw new RangeError(`cost ${cost} exceeds the daily cap`);
    this.prune(nowMs);

    const paused = this.pausedUntil !== null && this.pausedUntil > nowMs;
    const lower = paused && this.pausedUntil !== null ? this.pausedUntil : nowMs;
    const at = this.earliest(chain, cost, lower);
    const waitMs = at - nowMs;
    const reason: WaitReason | null = waitMs <= 0 ? null : paused && at === lower ? 'paused' : this.dailyBlocks(lower, cost) ? 'daily' : 'rate';
    if (waitMs > maxWaitMs) return { granted: false, waitMs, atMs: at, reason };
    for (const name of chain) insert(this.stampsOf(name), at, cost);
    this.days.set(dayOf(at), (this.days.get(dayOf(at)) ?? 0) + cost);
    return { granted: true, waitMs, atMs: at, reason };
  }

  /**
   * The CRM says `remaining` units are left in `bucket`'s current window (or today, for 'daily'). If that is fewer than we
   * think, something else uses the same account: the difference is recorded as used now, so our callers slow down. More
   * than we think is ignored — granted reservations cannot be taken back, and being cautious costs only a little speed.
   */
  noteRemaining(bucket: string, remaining: number, nowMs: number): void {
    if (!Number.isFinite(remaining)) return;
    this.prune(nowMs);
    if (bucket === 'daily') {
      const cap = this.limits.daily;
      if (cap === null) {
        // Without a cap we cannot count toward it; an exhausted day still stops everyone until it resets.
        if (remaining <= 0) this.pause((dayOf(nowMs) + 1) * DAY_MS, 'daily limit reached', nowMs);
        return;
      }
      const today = dayOf(nowMs);
      this.days.set(today, Math.max(this.days.get(today) ?? 0, cap - Math.max(0, remaining)));
      return;
    }
    const spec = this.limits.buckets[bucket];
    if (!spec) return;
    const deficit = spec.capacity - this.usedAt(bucket, nowMs) - Math.max(0, remaining);
    if (deficit > 0) insert(this.stampsOf(bucket), nowMs, deficit);
  }

  /** No reservation before `untilMs` (after a 429 with Retry-After, or a daily limit). A shorter pause never shortens one. */
  pause(untilMs: number, reason: string, nowMs: number): void {
    if (untilMs <= nowMs) return;
    if (this.pausedUntil !== null && this.pausedUntil > nowMs && this.pausedUntil >= untilMs) return;
    this.pausedUntil = untilMs;
    this.pauseReason = reason;
  }

  status(nowMs: number): BudgetStatus {
    this.prune(nowMs);
    const buckets = Object.entries(this.limits.buckets).map(([name, spec]) => {
      const used = this.usedAt(name, nowMs);
      const queued = this.stampsOf(name).reduce((n, [at, units]) => (at > nowMs ? n + units : n), 0);
      return { name, capacity: spec.capacity, windowMs: spec.windowMs, used, remaining: Math.max(0, spec.capacity - used), queued };
    });
    const paused = this.pausedUntil !== null && this.pausedUntil > nowMs;
    return {
      buckets,
      pausedUntil: paused ? this.pausedUntil : null,
      reason: paused ? this.pauseReason : null,
      daily: { capacity: this.limits.daily, used: this.days.get(dayOf(nowMs)) ?? 0 },
    };
  }

  snapshot(): BudgetSnapshot {
    return {
      v: 1,
      limits: this.limits,
      pausedUntil: this.pausedUntil,
      reason: this.pauseReason,
      stamps: Object.fromEntries([...this.stamps].map(([name, s]) => [name, s.map(([at, n]): [number, number] => [at, n])])),
      days: [...this.days],
    };
  }

  /** Rebuilds a budget from a stored snapshot; throws if it is not one (the caller then starts afresh). */
  static restore(input: unknown): Budget {
    const snap = snapshotSchema.parse(input);
    const budget = new Budget(parseLimits(snap.limits));
    for (const [name, stamps] of Object.entries(snap.stamps)) {
      if (budget.limits.buckets[name]) budget.stamps.set(name, [...stamps].sort((a, b) => a[0] - b[0]));
    }
    for (const [day, used] of snap.days) budget.days.set(day, used);
    budget.pausedUntil = snap.pausedUntil;
    budget.pauseReason = snap.reason;
    return budget;
  }

  /** The bucket and its parents. A bucket this account has no limit for (Salesforce has no search limit) costs default. */
  private chainFor(bucket: string): string[] {
    if (!this.limits.buckets[bucket]) return ['default'];
    const chain: string[] = [];
    for (let b: string | undefined = bucket; b !== undefined; b = this.limits.buckets[b]?.parent) chain.push(b);
    return chain;
  }

  private spec(name: string) {
    const spec = this.limits.buckets[name];
    if (!spec) throw new RangeError(`unknown bucket ${name}`);
    return spec;
  }

  private stampsOf(name: string): Stamps {
    let s = this.stamps.get(name);
    if (!s) this.stamps.set(name, (s = []));
    return s;
  }

  private usedAt(name: string, x: number): number {
    return unitsIn(this.stampsOf(name), x - this.spec(name).windowMs, x);
  }

  /** Stamps at or before now − window can no longer be in any window that ends now or later; past days never count again. */
  private prune(nowMs: number): void {
    for (const [name, stamps] of this.stamps) {
      const spec = this.limits.buckets[name];
      if (!spec) continue;
      let drop = 0;
      while (drop < stamps.length && (stamps[drop]?.[0] ?? 0) <= nowMs - spec.windowMs) drop++;
      if (drop > 0) stamps.splice(0, drop);
    }
    const today = dayOf(nowMs);
    for (const day of [...this.days.keys()]) if (day < today) this.days.delete(day);
  }

  private dailyBlocks(at: number, cost: number): boolean {
    return this.limits.daily !== null && (this.days.get(dayOf(at)) ?? 0) + cost > this.limits.daily;
  }

  /**
   * The earliest instant ≥ lower where `cost` more units fit every bucket in `chain` and the day. Validity only changes at a
   * stamp leaving a window (stamp + window) or a day starting, so the earliest valid instant is among those candidates.
   */
  private earliest(chain: string[], cost: number, lower: number): number {
    const candidates = new Set<number>([lower]);
    for (const name of chain) {
      const w = this.spec(name).windowMs;
      for (const [at] of this.stampsOf(name)) if (at + w > lower) candidates.add(at + w);
    }
    if (this.limits.daily !== null) {
      // Enough day starts to get past every day that holds reservations.
      const first = dayOf(lower);
      const last = Math.max(first, ...this.days.keys());
      for (let d = first + 1; d <= last + 1; d++) candidates.add(d * DAY_MS);
    }
    const probes = chain.map((name) => {
      const { capacity, windowMs } = this.spec(name);
      return fitsProbe(this.stampsOf(name), windowMs, capacity - cost);
    });
    for (const t of [...candidates].sort((a, b) => a - b)) {
      if (this.dailyBlocks(t, cost)) continue;
      if (probes.every((fits) => fits(t))) return t;
    }
    // Unreachable: the last candidate is past every stamp's window and every full day.
    throw new Error('no valid instant found');
  }
}

/**
 * Answers "would units at t keep every window within capacity, given at most `room` others may share one?" in O(log n).
 * The new units sit in the windows ending in [t, t + window); a window's count only rises at a stamp, so it is enough to
 * check the window ending at t and those ending at each stamp in (t, t + window). The latter counts do not depend on t, so
 * they are computed once, and only the stamps whose window is already over `room` ("crowded") are kept.
 */
function fitsProbe(stamps: Stamps, windowMs: number, room: number): (t: number) => boolean {
  const times = stamps.map(([at]) => at);
  const prefix = [0];
  for (const [, units] of stamps) prefix.push((prefix.at(-1) ?? 0) + units);
  const unitsUpTo = (x: number) => prefix[upperBound(times, x)] ?? 0;
  const crowded = times.filter((end) => unitsUpTo(end) - unitsUpTo(end - windowMs) > room);
  return (t) => {
    if (unitsUpTo(t) - unitsUpTo(t - windowMs) > room) return false;
    const next = crowded[upperBound(crowded, t)];
    return next === undefined || next >= t + windowMs;
  };
}

/** Index of the first element > x in an ascending array. */
function upperBound(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Number.POSITIVE_INFINITY) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Units with from < at ≤ to. */
function unitsIn(stamps: Stamps, from: number, to: number): number {
  let n = 0;
  for (const [at, units] of stamps) {
    if (at > to) break;
    if (at > from) n += units;
  }
  return n;
}

function insert(stamps: Stamps, at: number, units: number): void {
  let i = stamps.length;
  while (i > 0 && (stamps[i - 1]?.[0] ?? Number.NEGATIVE_INFINITY) > at) i--;
  const prev = stamps[i - 1];
  if (prev && prev[0] === at) prev[1] += units;
  else stamps.splice(i, 0, [at, units]);
}
