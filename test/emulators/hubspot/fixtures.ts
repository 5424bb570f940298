/**
 * Deterministic Orgs for HubSpot tests and benches: sizes on demand, modified times one second apart, and optionally a block
 * of contacts sharing one modified time (bulk imports do that) to exercise the walk's tie handling.
 */
import type { Org, OrgContact, OrgStage } from '../org';

export interface OrgSize {
  companies?: number;
  contacts?: number;
  deals?: number;
  /** Contacts from index `sameTimeFrom` to `sameTimeFrom + sameTimeCount` share one updatedAt. */
  sameTimeFrom?: number;
  sameTimeCount?: number;
  /** Start of the timeline (ISO). */
  start?: string;
}

const STAGES: OrgStage[] = ['new', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];
const LIFECYCLE: OrgContact['lifecycleStage'][] = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer'];

export function makeOrg(size: OrgSize = {}): Org {
  const start = Date.parse(size.start ?? '2025-01-01T00:00:00.000Z');
  const at = (i: number) => new Date(start + i * 1000).toISOString();
  const nCompanies = size.companies ?? 10;
  const nContacts = size.contacts ?? 50;
  const nDeals = size.deals ?? 20;
  const companies = Array.from({ length: nCompanies }, (_, i) => ({
    key: `co${i}`, name: `Company ${i}`, domain: `company${i}.example`, website: `https://company${i}.example`,
    additionalDomains: i % 3 === 0 ? [`co${i}.example`] : [], industry: 'COMPUTER_SOFTWARE', employees: 10 + i, country: 'DE',
    createdAt: at(i), updatedAt: at(i),
  }));
  const tieFrom = size.sameTimeFrom ?? -1;
  const tieTo = tieFrom + (size.sameTimeCount ?? 0);
  const contacts = Array.from({ length: nContacts }, (_, i): OrgContact => ({
    key: `ct${i}`, email: `person${i}@company${i % Math.max(1, nCompanies)}.example`,
    additionalEmails: i % 5 === 0 ? [`p${i}@gmail.example`] : [], firstName: `First${i}`, lastName: `Last${i}`, title: 'Engineer',
    companyKey: nCompanies > 0 ? `co${i % nCompanies}` : null, lifecycleStage: LIFECYCLE[i % LIFECYCLE.length] ?? 'lead',
    isLead: false, convertedToContactKey: null, createdAt: at(i),
    updatedAt: i >= tieFrom && i < tieTo ? at(tieFrom) : at(i),
  }));
  const deals = Array.from({ length: nDeals }, (_, i) => ({
    key: `dl${i}`, name: `Deal ${i}`, amount: 1000 * (i + 1), currency: 'EUR', stage: STAGES[i % STAGES.length] ?? 'new',
    createdAt: at(i), closeDate: i % 6 >= 4 ? at(i + 100) : null, companyKey: nCompanies > 0 && i % 4 !== 3 ? `co${i % nCompanies}` : null,
    contacts: nContacts > 0
      ? [
          { contactKey: `ct${i % nContacts}`, role: 'Decision maker', isPrimary: true },
          { contactKey: `ct${(i + 1) % nContacts}`, role: null, isPrimary: false },
        ]
      : [],
    updatedAt: at(i),
  }));
  return { companies, contacts, deals };
}
