/**
 * Incremental re-resolution helpers: which keys a stored member or CRM contact answers to, so the store can keep them
 * in an indexed table and find the members to re-resolve when a contact changes, without rescanning everyone.
 *
 * When contact C changes (upsert or delete), re-resolve: the members currently linked to C, plus the members holding
 * any of contactEmailKeys(C before) ∪ contactEmailKeys(C after). When member M changes, re-resolve M only.
 */
import type { CrmContact } from '../crm/types';
import type { IdentityConfig } from './config';
import { contextFor, identityEmails } from './context';
import { normaliseEmail, parseGithubNoreply } from './email';
import type { IdentityInput } from './types';

/** Canonical emails of a CRM contact or lead (primary and secondary), as matched by resolveMember. */
export function contactEmailKeys(contact: Pick<CrmContact, 'email' | 'additionalEmails'>, config: IdentityConfig): string[] {
  const ctx = contextFor(config);
  const out: string[] = [];
  for (const raw of [contact.email, ...contact.additionalEmails]) {
    if (!raw) continue;
    const e = normaliseEmail(raw, ctx.email);
    if (e && !out.includes(e.canonical)) out.push(e.canonical);
  }
  return out;
}

/** Canonical emails of a member's identities (verified or not), the other side of contactEmailKeys. */
export function memberEmailKeys(identities: readonly IdentityInput[], config: IdentityConfig): string[] {
  const ctx = contextFor(config);
  const out: string[] = [];
  for (const identity of identities) {
    for (const { raw } of identityEmails(identity, ctx)) {
      if (parseGithubNoreply(raw)) continue;
      const e = normaliseEmail(raw, ctx.email);
      if (e && !out.includes(e.canonical)) out.push(e.canonical);
    }
  }
  return out;
}
