import type { CrmCompany, CrmContact, CrmDeal, CrmDealContact, CrmKind } from '../crm/types';

/**
 * The D1 mirror of the CRM. Every write is one statement over a JSON array, so a page of 100–2,000 records costs a
 * handful of statements whatever its size. Derived lookup rows (canonical emails, registrable domains) are replaced
 * together with their record in the same batch.
 */
const json = (v: unknown) => JSON.stringify(v);

export function upsertContactsStmts(
  db: D1Database,
  crm: CrmKind,
  contacts: CrmContact[],
  canonicalEmails: (c: CrmContact) => string[],
): D1PreparedStatement[] {
  if (!contacts.length) return [];
  const emailRows = contacts.flatMap((c) => canonicalEmails(c).map((canonical) => ({ canonical, crm_id: c.crmId })));
  return [
    db.prepare(
      `INSERT INTO crm_contacts (crm, crm_id, kind, email, additional_emails, first_name, last_name, title, company_name,
                                 company_id, lifecycle_stage, converted_contact_id, created_at, updated_at)
       SELECT ?1, value ->> 'crmId', value ->> 'kind', value ->> 'email', value ->> 'additionalEmails', value ->> 'firstName',
              value ->> 'lastName', value ->> 'title', value ->> 'companyName', value ->> 'companyId', value ->> 'lifecycleStage',
              value ->> 'convertedContactId', value ->> 'createdAt', value ->> 'updatedAt'
         FROM json_each(?2) WHERE true
       ON CONFLICT (crm, crm_id) DO UPDATE SET
         kind = excluded.kind, email = excluded.email, additional_emails = excluded.additional_emails,
         first_name = excluded.first_name, last_name = excluded.last_name, title = excluded.title,
         company_name = excluded.company_name, company_id = excluded.company_id, lifecycle_stage = excluded.lifecycle_stage,
         converted_contact_id = excluded.converted_contact_id, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    ).bind(crm, json(contacts.map((c) => ({ ...c, additionalEmails: json(c.additionalEmails) })))),
    db.prepare('DELETE FROM crm_contact_emails WHERE crm = ?1 AND crm_id IN (SELECT value FROM json_each(?2))')
      .bind(crm, json(contacts.map((c) => c.crmId))),
    db.prepare(
      `INSERT INTO crm_contact_emails (crm, canonical, crm_id)
       SELECT ?1, value ->> 'canonical', value ->> 'crm_id' FROM json_each(?2) WHERE true ON CONFLICT DO NOTHING`,
    ).bind(crm, json(emailRows)),
  ];
}

export function upsertCompaniesStmts(
  db: D1Database,
  crm: CrmKind,
  companies: CrmCompany[],
  domainsOf: (c: CrmCompany) => string[],
): D1PreparedStatement[] {
  if (!companies.length) return [];
  const domainRows = companies.flatMap((c) => domainsOf(c).map((domain) => ({ domain, crm_id: c.crmId })));
  return [
    db.prepare(
      `INSERT INTO crm_companies (crm, crm_id, name, domain, website, additional_domains, industry, employees, country,
                                  created_at, updated_at)
       SELECT ?1, value ->> 'crmId', value ->> 'name', value ->> 'domain', value ->> 'website', value ->> 'additionalDomains',
              value ->> 'industry', value ->> 'employees', value ->> 'country', value ->> 'createdAt', value ->> 'updatedAt'
         FROM json_each(?2) WHERE true
       ON CONFLICT (crm, crm_id) DO UPDATE SET
         name = excluded.name, domain = excluded.domain, website = excluded.website,
         additional_domains = excluded.additional_domains, industry = excluded.industry, employees = excluded.employees,
         country = excluded.country, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    ).bind(crm, json(companies.map((c) => ({ ...c, additionalDomains: json(c.additionalDomains) })))),
    db.prepare('DELETE FROM crm_company_domains WHERE crm = ?1 AND crm_id IN (SELECT value FROM json_each(?2))')
      .bind(crm, json(companies.map((c) => c.crmId))),
    db.prepare(
      `INSERT INTO crm_company_domains (crm, domain, crm_id)
       SELECT ?1, value ->> 'domain', value ->> 'crm_id' FROM json_each(?2) WHERE true ON CONFLICT DO NOTHING`,
    ).bind(crm, json(domainRows)),
  ];
}

