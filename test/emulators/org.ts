/**
 * A CRM-neutral organisation: what the demo-org generator produces and what each emulator seeds from, mapping it into its
 * own shapes (HubSpot stages and numeric ids; Salesforce StageName and 18-character ids). `key`s are stable across CRMs.
 */
export type OrgStage = 'new' | 'qualified' | 'proposal' | 'negotiation' | 'won' | 'lost';

export interface OrgCompany {
  key: string;
  name: string;
  domain: string | null;
  website: string | null;
  additionalDomains: string[];
  industry: string | null;
  employees: number | null;
  country: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface OrgContact {
  key: string;
  email: string | null;
  additionalEmails: string[];
  firstName: string | null;
  lastName: string | null;
  title: string | null;
  companyKey: string | null;
  lifecycleStage: 'subscriber' | 'lead' | 'marketingqualifiedlead' | 'salesqualifiedlead' | 'opportunity' | 'customer';
  /** In Salesforce a lead is a Lead record; in HubSpot a contact like any other. */
  isLead: boolean;
  /** For a converted Salesforce Lead: the contact it became. */
  convertedToContactKey: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface OrgDealContact {
  contactKey: string;
  role: string | null;
  isPrimary: boolean;
}

export interface OrgDeal {
  key: string;
  name: string;
  amount: number | null;
  currency: string;
  stage: OrgStage;
  createdAt: string;
  closeDate: string | null;
  companyKey: string | null;
  contacts: OrgDealContact[];
  updatedAt: string;
}

export interface Org {
  companies: OrgCompany[];
  contacts: OrgContact[];
  deals: OrgDeal[];
}

/** What an emulator's seed endpoint answers: the CRM id it gave each key. */
export interface SeedResult {
  ids: Record<string, string>;
}
