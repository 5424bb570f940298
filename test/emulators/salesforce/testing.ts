/**
 * Test helpers for the Salesforce emulator: a deterministic Org builder and a connector factory wired to an emulator.
 * Kept beside the emulator (not in src) because only tests and benches use them.
 */
import type { Org, OrgCompany, OrgContact, OrgDeal, OrgStage } from '../org';

export interface OrgSize {
  companies?: number;
  contacts?: number;
  /** Open leads. */
  leads?: number;
  /** Leads converted into the first N contacts. */
  convertedLeads?: number;
  deals?: number;
  /** Contacts per deal (the first one primary). */
  rolesPerDeal?: number;
  /** Base time; record i is stamped base + i seconds unless `sameStamp` puts every record on one instant. */
  base?: string;
  sameStamp?: boolean;
}

const STAGES: OrgStage[] = ['new', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];

export function buildOrg(size: OrgSize = {}): Org {
  const base = Date.parse(size.base ?? '2025-01-01T00:00:00.000Z');
  const at = (i: number) => new Date(base + (size.sameStamp ? 0 : i * 1000)).toISOString();
  const nCompanies = size.companies ?? 5;
  const companies: OrgCompany[] = Array.from({ length: nCompanies }, (_, i) => ({
    key: `co${i}`,
    name: `Company ${i}`,
    domain: `company${i}.example`,
    website: i % 2 === 0 ? `https://www.company${i}.example` : null,
    additionalDomains: [],
    industry: 'Technology',
    employees: 10 + i,
    country: 'DE',
    createdAt: at(i),
    updatedAt: at(i),
  }));
  const contacts: OrgContact[] = [];
  const nContacts = size.contacts ?? 10;
  for (let i = 0; i < nContacts; i++) {
    contacts.push({
      key: `p${i}`,
      email: `person${i}@company${i % Math.max(1, nCompanies)}.example`,
      additionalEmails: [],
      firstName: `First${i}`,
      lastName: `Last${i}`,
      title: i % 3 === 0 ? 'Engineer' : null,
      companyKey: nCompanies ? `co${i % nCompanies}` : null,
      lifecycleStage: 'customer',
      isLead: false,
      convertedToContactKey: null,
      createdAt: at(i),
      updatedAt: at(i),
    });
  }
  const nLeads = size.leads ?? 0;
  const nConverted = Math.min(size.convertedLeads ?? 0, nContacts);
  for (let i = 0; i < nLeads + nConverted; i++) {
    const converted = i < nConverted;
    contacts.push({
      key: `l${i}`,
      email: converted ? `person${i}@company${i % Math.max(1, nCompanies)}.example` : `lead${i}@prospect.example`,
      additionalEmails: [],
      firstName: `Lead${i}`,
      lastName: `Prospect${i}`,
      title: null,
      companyKey: null,
      lifecycleStage: converted ? 'customer' : 'lead',
      isLead: true,
      convertedToContactKey: converted ? `p${i}` : null,
      createdAt: at(i),
      updatedAt: at(i),
    });
  }
  const deals: OrgDeal[] = [];
  const roles = size.rolesPerDeal ?? 1;
  for (let i = 0; i < (size.deals ?? 5); i++) {
    deals.push({
      key: `d${i}`,
      name: `Deal ${i}`,
      amount: 1000 * (i + 1),
      currency: i % 2 ? 'EUR' : 'USD',
      stage: STAGES[i % STAGES.length]!,
      createdAt: at(i),
      closeDate: i % 6 >= 4 ? at(i).slice(0, 10) : null,
      companyKey: nCompanies ? `co${i % nCompanies}` : null,
      contacts: Array.from({ length: Math.min(roles, nContacts) }, (_, r) => ({
        contactKey: `p${(i + r) % nContacts}`,
        role: r === 0 ? 'Decision Maker' : 'Technical Buyer',
        isPrimary: r === 0,
      })),
      updatedAt: at(i),
    });
  }
  return { companies, contacts, deals };
}
