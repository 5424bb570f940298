import * as z from 'zod';

/** Sources community activity comes from (DESIGN.md glossary). */
export const SOURCES = [
  'github', 'discourse', 'slack', 'discord', 'events', 'docs', 'youtube', 'stackoverflow', 'custom',
] as const;
export type Source = (typeof SOURCES)[number];

/**
 * One handle of a person on one platform. `id` is the platform's stable id (GitHub numeric user id, Slack U…, Discourse
 * username, or the address itself for source "email"); `handle` is the human-visible name (GitHub login) and can change.
 * `email` is an address the source asserts for this identity; `email_verified` says the source verified it.
 */
export const identityInputSchema = z.object({
  source: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'lowercase source name, e.g. "github" or "email"'),
  id: z.string().trim().min(1).max(256),
  handle: z.string().trim().max(256).optional(),
  email: z.string().trim().max(320).optional(),
  email_verified: z.boolean().optional(),
  name: z.string().trim().max(256).optional(),
  company: z.string().trim().max(256).optional(),
  is_bot: z.boolean().optional(),
});
export type IdentityInput = z.infer<typeof identityInputSchema>;

/**
 * An absolute http(s) URL. Activity URLs end up as links in the UI and in CRM evidence, so other schemes
 * (javascript:, data:) are refused at the edge.
 */
export const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** Stored times are UTC ISO strings that SQLite's date functions and string order understand: years 1970–9999. */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10000, 0, 1);
export const occurredAt = z.iso.datetime({ offset: true }).refine((s) => {
  const t = Date.parse(s);
  return t >= EARLIEST && t < LATEST;
}, 'must fall between 1970-01-01 and 9999-12-31 in UTC');

export const MAX_PROPERTY_DEPTH = 32;

/**
 * Free-form properties. Refused: a `__proto__` key (it would be dropped silently when copied) and nesting deeper than
 * MAX_PROPERTY_DEPTH (it would overflow the stack of JSON.stringify further down). Checked without recursion.
 */
export const propertiesSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    const problem = propertiesProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  })
  .pipe(z.record(z.string(), z.unknown()));

/** Checks the raw input: a parsed record no longer holds a `__proto__` key. */
function propertiesProblem(root: unknown): { path: PropertyKey[]; message: string } | null {
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: root, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_PROPERTY_DEPTH) return { path, message: `nested deeper than ${MAX_PROPERTY_DEPTH} levels` };
    for (const key of Object.keys(value)) {
      if (key === '__proto__') return { path: [...path, key], message: 'the key "__proto__" is not allowed' };
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return null;
}

/** The documented shape of one activity, shared by the batch API, imports and every source normaliser. */
export const activityInputSchema = z.object({
  source: z.enum(SOURCES),
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'dotted lowercase type, e.g. "github.star"'),
  occurred_at: occurredAt,
  external_id: z.string().trim().min(1).max(512),
  member: z.object({ identities: z.array(identityInputSchema).min(1).max(10) }),
  url: httpUrl.optional(),
  title: z.string().max(512).optional(),
  properties: propertiesSchema.optional(),
});
export type ActivityInput = z.infer<typeof activityInputSchema>;
