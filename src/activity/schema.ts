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

/** The documented shape of one activity, shared by the batch API, imports and every source normaliser. */
export const activityInputSchema = z.object({
  source: z.enum(SOURCES),
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'dotted lowercase type, e.g. "github.star"'),
  occurred_at: z.iso.datetime({ offset: true }),
  external_id: z.string().trim().min(1).max(512),
  member: z.object({ identities: z.array(identityInputSchema).min(1).max(10) }),
  url: z.url().max(2048).optional(),
  title: z.string().max(512).optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
});
export type ActivityInput = z.infer<typeof activityInputSchema>;
