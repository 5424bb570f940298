/**
 * Provider → normalised records. One spec per pull object says which sObject and fields to read and how to turn a
 * validated wire record into the CRM-neutral shape; pull.ts drives REST and Bulk reads generically off these specs.
 */
import type { CrmCompany, CrmContact, CrmDeal, PullObject, PullRecord, WriteObject } from '../types';
import { isoFromSalesforce } from './soql';
import { accountRecord, contactRecord, leadRecord, opportunityRecord } from './wire';

export interface PullSpec<T> {
  sobject: 'Contact' | 'Lead' | 'Account' | 'Opportunity';
  /** CurrencyIsoCode exists only in multi-currency orgs; selecting it elsewhere is an INVALID_FIELD error. */
  fields(multiCurrency: boolean): string[];
  parse(raw: unknown): T;
}

const AUDIT = ['Id', 'CreatedDate', 'SystemModstamp'];

/** `https://www.acme.io/path` → `acme.io`; null when the website isn't a parseable host. */
export function domainOf(website: string | null): string | null {
  if (!website) return null;
  try {
    const host = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(website) ? website : `https://${website}`).hostname.toLowerCase();
    return host.replace(/^www\./, '') || null;
  } catch {
    return null;
  }
}

const contacts: PullSpec<CrmContact> = {
  sobject: 'Contact',
  fields: () => [...AUDIT, 'Email', 'FirstName', 'LastName', 'Title', 'AccountId'],
  parse(raw) {
    const r = contactRecord.parse(raw);
    return {
      crmId: r.Id,
      kind: 'contact',
      email: r.Email,
      additionalEmails: [],
      firstName: r.FirstName,
      lastName: r.LastName,
      title: r.Title,
      companyName: null,
      companyId: r.AccountId,
      lifecycleStage: null,
      convertedContactId: null,
      createdAt: isoFromSalesforce(r.CreatedDate),
      updatedAt: isoFromSalesforce(r.SystemModstamp),
    };
  },
};

const leads: PullSpec<CrmContact> = {
  sobject: 'Lead',
  fields: () => [...AUDIT, 'Email', 'FirstName', 'LastName', 'Title', 'Company', 'Status', 'IsConverted', 'ConvertedContactId', 'ConvertedAccountId'],
  parse(raw) {
    const r = leadRecord.parse(raw);
    return {
      crmId: r.Id,
      kind: 'lead',
      email: r.Email,
      additionalEmails: [],
      firstName: r.FirstName,
      lastName: r.LastName,
      title: r.Title,
      companyName: r.Company,
      // A lead has no Account until it converts; then it points at the account its contact joined.
      companyId: r.IsConverted ? r.ConvertedAccountId : null,
      lifecycleStage: r.Status,
      convertedContactId: r.IsConverted ? r.ConvertedContactId : null,
      createdAt: isoFromSalesforce(r.CreatedDate),
      updatedAt: isoFromSalesforce(r.SystemModstamp),
    };
  },
};

const companies: PullSpec<CrmCompany> = {
  sobject: 'Account',
  fields: () => [...AUDIT, 'Name', 'Website', 'Industry', 'NumberOfEmployees', 'BillingCountry'],
  parse(raw) {
    const r = accountRecord.parse(raw);
    return {
      crmId: r.Id,
      name: r.Name,
      domain: domainOf(r.Website),
      website: r.Website,
      additionalDomains: [],
      industry: r.Industry,
      employees: r.NumberOfEmployees,
      country: r.BillingCountry,
      createdAt: isoFromSalesforce(r.CreatedDate),
      updatedAt: isoFromSalesforce(r.SystemModstamp),
    };
  },
};

const deals: PullSpec<CrmDeal> = {
  sobject: 'Opportunity',
  fields: (multiCurrency) => [
    ...AUDIT,
    'Name',
    'Amount',
    ...(multiCurrency ? ['CurrencyIsoCode'] : []),
    'StageName',
    'IsClosed',
    'IsWon',
    'CloseDate',
    'AccountId',
    'OwnerId',
  ],
  parse(raw) {
    const r = opportunityRecord.parse(raw);
    return {
      crmId: r.Id,
      name: r.Name,
      amount: r.Amount,
      // Single-currency orgs have no per-record currency; the org default applies and is not ours to guess.
      currency: r.CurrencyIsoCode,
      stage: r.StageName,
      pipeline: null,
      createdAt: isoFromSalesforce(r.CreatedDate),
      closeDate: r.CloseDate,
      isClosed: r.IsClosed,
      isWon: r.IsWon,
      ownerId: r.OwnerId,
      companyId: r.AccountId,
      updatedAt: isoFromSalesforce(r.SystemModstamp),
    };
  },
};

export const PULL_SPECS: { [O in PullObject]: PullSpec<PullRecord[O]> } = { contacts, leads, companies, deals };

/** The main sObject of each write object (messages, metadata full names). */
export const SOBJECT_OF = { deal: 'Opportunity', contact: 'Contact', company: 'Account' } as const;

/** Every sObject a write object can land on: a CRM "contact" is a Contact or a Lead (mappings/salesforce.yaml). */
export const SOBJECTS_OF: Record<WriteObject, readonly string[]> = { deal: ['Opportunity'], contact: ['Contact', 'Lead'], company: ['Account'] };

/** The sObject one record lives on: Lead ids start with 00Q, so a contact write for one goes to Lead. */
export function sobjectFor(object: WriteObject, crmId: string): string {
  return object === 'contact' && crmId.startsWith('00Q') ? 'Lead' : SOBJECT_OF[object];
}
