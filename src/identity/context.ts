/**
 * Config-derived rules (compiled regexes, Sets) prepared once per config object, so callers can pass the plain
 * IdentityConfig to every per-member call without paying for the preparation each time.
 */
import type { IdentityConfig } from './config';
import { emailRules, type EmailRules } from './email';
import { flagRules, type FlagRules } from './flags';
import type { IdentityInput } from './types';

export interface ResolverContext {
  config: IdentityConfig;
  email: EmailRules;
  flags: FlagRules;
  assertedSources: ReadonlySet<string>;
  singleAccountSources: ReadonlySet<string>;
  roleLocalParts: ReadonlySet<string>;
}

const cache = new WeakMap<IdentityConfig, ResolverContext>();

export function contextFor(config: IdentityConfig): ResolverContext {
  let ctx = cache.get(config);
  if (!ctx) {
    const email = emailRules(config);
    ctx = {
      config,
      email,
      flags: flagRules(config, email),
      assertedSources: new Set(config.emails.asserted_sources),
      singleAccountSources: new Set(config.members.single_account_sources),
      roleLocalParts: new Set(config.emails.role_local_parts),
    };
    cache.set(config, ctx);
  }
  return ctx;
}

/** `source:id`, the stable key of an identity (handles change, ids do not). Lower-cased: platform ids are case-insensitive. */
export function identityKey(identity: Pick<IdentityInput, 'source' | 'id'>): string {
  return `${identity.source}:${identity.id.trim().toLowerCase()}`;
}

/** Raw emails an identity carries, with whether the source vouches for them. */
export function identityEmails(identity: IdentityInput, ctx: ResolverContext): { raw: string; trusted: boolean }[] {
  const out: { raw: string; trusted: boolean }[] = [];
  const asserted = ctx.assertedSources.has(identity.source);
  if (identity.source === 'email') out.push({ raw: identity.id, trusted: asserted || identity.email_verified === true });
  if (identity.email && identity.email.trim() !== '') {
    out.push({ raw: identity.email, trusted: identity.email_verified === true || asserted });
  }
  return out;
}