export function upsertDealsStmts(db: D1Database, crm: CrmKind, deals: CrmDeal[]): D1PreparedStatement[] {
  if (!deals.length) return [];
  return [
    db.prepare(
      `INSERT INTO crm_deals (crm, crm_id, name, amount, currency, stage, pipeline, created_at, close_date, is_closed, is_won,
                              owner_id, company_id, updated_at)
       SELECT ?1, value ->> 'crmId', value ->> 'name', value ->> 'amount', value ->> 'currency', value ->> 'stage',
              value ->> 'pipeline', value ->> 'createdAt', value ->> 'closeDate', value ->> 'isClosed', value ->> 'isWon',
              value ->> 'ownerId', value ->> 'companyId', value ->> 'updatedAt'
         FROM json_each(?2) WHERE true
       ON CONFLICT (crm, crm_id) DO UPDATE SET
         name = excluded.name, amount = excluded.amount, currency = excluded.currency, stage = excluded.stage,
         pipeline = excluded.pipeline, created_at = excluded.created_at, close_date = excluded.close_date,
         is_closed = excluded.is_closed, is_won = excluded.is_won, owner_id = excluded.owner_id,
         company_id = excluded.company_id, updated_at = excluded.updated_at`,
    ).bind(crm, json(deals.map((d) => ({ ...d, isClosed: d.isClosed ? 1 : 0, isWon: d.isWon ? 1 : 0 })))),
  ];
}

/** Replaces the contact links of the given deals (the CRM's answer is the whole truth for them). */
export function replaceDealContactsStmts(db: D1Database, crm: CrmKind, dealIds: string[], links: CrmDealContact[]): D1PreparedStatement[] {
  if (!dealIds.length) return [];
  return [
    db.prepare('DELETE FROM crm_deal_contacts WHERE crm = ?1 AND deal_id IN (SELECT value FROM json_each(?2))').bind(crm, json(dealIds)),
    db.prepare(
      `INSERT INTO crm_deal_contacts (crm, deal_id, contact_id, role, is_primary)
       SELECT ?1, value ->> 'dealId', value ->> 'contactId', value ->> 'role', value ->> 'isPrimary'
         FROM json_each(?2) WHERE true ON CONFLICT DO NOTHING`,
    ).bind(crm, json(links.map((l) => ({ ...l, isPrimary: l.isPrimary ? 1 : 0 })))),
  ];
}

export function markDirtyStmt(db: D1Database, crm: CrmKind, kind: 'member' | 'contact' | 'company' | 'deal', refs: string[]) {
  return db
    .prepare('INSERT INTO sync_dirty (crm, kind, ref) SELECT ?1, ?2, value FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING')
    .bind(crm, kind, json([...new Set(refs)]));
}

export interface ContactRow {
  crm_id: string;
  kind: 'contact' | 'lead';
  email: string | null;
  additional_emails: string;
  first_name: string | null;
  last_name: string | null;
  title: string | null;
  company_name: string | null;
  company_id: string | null;
  lifecycle_stage: string | null;
  converted_contact_id: string | null;
  created_at: string;
  updated_at: string;
}

