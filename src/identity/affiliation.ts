/**
 * Time-aware affiliation: people change jobs, so an activity is credited to the company the member worked at when it
 * happened, not today's. Intervals come from CRM company associations over time, from the email domains a member used
 * (first seen → next domain first seen), and from manual overrides, which always win.
 */

export type AffiliationSource = 'manual' | 'crm' | 'email_domain';

export interface AffiliationInterval {
  /** null only for a manual "not affiliated" override (freelancer, between jobs). */
  companyId: string | null;
  /** ISO instant, inclusive; null = since always. */
  from: string | null;
  /** ISO instant, exclusive; null = still current. */
  to: string | null;
  source: AffiliationSource;
  evidence?: string;
}

export interface Affiliation {
  companyId: string | null;
  source: AffiliationSource;
  evidence: string;
}

const PRIORITY: Record<AffiliationSource, number> = { manual: 0, crm: 1, email_domain: 2 };

function ms(iso: string | null, fallback: number): number {
  if (iso === null) return fallback;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? fallback : t;
}

/**
 * The company credited for an activity at `at`. Among intervals covering `at`: manual beats CRM beats email domain; within
 * one source the most recently started interval wins (a new association supersedes an old one left open); then the
 * smaller company id, so the answer never depends on input order. Null when nothing covers `at`.
 */
export function affiliationAt(intervals: readonly AffiliationInterval[], at: string | Date): Affiliation | null {
  const t = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (Number.isNaN(t)) return null;
  let best: AffiliationInterval | null = null;
  let bestFrom = 0;
  for (const iv of intervals) {
    const from = ms(iv.from, -Infinity);
    const to = ms(iv.to, Infinity);
    if (t < from || t >= to) continue;
    if (
      best === null ||
      PRIORITY[iv.source] < PRIORITY[best.source] ||
      (PRIORITY[iv.source] === PRIORITY[best.source] &&
        (from > bestFrom || (from === bestFrom && (iv.companyId ?? '') < (best.companyId ?? ''))))
    ) {
      best = iv;
      bestFrom = from;
    }
  }
  if (best === null) return null;
  return {
    companyId: best.companyId,
    source: best.source,
    evidence: best.evidence ?? `${best.source} affiliation from ${best.from ?? 'the start'} to ${best.to ?? 'now'}`,
  };
}

/** One observation of a member using an email whose domain maps to a company. */
export interface DomainObservation {
  companyId: string;
  seenAt: string;
  email?: string;
}

/**
 * Email-domain history → intervals: each company counts from the first time its domain was seen until another company's
 * domain was first seen after it. Going back to an old domain (a personal alias kept at a work address) reopens it.
 */
export function intervalsFromEmailDomains(observations: readonly DomainObservation[]): AffiliationInterval[] {
  const sorted = observations
    .filter((o) => !Number.isNaN(Date.parse(o.seenAt)))
    .slice()
    .sort((a, b) => Date.parse(a.seenAt) - Date.parse(b.seenAt) || (a.companyId < b.companyId ? -1 : 1));
  const out: AffiliationInterval[] = [];
  let current: AffiliationInterval | null = null;
  for (const o of sorted) {
    if (current && current.companyId === o.companyId) continue;
    if (current) current.to = o.seenAt;
    current = {
      companyId: o.companyId,
      from: out.length === 0 ? null : o.seenAt,
      to: null,
      source: 'email_domain',
      evidence: `email ${o.email ?? 'domain'} first seen ${o.seenAt}`,
    };
    out.push(current);
  }
  return out;
}

/** A CRM contact ↔ company association as the mirror records it (HubSpot association history, Salesforce AccountContactRelation). */
export interface CrmAssociation {
  companyId: string;
  startedAt: string | null;
  endedAt: string | null;
}

export function intervalsFromCrm(associations: readonly CrmAssociation[]): AffiliationInterval[] {
  return associations.map((a) => ({
    companyId: a.companyId,
    from: a.startedAt,
    to: a.endedAt,
    source: 'crm',
    evidence: `CRM association with ${a.companyId}${a.startedAt ? ` since ${a.startedAt}` : ''}${a.endedAt ? ` until ${a.endedAt}` : ''}`,
  }));
}
