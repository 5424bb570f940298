import type { z } from 'zod';

export interface ErrorIssue {
  path: string;
  message: string;
}

/** An expected failure with its HTTP status; app.onError turns it into DESIGN.md's error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503,
    readonly code: string,
    message: string,
    readonly issues: ErrorIssue[] = [],
    /** More members of `error`, e.g. the import job an upload that broke off left behind. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorBody(code: string, message: string, issues: ErrorIssue[] = [], extra: Record<string, unknown> = {}) {
  return { error: { code, message, ...(issues.length ? { issues } : {}), ...extra } };
}

/** `items.3.member.identities.0.id` style paths, so a client can point at the exact field. */
export function issuePath(path: readonly PropertyKey[], prefix = ''): string {
  const joined = path.map(String).join('.');
  return prefix && joined ? `${prefix}.${joined}` : prefix || joined || '(root)';
}

export function zodIssues(error: z.ZodError, prefix = ''): ErrorIssue[] {
  return error.issues.map((i) => ({ path: issuePath(i.path, prefix), message: i.message }));
}

export function invalid(error: z.ZodError, message = 'request is invalid', prefix = ''): ApiError {
  return new ApiError(400, 'invalid_request', message, zodIssues(error, prefix));
}
