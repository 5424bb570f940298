/**
 * Per-token rate limits as HubSpot applies them to a private app: a rolling 10-second window (default 100 requests), a
 * daily count, and the search endpoints' own per-second limit (default 5/s, HubSpot's published figure; the connector keeps
 * to 4/s). Rejected requests do not use up the window. Headers mirror HubSpot's X-HubSpot-RateLimit-*.
 */
export interface RateLimitConfig {
  perTenSeconds: number;
  daily: number;
  searchPerSecond: number;
}

export const DEFAULT_LIMITS: RateLimitConfig = { perTenSeconds: 100, daily: 250_000, searchPerSecond: 5 };

const TEN_SECONDS = 10_000;

/** Timestamps in a ring that only grows at the tail and drops from the head. */
class Rolling {
  private stamps: number[] = [];
  private head = 0;
  count(now: number, windowMs: number): number {
    while (this.head < this.stamps.length && (this.stamps[this.head] ?? 0) <= now - windowMs) this.head++;
    if (this.head > 1024 && this.head * 2 > this.stamps.length) {
      this.stamps = this.stamps.slice(this.head);
      this.head = 0;
    }
    return this.stamps.length - this.head;
  }
  add(now: number): void {
    this.stamps.push(now);
  }
}

interface TokenUsage {
  window: Rolling;
  search: Rolling;
  day: string;
  daily: number;
}

export type LimitVerdict =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; policy: 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY'; headers: Record<string, string> };

export class RateLimiter {
  private usage = new Map<string, TokenUsage>();
  constructor(public config: RateLimitConfig) {}

  reset(): void {
    this.usage.clear();
  }

  private of(token: string, now: number): TokenUsage {
    const day = new Date(now).toISOString().slice(0, 10);
    let u = this.usage.get(token);
    if (!u) this.usage.set(token, (u = { window: new Rolling(), search: new Rolling(), day, daily: 0 }));
    if (u.day !== day) {
      u.day = day;
      u.daily = 0;
    }
    return u;
  }

  headers(token: string, now: number): Record<string, string> {
    const u = this.of(token, now);
    const used = u.window.count(now, TEN_SECONDS);
    return {
      'X-HubSpot-RateLimit-Max': String(this.config.perTenSeconds),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, this.config.perTenSeconds - used)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(TEN_SECONDS),
      'X-HubSpot-RateLimit-Daily': String(this.config.daily),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, this.config.daily - u.daily)),
    };
  }

  /** Counts the request if allowed. */
  take(token: string, now: number, isSearch: boolean): LimitVerdict {
    const u = this.of(token, now);
    if (u.daily >= this.config.daily) return { ok: false, policy: 'DAILY', headers: this.headers(token, now) };
    if (u.window.count(now, TEN_SECONDS) >= this.config.perTenSeconds) {
      return { ok: false, policy: 'TEN_SECONDLY_ROLLING', headers: this.headers(token, now) };
    }
    if (isSearch && u.search.count(now, 1000) >= this.config.searchPerSecond) {
      return { ok: false, policy: 'SECONDLY', headers: this.headers(token, now) };
    }
    u.window.add(now);
    if (isSearch) u.search.add(now);
    u.daily++;
    return { ok: true, headers: this.headers(token, now) };
  }
}
