/**
 * Name + company fuzzy matching. It only ever produces suggestions: two people with one name at one company exist, and a
 * wrong automatic link would credit the wrong person's deal.
 */
import type { ContactIndex, IndexedCompany, IndexedContact, Roster } from './contact-index';
import type { ResolverContext } from './context';
import { jaroWinkler, letterMask, popcount } from './names';

import type { LinkSet } from './link-set';
import type { Link } from './types';


/** A company the member plausibly works at, and how we know. */
export interface CompanyClue {
  companyId: string | null;
  /** Normalised company name, to reach contacts that carry only a free-text company. */
  nameKey: string;
  /** 1 for a verified work-email domain, lower for weaker evidence. */
  weight: number;
  /** Company display name and how we know; turned into a reason only when a suggestion is made. */
  label: string;
  how: string;
  /** The company record when the clue is exactly it (companyId = its crmId, nameKey = its nameKey): its groups are at hand. */
  company?: IndexedCompany | undefined;
}

/**
 * Contacts whose folded name is similar to the member's at one of the clue companies. Score: weight × (0.5 + 0.4 × how
 * far the Jaro-Winkler similarity is above the threshold), so an exact name at the email-domain company scores 0.9.
 * Big companies only get exact-name candidates, which keeps the cost per member bounded.
 */
export function nameCompanySuggestions(
  folded: string,
  localParts: readonly string[],
  clues: readonly CompanyClue[],
  index: ContactIndex,
  ctx: ResolverContext,
  out: LinkSet,
): void {
  const threshold = ctx.config.links.name_similarity;
  const q: Query = { folded, mask: letterMask(folded), localParts, threshold, jaroNeeded: (threshold - 0.4) / 0.6, out };
  for (const clue of clues) {
    // One lookup per side gives both the size (index.companySize) and the roster (index.rosterById / rosterByName).
    const co = clue.company;
    const byId = co ? co.contacts : index.groupById(clue.companyId ?? '');
    const byText = co ? co.namedContacts : clue.nameKey === '' ? undefined : index.groupByName(clue.nameKey);
    const size = (byId?.slots.length ?? 0) + (byText?.slots.length ?? 0);
    if (size === 0) continue;
    const idGroup = clue.companyId !== null ? byId : undefined;
    if (size <= ctx.config.links.max_fuzzy_candidates) {
      if (idGroup) scan(q, index.rosterOf(idGroup), clue, null);
      if (byText) scan(q, index.rosterOf(byText), clue, clue.companyId);
    } else {
      for (const c of index.namedIn(folded, idGroup, byText)) consider(q, c, clue, 1);
    }
  }
}

/** One member's name query, passed down instead of closures (allocated once per member, not per candidate). */
interface Query {
  folded: string;
  mask: number;
  localParts: readonly string[];
  threshold: number;
  /** JW ≤ 0.6·Jaro + 0.4 (prefix bonus of at most 4 × 0.1), so JW ≥ threshold needs Jaro ≥ this. */
  jaroNeeded: number;
  out: LinkSet;
}

function scan(q: Query, roster: Roster, clue: CompanyClue, skipCompanyId: string | null): void {
  const { sig, names } = roster;
  const folded = q.folded;
  const len = folded.length;
  const mask = q.mask | 0;
  const jaroNeeded = q.jaroNeeded;
  for (let j = 0; j < names.length; j++) {
    const m = sig[2 * j] as number;
    // Exact filter, no lost matches: a character whose letter is absent from the other name cannot be matched, so
    // matches ≤ len − (letters missing on the other side), and Jaro ≤ (m/la + m/lb + 1) / 3.
    if (m !== mask) {
      const lb = sig[2 * j + 1] as number;
      const matches = Math.min(len - popcount(mask & ~m), lb - popcount(m & ~mask));
      if (matches <= 0 || (matches / len + matches / lb + 1) / 3 < jaroNeeded) continue;
    }
    const name = names[j] as string;
    const sim = name === folded ? 1 : jaroWinkler(folded, name);
    // consider() ignores anything below the threshold: the contact record is only read for a real candidate.
    if (sim < q.threshold) continue;
    const c = roster.contacts[j];
    if (!c || (skipCompanyId !== null && c.companyId === skipCompanyId)) continue;
    consider(q, c, clue, sim);
  }
}

function consider(q: Query, c: IndexedContact, clue: CompanyClue, sim: number): void {
  if (sim < q.threshold) return;
  let score = clue.weight * (0.5 + (0.4 * (sim - q.threshold)) / (1 - q.threshold || 1));
  const reasons = [
    sim === 1 ? `same full name "${c.displayName}"` : `similar name (${sim.toFixed(2)}) to "${c.displayName}"`,
    `works at ${clue.label} (${clue.how})`,
  ];
  if (sharesLocalPart(c, q.localParts)) {
    score = Math.min(0.95, score + 0.05);
    reasons.push('same mailbox name at another address');
  }
  addSuggestion(q.out, c.crmId, 'name_company', score, reasons);
}

/**
 * A person who changed jobs or signed up with another address: the same full name (rare enough: at most 3 contacts carry
 * it) and the same mailbox name (john.smith@old.com vs john.smith@new.com). Without the mailbox name, a name is not enough.
 */
export function movedPersonSuggestions(
  folded: string,
  localParts: readonly string[],
  index: ContactIndex,
  out: LinkSet,
): void {
  if (localParts.length === 0 || !folded.includes(' ')) return;
  const named = index.contactsNamed(folded, 3);
  for (const c of named) {
    if (sharesLocalPart(c, localParts)) {
      addSuggestion(out, c.crmId, 'name_company', 0.7, [`same full name "${c.displayName}"`, 'same mailbox name at another domain']);
    }
  }
}

function sharesLocalPart(c: IndexedContact, localParts: readonly string[]): boolean {
  for (const e of c.emails) {
    const local = e.slice(0, e.indexOf('@'));
    // Short mailbox names (jo@, info@) say nothing about a person.
    if (local.length >= 5 && localParts.includes(local)) return true;
  }
  return false;
}

export function addSuggestion(out: LinkSet, crmId: string, method: Link['method'], score: number, evidence: string[]): void {
  const cur = out.get(crmId);
  if (cur && cur.confidence >= score) return;
  out.set(crmId, {
    target: { kind: 'contact', crmId },
    method,
    status: 'suggested',
    confidence: Math.round(score * 1000) / 1000,
    evidence,
  });
}
