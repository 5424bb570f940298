/**
 * Rate-limit floors for `npm run bench:crm`, computed from the HubSpot emulator's own limiter rules
 * (test/emulators/hubspot/limits.ts): a request is accepted at time t when fewer than `limit` accepted requests of its
 * window have a stamp in (t - windowMs, t]. Rejected (429) requests do not count, as in the emulator.
 *
 * The floor of a phase is the earliest time its calls, sent one after another as the connector sends them, could all have
 * been accepted, given the accepted requests already in the windows when the phase started. It ignores latency, so it is
 * a true lower bound: no client can finish the same calls sooner against that limiter.
 */
import type { AcceptedCall } from './crm-emulators';

export interface WindowRule {
  name: string;
  limit: number;
  windowMs: number;
  /** The search per-second limit applies to search requests only; the general window to every request. */
  searchOnly: boolean;
}

export const emulatorRules = (perTenSeconds: number, searchPerSecond: number): WindowRule[] => [
  { name: 'general', limit: perTenSeconds, windowMs: 10_000, searchOnly: false },
  { name: 'search', limit: searchPerSecond, windowMs: 1_000, searchOnly: true },
];

/**
 * Earliest acceptance time of each call (epoch ms, or relative to `start` if the prior stamps are), in order.
 * `prior`: accepted requests before the phase (only those still inside a window matter). `calls`: isSearch per call.
 */
export function earliestSchedule(prior: readonly AcceptedCall[], calls: readonly boolean[], start: number, rules: readonly WindowRule[]): number[] {
  const stamps = rules.map((r) => prior.filter((p) => !r.searchOnly || p.search).map((p) => p.at).sort((a, b) => a - b));
  const out: number[] = [];
  let t = start;
  for (const isSearch of calls) {
    rules.forEach((rule, i) => {
      if (rule.searchOnly && !isSearch) return;
      const s = stamps[i]!;
      if (s.length >= rule.limit) t = Math.max(t, s[s.length - rule.limit]! + rule.windowMs);
    });
    rules.forEach((rule, i) => {
      if (!rule.searchOnly || isSearch) stamps[i]!.push(t);
    });
    out.push(t);
  }
  return out;
}

/** Seconds from `start` until the last call could be accepted (0 for no calls). */
export function floorSeconds(prior: readonly AcceptedCall[], calls: readonly boolean[], start: number, rules: readonly WindowRule[]): number {
  const schedule = earliestSchedule(prior, calls, start, rules);
  return schedule.length === 0 ? 0 : (schedule[schedule.length - 1]! - start) / 1000;
}
