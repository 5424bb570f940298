/**
 * Member ↔ company by email domain. Several CRM companies often declare one domain (subsidiaries, duplicates, a parent
 * and its regional accounts), so the choice is a documented, deterministic tie-break rather than "first found".
 */
import type { CompanyHit, ContactIndex, IndexedCompany } from './contact-index';

const VIA_RANK = { domain: 0, website: 1, additional: 2 } as const;

export interface CompanyChoice {
  company: IndexedCompany;
  hit: CompanyHit;
  /** Set when the choice fell to a weak rule (size, age, id), for a person to confirm. */
  tieNote: string | null;
  evidence: string;
}

/**
 * Tie-break, in order:
 * 1. the company declaring the exact email host (eu.acme.com beats acme.com for jo@eu.acme.com);
 * 2. how the domain is declared: company domain field, then website, then additional domains;
 * 3. the company with the most contacts (the main account usually holds them);
 * 4. the oldest record (createdAt), then the smallest CRM id, so every run picks the same one.
 */
export function pickCompany(hits: readonly CompanyHit[], index: ContactIndex): CompanyChoice | null {
  if (hits.length === 0) return null;
  const first = hits[0];
  if (hits.length === 1 && first) {
    return { company: first.company, hit: first, tieNote: null, evidence: evidenceFor(first) };
  }
  // One hit per company: its best declaration.
  const best = new Map<string, CompanyHit>();
  for (const h of hits) {
    const cur = best.get(h.company.crmId);
    if (!cur || compareStrong(h, cur) < 0) best.set(h.company.crmId, h);
  }
  const ranked = [...best.values()].sort((a, b) => compareStrong(a, b));
  const top = ranked[0];
  if (!top) return null;
  const tied = ranked.filter((h) => compareStrong(h, top) === 0);
  if (tied.length === 1) return { company: top.company, hit: top, tieNote: null, evidence: evidenceFor(top) };
  const sized = tied.map((h) => ({ h, size: index.companySize(h.company.crmId, h.company.nameKey) }));
  sized.sort(
    (a, b) =>
      b.size - a.size ||
      cmp(a.h.company.createdAt, b.h.company.createdAt) ||
      cmp(a.h.company.crmId, b.h.company.crmId),
  );
  const win = sized[0];
  const second = sized[1];
  if (!win) return null;
  const rule = second && win.size !== second.size ? `most contacts (${win.size} vs ${second.size})` : 'oldest record / smallest id';
  const names = tied.map((t) => `${t.company.name || t.company.crmId} (${t.company.crmId})`).join(', ');
  return {
    company: win.h.company,
    hit: win.h,
    tieNote: `${tied.length} companies declare the domain equally: ${names}; chose by ${rule}`,
    evidence: `${evidenceFor(win.h)}; tie-break by ${rule}`,
  };
}

function compareStrong(a: CompanyHit, b: CompanyHit): number {
  return Number(b.exactHost) - Number(a.exactHost) || VIA_RANK[a.via] - VIA_RANK[b.via];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function evidenceFor(h: CompanyHit): string {
  const d = h.company.domains.find((x) => x.via === h.via);
  return `email domain matches company ${h.via === 'domain' ? 'domain' : h.via === 'website' ? 'website' : 'additional domain'} ${d?.host ?? ''}`.trim();
}
