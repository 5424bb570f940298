/**
 * What a CRM response tells the shared budget, as data: pure, so the header formats are table-tested and a gate applies
 * the result with noteRemaining / pause. Only explicit information counts; bodies (HubSpot's policyName, Salesforce's
 * REQUEST_LIMIT_EXCEEDED) are for the connector's retry decision, which sees them.
 */
export type BudgetSignal =
  | { kind: 'remaining'; bucket: string; remaining: number }
  | { kind: 'pause'; untilMs: number; reason: string };

type HeaderSource = Headers | Record<string, string | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function nonNegativeInt(raw: string | undefined): number | null {
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return null;
  return Number.parseInt(raw, 10);
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function retryAfterUntil(raw: string | undefined, nowMs: number): number | null {
  if (raw === undefined) return null;
  const seconds = nonNegativeInt(raw);
  if (seconds !== null) return nowMs + seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : date;
}

export function budgetSignals(status: number, headers: HeaderSource, nowMs: number): BudgetSignal[] {
  const signals: BudgetSignal[] = [];
  const remaining = nonNegativeInt(header(headers, 'X-HubSpot-RateLimit-Remaining'));
  if (remaining !== null) signals.push({ kind: 'remaining', bucket: 'default', remaining });
  const daily = nonNegativeInt(header(headers, 'X-HubSpot-RateLimit-Daily-Remaining'));
  if (daily !== null) signals.push({ kind: 'remaining', bucket: 'daily', remaining: daily });
  // Salesforce: `Sforce-Limit-Info: api-usage=18/15000` (calls in the last 24 h / allowed).
  const usage = /api-usage=(\d+)\/(\d+)/.exec(header(headers, 'Sforce-Limit-Info') ?? '');
  if (usage?.[1] && usage[2]) signals.push({ kind: 'remaining', bucket: 'daily', remaining: Math.max(0, Number(usage[2]) - Number(usage[1])) });
  if (status === 429) {
    const until = retryAfterUntil(header(headers, 'Retry-After'), nowMs);
    if (until !== null && until > nowMs) signals.push({ kind: 'pause', untilMs: until, reason: `429 Retry-After until ${new Date(until).toISOString()}` });
    // A 429 means the window is full whatever we counted: let the window drain before anyone else goes.
    else if (remaining === null) signals.push({ kind: 'remaining', bucket: 'default', remaining: 0 });
  }
  return signals;
}
