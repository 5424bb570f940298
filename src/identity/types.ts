/**
 * Shared shapes of identity resolution. Everything here is plain data so the store can persist it as-is and the
 * functions stay pure: callers pass in what D1 holds (members, contacts, human decisions) and get plans back.
 */
import type { IdentityInput } from '../activity/schema';

export type { IdentityInput };

/** How a member ↔ CRM link was found (DESIGN.md glossary). */
export type LinkMethod = 'email' | 'alias_email' | 'domain' | 'name_company' | 'manual';
export type LinkStatus = 'auto' | 'suggested' | 'confirmed' | 'rejected';
export type LinkTargetKind = 'contact' | 'company';

export interface LinkTarget {
  kind: LinkTargetKind;
  crmId: string;
}

export interface Link {
  target: LinkTarget;
  method: LinkMethod;
  status: LinkStatus;
  /** 0..1; for suggestions the score that ranked it. */
  confidence: number;
  /** Human-readable reasons, shown in the review UI and the audit log. */
  evidence: string[];
}

/** A member as the resolver sees it: the identities it currently holds. */
export interface MemberSnapshot {
  memberId: string;
  identities: IdentityInput[];
}

/**
 * A person's decision. Automation reads these and never overrides them: a rejected link is never proposed again and a
 * confirmed one is always emitted, until a person records a newer decision for the same pair.
 */
export interface LinkDecision {
  memberId: string;
  target: LinkTarget;
  decision: 'confirmed' | 'rejected';
  decidedBy: string;
  decidedAt: string;
}

/** A person's decision about two members: merged by hand (`same`) or split / refused (`not_same`). */
export interface MemberDecision {
  memberA: string;
  memberB: string;
  decision: 'same' | 'not_same';
  decidedBy: string;
  decidedAt: string;
}

/** A person's decision that one identity does (or does not) belong to a member: unmerge records `not_belongs`. */
export interface IdentityDecision {
  memberId: string;
  /** `source:id`, see identityKey(). */
  identityKey: string;
  decision: 'belongs' | 'not_belongs';
  decidedBy: string;
  decidedAt: string;
}

export type ConflictCode =
  | 'duplicate_crm_email'
  | 'multiple_contacts'
  | 'identity_claimed_by_two_members'
  | 'two_identities_same_platform'
  | 'bot_and_human'
  | 'malformed_email'
  | 'decision_blocks_merge'
  | 'company_domain_tie'
  | 'name_mismatch'
  | 'role_mailbox';

/** Something automation refused to decide; recorded for a person to look at. */
export interface Conflict {
  code: ConflictCode;
  message: string;
  /** CRM ids, member ids or identity keys involved. */
  refs: string[];
}

export type FlagCode = 'staff' | 'bot';

export interface Flag {
  code: FlagCode;
  reason: string;
}

export interface MemberResolution {
  memberId: string;
  /** Links that count: `auto` and `confirmed`. */
  links: Link[];
  /** Proposed links (status `suggested`) for review, best first. */
  suggestions: Link[];
  conflicts: Conflict[];
  flags: Flag[];
}
