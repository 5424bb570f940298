/**
 * Rate limits of one CRM account, as data: named rolling windows plus an optional daily cap. Kept apart from the limiter so the
 * Durable Object can validate limits it receives over RPC or reads back from storage with the same schema.
 */
import * as z from 'zod';

export interface WindowLimit {
  /** Units (requests) allowed in any rolling window of `windowMs`. */
  capacity: number;
  windowMs: number;
  /**
   * A bucket whose requests also count against another one: a HubSpot search counts against the search limit and the
   * general one.
   */
  parent?: string;
}

export interface Limits {
  buckets: { default: WindowLimit } & Record<string, WindowLimit>;
  /** Requests per UTC day across all buckets; null = not enforced here (the CRM's own daily error pauses us instead). */
  daily: number | null;
}

/**
 * HubSpot private apps: 100 requests per rolling 10 s (190 on Professional/Enterprise — configure it), and search at 4/s:
 * HubSpot publishes 5/s per account, one below leaves room for clock skew between us and them.
 */
export const HUBSPOT_LIMITS: Limits = {
  buckets: {
    default: { capacity: 100, windowMs: 10_000 },
    search: { capacity: 4, windowMs: 1_000, parent: 'default' },
  },
  daily: null,
};

/**
 * Salesforce limits concurrent long-running calls (25) and API calls per rolling 24 h (edition-dependent). We cannot see
 * concurrency from here, so it is modelled as a rate that keeps well under it for typical sub-second calls.
 */
export const SALESFORCE_LIMITS: Limits = {
  buckets: { default: { capacity: 20, windowMs: 1_000 } },
  daily: null,
};

/** Defaults by the account key's prefix (`hubspot:…`, `salesforce:…`); unknown CRMs get HubSpot's, the stricter shape. */
export function defaultLimitsFor(accountKey: string | undefined): Limits {
  if (accountKey?.startsWith('salesforce:')) return SALESFORCE_LIMITS;
  return HUBSPOT_LIMITS;
}

const windowSchema = z.object({
  capacity: z.number().int().positive(),
  windowMs: z.number().positive().finite(),
  parent: z.string().min(1).optional(),
});

export const limitsSchema = z
  .object({
    buckets: z.record(z.string().min(1), windowSchema),
    daily: z.number().int().positive().nullable(),
  })
  .superRefine((limits, ctx) => {
    if (!limits.buckets['default']) ctx.addIssue({ code: 'custom', path: ['buckets', 'default'], message: 'a default bucket is required' });
    for (const [name, spec] of Object.entries(limits.buckets)) {
      // Walk parents: each must exist, and a cycle would charge forever.
      const seen = new Set([name]);
      for (let p = spec.parent; p !== undefined; p = limits.buckets[p]?.parent) {
        if (!limits.buckets[p]) {
          ctx.addIssue({ code: 'custom', path: ['buckets', name, 'parent'], message: `unknown parent bucket ${p}` });
          break;
        }
        if (seen.has(p)) {
          ctx.addIssue({ code: 'custom', path: ['buckets', name, 'parent'], message: `parent cycle through ${p}` });
          break;
        }
        seen.add(p);
      }
    }
  });

/** Validates limits from outside (RPC, storage, configuration); throws a ZodError naming the bad fields. */
export function parseLimits(input: unknown): Limits {
  const parsed = limitsSchema.parse(input);
  const base = parsed.buckets['default'];
  // superRefine guarantees it; the check narrows the type without a cast.
  if (!base) throw new Error('a default bucket is required');
  const buckets: Limits['buckets'] = { ...parsed.buckets, default: base };
  return { buckets, daily: parsed.daily };
}
