/** Builders for CRM records in identity tests (defaults for every field the tests do not care about). */
import type { CrmCompany, CrmContact } from '../crm/types';

export function contact(crmId: string, fields: Partial<CrmContact> = {}): CrmContact {
  return {
    crmId,
    kind: 'contact',
    email: null,
    additionalEmails: [],
    firstName: null,
    lastName: null,
    title: null,
    companyName: null,
    companyId: null,
    lifecycleStage: null,
    convertedContactId: null,
    createdAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:00Z',
    ...fields,
  };
}

export function company(crmId: string, fields: Partial<CrmCompany> = {}): CrmCompany {
  return {
    crmId,
    name: null,
    domain: null,
    website: null,
    additionalDomains: [],
    industry: null,
    employees: null,
    country: null,
    createdAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:00Z',
    ...fields,
  };
}
