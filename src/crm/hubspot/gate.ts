/**
 * An in-process sliding-window RateGate, used when no shared gate (the Durable Object budget) is given, e.g. in benches and
 * scripts. Defaults follow HubSpot private apps: 100 requests per rolling 10 s, and search at 4/s (HubSpot publishes 5/s
 * per account; one below leaves room for clock skew between us and them).
 */
import { sleep as realSleep, type RateGate } from '../call';

export interface WindowLimit {
  limit: number;
  windowMs: number;
}

export interface LocalGateOptions {
  default?: WindowLimit;
  search?: WindowLimit;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const HUBSPOT_DEFAULT_LIMIT: WindowLimit = { limit: 100, windowMs: 10_000 };
export const HUBSPOT_SEARCH_LIMIT: WindowLimit = { limit: 4, windowMs: 1_000 };

class Window {
  private readonly stamps: number[] = [];
  constructor(private readonly spec: WindowLimit) {}

  /** Milliseconds until a slot is free (0 = free now, and the slot is taken). */
  tryTake(now: number): number {
    while (this.stamps.length > 0 && (this.stamps[0] ?? 0) <= now - this.spec.windowMs) this.stamps.shift();
    if (this.stamps.length < this.spec.limit) {
      this.stamps.push(now);
      return 0;
    }
    return (this.stamps[0] ?? now) + this.spec.windowMs - now + 1;
  }
}

export function createLocalGate(opts: LocalGateOptions = {}): RateGate {
  const now = opts.now ?? Date.now;
  const wait = opts.sleep ?? realSleep;
  const general = new Window(opts.default ?? HUBSPOT_DEFAULT_LIMIT);
  const search = new Window(opts.search ?? HUBSPOT_SEARCH_LIMIT);
  async function takeFrom(w: Window): Promise<void> {
    for (;;) {
      const ms = w.tryTake(now());
      if (ms === 0) return;
      await wait(ms);
    }
  }
  return {
    async take(bucket) {
      // A search counts against both the search limit and the general one, as it does at HubSpot.
      if (bucket === 'search') await takeFrom(search);
      await takeFrom(general);
    },
  };
}