export function contactFromRow(r: ContactRow): CrmContact {
  return {
    crmId: r.crm_id, kind: r.kind, email: r.email, additionalEmails: JSON.parse(r.additional_emails) as string[],
    firstName: r.first_name, lastName: r.last_name, title: r.title, companyName: r.company_name, companyId: r.company_id,
    lifecycleStage: r.lifecycle_stage, convertedContactId: r.converted_contact_id, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export interface CompanyRow {
  crm_id: string;
  name: string | null;
  domain: string | null;
  website: string | null;
  additional_domains: string;
  industry: string | null;
  employees: number | null;
  country: string | null;
  created_at: string;
  updated_at: string;
}

export function companyFromRow(r: CompanyRow): CrmCompany {
  return {
    crmId: r.crm_id, name: r.name, domain: r.domain, website: r.website,
    additionalDomains: JSON.parse(r.additional_domains) as string[], industry: r.industry, employees: r.employees,
    country: r.country, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

/**
 * The CRM records that could match a set of members: contacts sharing a canonical email, the converted-lead targets
 * of those, and companies on their email domains with those companies' contacts (for name suggestions).
 */
export async function loadCandidates(db: D1Database, crm: CrmKind, canonicals: string[], domains: string[], rosterLimit = 2000) {
  // Three keyed searches merged here: as one UNION statement (a CTE joined back to crm_contacts) D1 read every
  // contact of the CRM on each call, so resolving grew with the square of the org. CROSS JOIN fixes the join order,
  // and the roster names its index: left to itself, SQLite scanned the contacts table once per domain.
  const [byEmail, converted, roster, companies] = await db.batch([
    db.prepare(
      `SELECT c.* FROM crm_contact_emails e CROSS JOIN crm_contacts c ON c.crm = ?1 AND c.crm_id = e.crm_id
        WHERE e.crm = ?1 AND e.canonical IN (SELECT value FROM json_each(?2))`,
    ).bind(crm, json(canonicals)),
    db.prepare(
      `SELECT t.* FROM crm_contact_emails e CROSS JOIN crm_contacts c ON c.crm = ?1 AND c.crm_id = e.crm_id
         CROSS JOIN crm_contacts t ON t.crm = ?1 AND t.crm_id = c.converted_contact_id
        WHERE e.crm = ?1 AND e.canonical IN (SELECT value FROM json_each(?2)) AND c.converted_contact_id IS NOT NULL`,
    ).bind(crm, json(canonicals)),
    db.prepare(
      `SELECT c.* FROM crm_company_domains d CROSS JOIN crm_contacts c INDEXED BY crm_contacts_company ON c.crm = ?1 AND c.company_id = d.crm_id
        WHERE d.crm = ?1 AND d.domain IN (SELECT value FROM json_each(?2)) LIMIT ?3`,
    ).bind(crm, json(domains), rosterLimit),
    db.prepare(
      `SELECT * FROM crm_companies WHERE crm = ?1
          AND crm_id IN (SELECT crm_id FROM crm_company_domains WHERE crm = ?1 AND domain IN (SELECT value FROM json_each(?2)))`,
    ).bind(crm, json(domains)),
  ]);
  const contacts = new Map<string, ContactRow>();
  for (const r of [byEmail!, converted!, roster!]) for (const row of r.results as unknown as ContactRow[]) contacts.set(row.crm_id, row);
  return {
    contacts: [...contacts.values()].sort((x, y) => (x.crm_id < y.crm_id ? -1 : x.crm_id > y.crm_id ? 1 : 0)).map(contactFromRow),
    companies: (companies!.results as unknown as CompanyRow[]).map(companyFromRow),
  };
}

export interface DealMirrorRow {
  crm_id: string;
  name: string | null;
  amount: number | null;
  currency: string | null;
  stage: string | null;
  pipeline: string | null;
  created_at: string;
  close_date: string | null;
  is_closed: number;
  is_won: number;
  owner_id: string | null;
  company_id: string | null;
  updated_at: string;
}

export function dealFromRow(r: DealMirrorRow): CrmDeal {
  return {
    crmId: r.crm_id, name: r.name, amount: r.amount, currency: r.currency, stage: r.stage, pipeline: r.pipeline,
    createdAt: r.created_at, closeDate: r.close_date, isClosed: r.is_closed === 1, isWon: r.is_won === 1,
    ownerId: r.owner_id, companyId: r.company_id, updatedAt: r.updated_at,
  };
}

/**
 * What the mirror holds for these records, in the connector's shape, so a pulled page can be compared with it:
 * records we only touched by writing our own fields come back from the CRM unchanged and are not recomputed.
 */
export async function mirrorOf(db: D1Database, crm: CrmKind, object: 'contacts' | 'leads' | 'companies' | 'deals', ids: string[]) {
  const out = new Map<string, CrmContact | CrmCompany | CrmDeal>();
  if (!ids.length) return { records: out, dealContacts: new Map<string, string>() };
  const table = object === 'companies' ? 'crm_companies' : object === 'deals' ? 'crm_deals' : 'crm_contacts';
  const { results } = await db.prepare(`SELECT * FROM ${table} WHERE crm = ?1 AND crm_id IN (SELECT value FROM json_each(?2))`).bind(crm, json(ids)).all();
  for (const row of results) {
    const r = row as unknown;
    const rec = object === 'companies' ? companyFromRow(r as CompanyRow) : object === 'deals' ? dealFromRow(r as DealMirrorRow) : contactFromRow(r as ContactRow);
    out.set(rec.crmId, rec);
  }
  const dealContacts = new Map<string, string>();
  if (object === 'deals') {
    // Grouped here, not in SQL: an ORDER BY contact_id under the GROUP BY let SQLite walk the (crm, contact_id) index,
    // i.e. every deal link of the CRM, for each page of 200 deals.
    const { results: links } = await db
      .prepare('SELECT deal_id, contact_id, role, is_primary FROM crm_deal_contacts WHERE crm = ?1 AND deal_id IN (SELECT value FROM json_each(?2))')
      .bind(crm, json(ids))
      .all<{ deal_id: string; contact_id: string; role: string | null; is_primary: number }>();
    const byDeal = new Map<string, [string, string | null, number][]>();
    for (const l of links) {
      const list = byDeal.get(l.deal_id);
      if (list) list.push([l.contact_id, l.role, l.is_primary]);
      else byDeal.set(l.deal_id, [[l.contact_id, l.role, l.is_primary]]);
    }
    for (const [dealId, list] of byDeal) dealContacts.set(dealId, JSON.stringify(list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))));
  }
  return { records: out, dealContacts };
}

/** The same serialisation for a pulled record and its mirror row; updatedAt is left out (our own writes bump it). */
export function comparable(record: CrmContact | CrmCompany | CrmDeal): string {
  const { updatedAt: _ignored, ...rest } = record;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

export function dealContactsKey(links: CrmDealContact[]): string {
  return JSON.stringify(
    [...links].sort((a, b) => (a.contactId < b.contactId ? -1 : 1)).map((l) => [l.contactId, l.role, l.isPrimary ? 1 : 0]),
  );
}
