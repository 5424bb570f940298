/**
 * Salesforce's retry decision as a pure function (error, attempt, context) → { retry, reason, waitMs }, table-tested
 * without I/O. Errors arrive from jsforce as HttpApiError (`errorCode` = Salesforce's code, `sf:`-prefixed for SOAP
 * faults, `ERROR_HTTP_<status>` for non-JSON bodies), as OAuth errors (`name` = OAuth error), or as fetch/network errors.
 * Stops (daily request limit, bad credentials, a session that stays invalid) are thrown as CrmStopError so
 * callWithRetry ends the run instead of burning attempts.
 */
import { CallTimeoutError, type RetryDecision } from '../call';
import { CrmStopError } from '../types';

export interface RetryContext {
  /** True once this call has already re-authenticated after INVALID_SESSION_ID: a second one means stop. */
  reauthed: boolean;
}

/** The Salesforce error code of a jsforce error, without the SOAP `sf:` prefix; null when the error carries none. */
export function salesforceErrorCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const code = 'errorCode' in error && typeof error.errorCode === 'string' ? error.errorCode : error instanceof Error ? error.name : null;
  return code ? code.replace(/^sf:/, '') : null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Node's fetch throws TypeError('fetch failed'); workerd throws Error('Network connection lost.'); both mean "try again". */
export function isNetworkError(error: unknown): boolean {
  if (error instanceof TypeError) return true;
  if (!(error instanceof Error)) return false;
  const text = `${error.message} ${error.cause instanceof Error ? error.cause.message : ''}`;
  return /network|connection|socket|ECONNRESET|ECONNREFUSED|EPIPE|other side closed|fetch failed|terminated/i.test(text);
}

/** OAuth token endpoint errors that no retry fixes: the connected app or user setup has to change. */
const AUTH_FAILURES = new Set(['invalid_client', 'invalid_client_id', 'invalid_grant', 'unsupported_grant_type', 'invalid_request', 'inactive_user', 'inactive_org']);

/** Transient server-side codes (HTTP 5xx bodies and lock contention). */
const TRANSIENT = new Set(['UNKNOWN_EXCEPTION', 'SERVER_UNAVAILABLE', 'BAD_GATEWAY', 'SERVICE_UNAVAILABLE', 'UNABLE_TO_LOCK_ROW', 'QUERY_TIMEOUT']);

export function decideSalesforceRetry(error: unknown, attempt: number, ctx: RetryContext = { reauthed: false }): RetryDecision {
  if (error instanceof CrmStopError) throw error;
  if (error instanceof CallTimeoutError) return { retry: true, reason: 'timeout', waitMs: 0 };
  const code = salesforceErrorCode(error);
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    // The same code covers the concurrent long-running request cap, which clears in seconds; only the rolling 24-hour
    // TotalRequests allowance is a stop.
    if (/ConcurrentPerOrgLongTxn|concurrent/i.test(messageOf(error))) {
      return { retry: true, reason: 'concurrent_limit', waitMs: Math.min(30_000, 2000 * 2 ** attempt) };
    }
    throw new CrmStopError(
      'request_limit',
      `Salesforce API request limit exceeded (REQUEST_LIMIT_EXCEEDED: ${messageOf(error)}); the org's 24-hour API allowance is used up, so the run stops and resumes once usage falls below the limit`,
    );
  }
  if (code === 'INVALID_SESSION_ID' || code === 'ERROR_HTTP_401') {
    if (!ctx.reauthed) return { retry: true, reason: 'session_expired', waitMs: 1 };
    throw new CrmStopError('auth', `Salesforce rejected the session again right after re-authenticating (${code}: ${messageOf(error)})`);
  }
  if (code !== null && AUTH_FAILURES.has(code)) {
    throw new CrmStopError('auth', `Salesforce OAuth token request failed (${code}: ${messageOf(error)}); check the connected app settings`);
  }
  if (code !== null && TRANSIENT.has(code)) return { retry: true, reason: code === 'UNABLE_TO_LOCK_ROW' ? 'locked' : 'server_error', waitMs: 0 };
  const http = code !== null ? /^ERROR_HTTP_(\d{3})$/.exec(code) : null;
  if (http && Number(http[1]) >= 500) return { retry: true, reason: `server_${http[1]}`, waitMs: 0 };
  if (isNetworkError(error)) return { retry: true, reason: 'network', waitMs: 0 };
  return { retry: false, reason: code ? `client_${code}` : 'unexpected', waitMs: 0 };
}

/** Per-record codes in an sObject Collections answer that are worth re-sending (only those records, never the rest). */
const RETRYABLE_RECORD_CODES = new Set(['UNABLE_TO_LOCK_ROW', 'UNKNOWN_EXCEPTION', 'SERVER_UNAVAILABLE']);
export function isRetryableRecordCode(code: string): boolean {
  return RETRYABLE_RECORD_CODES.has(code);
}

/**
 * Per-record codes meaning the record can never take a write again: deleted (merge losers are deleted too) or a converted
 * Lead. Reported `gone`, so the write stage stops planning writes for them.
 */
const GONE_RECORD_CODES = new Set(['ENTITY_IS_DELETED', 'CANNOT_UPDATE_CONVERTED_LEAD']);
export function isGoneRecordCode(code: string): boolean {
  return GONE_RECORD_CODES.has(code);
}

/** `Sforce-Limit-Info: api-usage=18/15000` → { used, limit }; null when absent or unreadable. */
export function parseLimitInfo(header: string | undefined | null): { used: number; limit: number } | null {
  const m = /(?:^|[\s,])api-usage=(\d+)\/(\d+)/.exec(header ?? '');
  return m ? { used: Number(m[1]), limit: Number(m[2]) } : null;
}
