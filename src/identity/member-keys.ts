/**
 * Keys that tie identities of one person together. Strong keys (a verified email, a GitHub noreply address naming an
 * account) merge members automatically; weak keys (an unverified email, a handle, a full name) only find candidates for
 * suggestions. The store can persist these keys in an indexed table to find candidate members without a scan.
 */
import { identityEmails, identityKey, type ResolverContext } from './context';
import { normaliseEmail, parseGithubNoreply } from './email';
import { foldName } from './names';
import type { IdentityInput } from './types';

export interface IdentityKeys {
  /** `source:id` of the identity itself. */
  own: string;
  /** `email:<canonical>` of verified/asserted emails, `github:<id>` named by a noreply address. */
  strong: string[];
  /** `email:<canonical>` of unverified emails, `handle:<lower>`, `github-login:<login>`, `name:<folded>`. */
  weak: string[];
  malformedEmails: string[];
}

export function keysOf(identity: IdentityInput, ctx: ResolverContext): IdentityKeys {
  const own = identityKey(identity);
  const strong: string[] = [];
  const weak: string[] = [];
  const malformedEmails: string[] = [];
  for (const { raw, trusted } of identityEmails(identity, ctx)) {
    const noreply = parseGithubNoreply(raw);
    if (noreply) {
      // The id form names one account, but git metadata can carry anyone's address: proof only when the source
      // verified or asserts it (GitHub's own account email), otherwise evidence.
      if (noreply.id !== null) (trusted ? strong : weak).push(`github:${noreply.id}`);
      weak.push(`github-login:${noreply.login}`);
      continue;
    }
    const e = normaliseEmail(raw, ctx.email);
    if (!e) {
      malformedEmails.push(raw);
      continue;
    }
    const key = `email:${e.canonical}`;
    if (key === own) continue;
    // A role mailbox (support@, info@) is shared by several people even when verified: evidence, never proof.
    const role = ctx.roleLocalParts.has(e.canonical.slice(0, e.canonical.indexOf('@')));
    (trusted && !role ? strong : weak).push(key);
  }
  if (identity.source === 'github' && identity.handle) weak.push(`github-login:${identity.handle.toLowerCase()}`);
  const handle = identity.handle?.trim().toLowerCase();
  if (handle && handle.length >= 4) weak.push(`handle:${handle}`);
  const folded = foldName(identity.name);
  if (folded.includes(' ')) weak.push(`name:${folded}`);
  return { own, strong, weak, malformedEmails };
}

export interface MemberKeys {
  /** `source:id` of every identity the member holds. */
  own: Set<string>;
  /** Strong keys its identities vouch for (verified emails, GitHub ids named by noreply addresses). */
  verified: Set<string>;
  weak: Set<string>;
}

/** Every key of a member; the store can index `own ∪ verified ∪ weak` to find candidate members for an activity. */
export function memberLookupKeys(identities: readonly IdentityInput[], ctx: ResolverContext): MemberKeys {
  const own = new Set<string>();
  const verified = new Set<string>();
  const weak = new Set<string>();
  for (const identity of identities) {
    const k = keysOf(identity, ctx);
    own.add(k.own);
    for (const s of k.strong) verified.add(s);
    for (const w of k.weak) weak.add(w);
  }
  for (const s of verified) weak.delete(s);
  for (const s of own) weak.delete(s);
  return { own, verified, weak };
}

/** True when one side vouches for a key the other holds or vouches for: the same person by a verified identifier. */
export function strongKeysShared(a: MemberKeys, b: MemberKeys): string[] {
  const out: string[] = [];
  for (const k of a.verified) if (b.verified.has(k) || b.own.has(k)) out.push(k);
  for (const k of b.verified) if (a.own.has(k) && !out.includes(k)) out.push(k);
  return out;
}
