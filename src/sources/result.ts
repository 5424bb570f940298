/**
 * The result union every source normaliser returns. Expected outcomes (an event we do not track, a handshake, a payload
 * that does not match the documented shape) are values, not exceptions, so the webhook route can answer each with the
 * right status without try/catch around business logic.
 */
import * as z from 'zod';
import { activityInputSchema, type ActivityInput } from '../activity/schema';

export interface Issue {
  path: string;
  message: string;
}

export type ActivitiesResult = { kind: 'activities'; activities: ActivityInput[] };
export type IgnoredResult = { kind: 'ignored'; reason: string };
export type InvalidResult = { kind: 'invalid'; issues: Issue[] };
export type PingResult = { kind: 'ping' };

export type NormaliseResult = ActivitiesResult | IgnoredResult | InvalidResult;

/**
 * Final gate: every activity leaves a normaliser checked against the shared contract. Source payloads can carry values
 * the contract refuses (a 600-character id, a whitespace-only user id); those become `invalid` here rather than a
 * failure later in the queue consumer. Paths are prefixed with `activity.` because they name output fields.
 */
export function activities(...list: ActivityInput[]): ActivitiesResult | InvalidResult {
  const out: ActivityInput[] = [];
  for (const a of list) {
    const r = activityInputSchema.safeParse(a);
    if (!r.success) {
      return {
        kind: 'invalid',
        issues: r.error.issues.map((i) => ({ path: ['activity', ...i.path.map(String)].join('.'), message: i.message })),
      };
    }
    out.push(r.data);
  }
  return { kind: 'activities', activities: out };
}
export const ignored = (reason: string): IgnoredResult => ({ kind: 'ignored', reason });

/** zod issues → the `{path, message}` pairs of the API error contract (DESIGN.md: Errors). */
export function invalidFrom(error: z.ZodError): InvalidResult {
  return {
    kind: 'invalid',
    issues: error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message })),
  };
}

/** Trim and cut to `max` characters so optional text never breaks the activity schema's length limits. */
export function clip(text: string | null | undefined, max: number): string | undefined {
  if (text == null) return undefined;
  const t = text.trim();
  if (!t) return undefined;
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

/** Unix seconds (number or Slack-style "1355517523.000005" string) → ISO 8601 UTC; undefined when not a finite time. */
export function unixToIso(seconds: number | string): string | undefined {
  const n = typeof seconds === 'number' ? seconds : Number(seconds);
  if (!Number.isFinite(n) || n < 0 || n > 253402300799) return undefined;
  return new Date(Math.floor(n * 1000)).toISOString();
}

/**
 * Normalise a timestamp the source sent into ISO 8601 with offset, as the activity schema requires. Sources send
 * `2019-05-15T15:20:40Z`, `2019-05-15T15:20:40.123Z` or `2021-03-30T16:09:52-04:00`; anything Date cannot parse is
 * undefined so the caller can report it instead of storing garbage.
 */
export function toIso(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return undefined;
  return new Date(ms).toISOString();
}

/** Drop undefined entries so stored properties (JSON) and test expectations see the same object. */
export function definedOnly(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/** A source timestamp, validated and converted to ISO 8601 UTC (schema-ready) while parsing. */
export const isoTime = z.string().transform((value, ctx) => {
  const iso = toIso(value);
  if (!iso) {
    ctx.addIssue({ code: 'custom', message: 'not a timestamp' });
    return z.NEVER;
  }
  return iso;
});

export { httpUrl } from '../activity/schema';
