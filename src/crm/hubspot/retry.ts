/**
 * HubSpot's retry decision as a pure function (error, attempt, now) → { retry, reason, waitMs }, table-tested without I/O.
 * Stops (bad token, daily limit) are thrown as CrmStopError so callWithRetry ends the run instead of burning attempts.
 */
import { CallTimeoutError, type RetryDecision } from '../call';
import { CrmStopError } from '../types';
import { HubspotApiError } from './transport';

/** HubSpot's default rolling window; used when a 429 carries no interval header. */
const TEN_SECONDS = 10_000;

/** The daily limit resets at midnight in the portal's time zone, which a private-app token can't see: next UTC midnight. */
export function nextUtcMidnight(now: number): string {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)).toISOString();
}

function retryAfterMs(headers: Record<string, string>, now: number): number | null {
  const raw = headers['retry-after'];
  if (raw === undefined) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function positiveInt(raw: string | undefined): number | null {
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** Node's fetch throws TypeError('fetch failed'); workerd throws Error('Network connection lost.'); both mean "try again". */
function isNetworkError(error: unknown): boolean {
  if (error instanceof TypeError) return true;
  if (!(error instanceof Error)) return false;
  const text = `${error.message} ${error.cause instanceof Error ? error.cause.message : ''}`;
  return /network|connection|socket|ECONNRESET|ECONNREFUSED|EPIPE|other side closed|fetch failed/i.test(text);
}

export function decideHubspotRetry(error: unknown, attempt: number, now: number = Date.now()): RetryDecision {
  if (error instanceof CrmStopError) throw error;
  if (error instanceof CallTimeoutError) return { retry: true, reason: 'timeout', waitMs: 0 };
  if (error instanceof HubspotApiError) {
    const { status, body, headers } = error;
    if (status === 401) {
      // Private-app tokens can't be refreshed: a person has to fix the secret.
      throw new CrmStopError('auth', `HubSpot rejected the access token (${body.category ?? 'INVALID_AUTHENTICATION'})`);
    }
    if (status === 429) {
      const policy = body.policyName ?? '';
      if (policy === 'DAILY') {
        const resumesAt = nextUtcMidnight(now);
        throw new CrmStopError('daily_limit', `daily limit reached, resumes at ${resumesAt}`, resumesAt);
      }
      const explicit = retryAfterMs(headers, now);
      if (policy === 'SECONDLY') return { retry: true, reason: 'rate_limit_secondly', waitMs: explicit ?? 1000 };
      // Rolling window: some slot frees within the interval; grow the wait towards it instead of always waiting it out.
      const interval = positiveInt(headers['x-hubspot-ratelimit-interval-milliseconds']) ?? TEN_SECONDS;
      const waitMs = explicit ?? Math.min(interval, 1000 * 2 ** attempt);
      return { retry: true, reason: policy === 'TEN_SECONDLY_ROLLING' ? 'rate_limit_ten_secondly' : 'rate_limit', waitMs };
    }
    // 423: HubSpot locks a record under concurrent writes; it clears within seconds.
    if (status === 423) return { retry: true, reason: 'locked', waitMs: 2000 };
    if (status >= 500) return { retry: true, reason: `server_${status}`, waitMs: 0 };
    return { retry: false, reason: `client_${status}`, waitMs: 0 };
  }
  if (isNetworkError(error)) return { retry: true, reason: 'network', waitMs: 0 };
  return { retry: false, reason: 'unexpected', waitMs: 0 };
}

/** Per-record error categories in a 207 batch response that are worth re-sending. */
const RETRYABLE_CATEGORIES = new Set(['RATE_LIMITS', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE', 'TIMEOUT', 'LOCKED']);
export function isRetryableCategory(category: string): boolean {
  return RETRYABLE_CATEGORIES.has(category);
}
