/**
 * Provider behaviour as data: per HubSpot object, the properties we pull, the property incremental walks sort on, and a zod
 * schema of the wire properties feeding a normaliser into the CRM-neutral record.
 *
 * Contacts walk on `lastmodifieddate`: it is the contact property HubSpot's search indexes and documents for contacts
 * (companies and deals use `hs_lastmodifieddate`). The emulator keeps both in step on contacts.
 */
import * as z from 'zod';
import type { CrmCompany, CrmContact, CrmDeal } from '../types';
import type { HubspotObjectType } from './clients';

const str = z.string().nullish().transform((v) => (v === undefined || v === null || v === '' ? null : v));
const list = str.transform((v) => (v === null ? [] : v.split(';').map((s) => s.trim()).filter((s) => s !== '')));
const num = str.transform((v) => {
  if (v === null) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
});
const bool = str.transform((v) => v === 'true');
/** HubSpot returns datetimes as ISO strings; older portals and some properties give epoch milliseconds. */
const instant = str.transform((v) => {
  if (v === null) return null;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
});
const requiredInstant = instant.transform((v) => v ?? new Date(0).toISOString());

export const contactWire = z.object({
  email: str,
  hs_additional_emails: list,
  firstname: str,
  lastname: str,
  jobtitle: str,
  company: str,
  associatedcompanyid: str,
  lifecyclestage: str,
  createdate: requiredInstant,
  lastmodifieddate: requiredInstant,
});

export const companyWire = z.object({
  name: str,
  domain: str,
  website: str,
  hs_additional_domains: list,
  industry: str,
  numberofemployees: num,
  country: str,
  createdate: requiredInstant,
  hs_lastmodifieddate: requiredInstant,
});

export const dealWire = z.object({
  dealname: str,
  amount: num,
  deal_currency_code: str,
  dealstage: str,
  pipeline: str,
  createdate: requiredInstant,
  closedate: instant,
  hs_is_closed: bool,
  hs_is_closed_won: bool,
  hubspot_owner_id: str,
  hs_lastmodifieddate: requiredInstant,
});

export interface WireRecord {
  id: string;
  properties: Record<string, string | null>;
}

export function toContact(r: WireRecord): CrmContact {
  const p = contactWire.parse(r.properties);
  return {
    crmId: r.id,
    kind: 'contact',
    email: p.email,
    additionalEmails: p.hs_additional_emails,
    firstName: p.firstname,
    lastName: p.lastname,
    title: p.jobtitle,
    companyName: p.company,
    companyId: p.associatedcompanyid,
    lifecycleStage: p.lifecyclestage,
    convertedContactId: null,
    createdAt: p.createdate,
    updatedAt: p.lastmodifieddate,
  };
}

export function toCompany(r: WireRecord): CrmCompany {
  const p = companyWire.parse(r.properties);
  return {
    crmId: r.id,
    name: p.name,
    domain: p.domain,
    website: p.website,
    additionalDomains: p.hs_additional_domains,
    industry: p.industry,
    employees: p.numberofemployees,
    country: p.country,
    createdAt: p.createdate,
    updatedAt: p.hs_lastmodifieddate,
  };
}

/** The deal's company comes from the v4 association read, not from a property. */
export function toDeal(r: WireRecord, companyId: string | null): CrmDeal {
  const p = dealWire.parse(r.properties);
  return {
    crmId: r.id,
    name: p.dealname,
    amount: p.amount,
    currency: p.deal_currency_code,
    stage: p.dealstage,
    pipeline: p.pipeline,
    createdAt: p.createdate,
    closeDate: p.closedate,
    isClosed: p.hs_is_closed,
    isWon: p.hs_is_closed_won,
    ownerId: p.hubspot_owner_id,
    companyId,
    updatedAt: p.hs_lastmodifieddate,
  };
}

export interface ObjectSpec {
  type: HubspotObjectType;
  /** Property the incremental walk filters and sorts on. */
  modified: string;
  properties: string[];
}

export const OBJECT_SPECS: Record<HubspotObjectType, ObjectSpec> = {
  contacts: { type: 'contacts', modified: 'lastmodifieddate', properties: Object.keys(contactWire.shape) },
  companies: { type: 'companies', modified: 'hs_lastmodifieddate', properties: Object.keys(companyWire.shape) },
  deals: { type: 'deals', modified: 'hs_lastmodifieddate', properties: Object.keys(dealWire.shape) },
};

/** Neutral write object → HubSpot object type name in paths. */
export const WRITE_TYPES = { contact: 'contacts', company: 'companies', deal: 'deals' } as const;
