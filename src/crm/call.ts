/**
 * Timeout + retry around one CRM call. The decision whether to retry is a pure function per provider
 * (status, headers, body → { retry, reason, waitMs }), so it can be table-tested without I/O.
 */
export interface RetryDecision {
  retry: boolean;
  reason: string;
  /** Milliseconds to wait before the next attempt (0 = use backoff). */
  waitMs: number;
}

/** Shared rate budget: resolves when a request of the given bucket may go out. */
export interface RateGate {
  take(bucket: 'default' | 'search', cost?: number): Promise<void>;
  /**
   * What a response said about the account's budget (remaining counts, a 429's Retry-After), for gates shared by every
   * isolate: other integrations spend the same CRM allowance, which our own count cannot see.
   */
  observe?(status: number, headers: Record<string, string>): Promise<void>;
}

export const unlimitedGate: RateGate = { take: async () => {} };

export class CallTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`CRM call timed out after ${timeoutMs} ms`);
    this.name = 'CallTimeoutError';
  }
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number, baseMs = 250, capMs = 20_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * Runs `op` with a hard timeout: the AbortSignal is passed to fetch, and the race also settles calls whose library ignores
 * the signal (jsforce can hang on a refused connection).
 */
export async function withTimeout<T>(op: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new CallTimeoutError(timeoutMs));
      reject(new CallTimeoutError(timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([op(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A write whose outcome is unknown: it timed out, the connection dropped, or the server failed after receiving it. The
 * CRM may have applied it. Thrown instead of retrying when a call is not idempotent, so the caller reads the records
 * back and re-sends only what did not land (a blind re-send would write the same values twice).
 */
export class InDoubtError extends Error {
  constructor(readonly reason: string, override readonly cause: unknown) {
    super(`outcome unknown (${reason}): ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'InDoubtError';
  }
}

/** Retry reasons after which the request may have been applied (as opposed to 429s, locks and auth, which were refused). */
export function isAmbiguousReason(reason: string): boolean {
  return reason === 'timeout' || reason === 'network' || reason.startsWith('server_');
}

export interface CallOptions {
  /** Classifies a failure; throw from it (e.g. CrmStopError) to stop without retrying. */
  decide: (error: unknown, attempt: number) => RetryDecision;
  maxAttempts?: number;
  timeoutMs?: number;
  gate?: RateGate;
  bucket?: 'default' | 'search';
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (info: { attempt: number; reason: string; waitMs: number }) => void;
  /**
   * False for writes: a failure that may have been applied is thrown as InDoubtError instead of being retried. Refusals
   * (429, locks, expired sessions) are still retried here, since nothing of the request was applied.
   */
  idempotent?: boolean;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function callWithRetry<T>(op: (signal: AbortSignal) => Promise<T>, opts: CallOptions): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 5;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const wait = opts.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    await (opts.gate ?? unlimitedGate).take(opts.bucket ?? 'default');
    try {
      return await withTimeout(op, timeoutMs);
    } catch (error) {
      const decision = opts.decide(error, attempt);
      if (decision.retry && opts.idempotent === false && isAmbiguousReason(decision.reason)) throw new InDoubtError(decision.reason, error);
      if (!decision.retry || attempt + 1 >= maxAttempts) throw error;
      const waitMs = decision.waitMs > 0 ? decision.waitMs : backoffMs(attempt);
      opts.onRetry?.({ attempt, reason: decision.reason, waitMs });
      await wait(waitMs);
    }
  }
}
