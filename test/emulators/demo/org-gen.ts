/**
 * The CRM side of the demo organisation: companies, contacts (with Salesforce-style leads) and deals. Everything is drawn
 * from one seeded stream in a fixed order, so a seed always yields the same org. Loops are linear in the sizes (index maps,
 * cumulative weights with binary search), which keeps 100k contacts / 20k deals well under a second.
 */
import type { Org, OrgCompany, OrgContact, OrgDeal, OrgDealContact, OrgStage } from '../org';
import {
  BUYER_TITLES, COMPANY_SUFFIXES, COUNTRIES, COUNTRY_TLD, DEAL_PRODUCTS, DEAL_ROLES, EURO_COUNTRIES, FIRST_NAMES, INDUSTRIES,
  LAST_NAMES, SUBSIDIARY_REGIONS, SUFFIX_INDUSTRY, TITLES, asciiSlug, companyRoot,
} from './names';
import { DAY, type Rng, int, iso, mulberry32, normal, pick, subSeed, weighted } from './random';

export interface OrgOptions {
  /** PRNG seed (default 42). */
  seed?: number;
  /** Companies (default 60). */
  companies?: number;
  /** CRM people including leads (default 450; 15% of them are leads, about a third of those converted). */
  contacts?: number;
  /** Deals (default 140). */
  deals?: number;
  /** Length of the period ending at `now` that deals and activity span (default 18). */
  months?: number;
  /** End of the period, ISO 8601 (default 2026-11-20T00:00:00Z). Nothing but open deals' close dates lies after it. */
  now?: string;
}

export const DEFAULT_NOW = '2026-11-20T00:00:00Z';
export const DEFAULT_SEED = 42;
/** Average month, so "18 months" is a fixed span independent of the calendar. */
export const MONTH = 30.44 * DAY;

// Tables hoisted out of the loops: literal tables inside them were a measurable share of allocation at 100k contacts.
const TLDS = [['com', 70], ['io', 20], ['dev', 5], ['co', 5]] as const;
const PATTERNS = [['first.last', 6], ['flast', 3], ['first', 1]] as const;
const EXTRA_CONTACTS = [[0, 4], [1, 3], [2, 2], [3, 1]] as const;
const NO_DEAL_STAGES = [['subscriber', 35], ['lead', 35], ['marketingqualifiedlead', 20], ['salesqualifiedlead', 10]] as const;

const pad = (i: number, width: number): string => String(i).padStart(width, '0');
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Binary search in a cumulative weight array: O(log n) weighted picks for thousands of companies. */
function pickCumulative(rng: Rng, cum: readonly number[]): number {
  const total = cum[cum.length - 1] ?? 0;
  const r = rng() * total;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cum[mid] ?? 0) > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface CompanyDraft extends OrgCompany {
  /** The domain employees' mail uses; equals `domain` unless the CRM record lacks one (a common data-quality gap). */
  mailDomain: string;
  pattern: 'first.last' | 'flast' | 'first';
  /** One number per mail domain: a division sharing its parent's domain shares its mailboxes too. */
  mailbox: number;
}

function buildCompanies(rng: Rng, n: number, start: number, now: number): CompanyDraft[] {
  const names = new Set<string>();
  const domains = new Set<string>();
  const out: CompanyDraft[] = [];
  const uniqueDomain = (base: string, tld: string): string => {
    let d = `${base}.${tld}`;
    for (let k = 2; domains.has(d); k++) d = `${base}${k}.${tld}`;
    domains.add(d);
    return d;
  };
  for (let i = 0; i < n; i++) {
    let country = weighted(rng, COUNTRIES);
    const createdAt = rng() < 0.5 ? start - rng() * 400 * DAY : start + rng() * (now - start - 30 * DAY);
    const updatedAt = createdAt + rng() * (now - createdAt);
    // Any earlier company can be a parent; drawing from all of them keeps derived names (subsidiaries, look-alikes) mostly unique.
    const parent = i > 8 ? out[int(rng, 0, i - 1)] : undefined;
    let name: string;
    let domain: string;
    let industry: string;
    let additionalDomains: string[] = [];
    let employees = Math.round(clamp(Math.exp(4.6 + 1.8 * normal(rng)), 8, 250_000));
    if (parent && i % 23 === 11) {
      // Regional subsidiary: a subdomain of the parent's domain, so domain matching must consider parents.
      const [region, regionCountry] = pick(rng, SUBSIDIARY_REGIONS);
      country = regionCountry;
      name = `${parent.name} ${region}`;
      domain = `${asciiSlug(region)}.${parent.mailDomain}`;
      domains.add(domain);
      industry = parent.industry ?? pick(rng, INDUSTRIES);
      employees = Math.max(5, Math.round((parent.employees ?? 100) / 8));
    } else if (parent && i % 41 === 29) {
      // A division recorded as its own company but sharing the parent's exact domain: ambiguous by design.
      name = `${parent.name.split(' ')[0] ?? parent.name} ${pick(rng, ['Payments', 'Research', 'Digital', 'Ventures'])}`;
      domain = parent.mailDomain;
      industry = parent.industry ?? pick(rng, INDUSTRIES);
    } else if (parent && i % 31 === 13) {
      // Look-alike name on an unrelated domain ("HOOLI Inc." vs "Hooli Labs"): name matching alone would be wrong.
      const root = parent.name.split(' ')[0] ?? parent.name;
      name = `${root.toUpperCase()} Inc.`;
      domain = uniqueDomain(`${asciiSlug(root)}-inc`, 'com');
      industry = pick(rng, INDUSTRIES);
    } else {
      // Every fifth company reuses the previous root with another suffix: natural look-alikes ("Acme Labs", "Acme Cloud").
      const root = companyRoot(i - Math.floor(i / 5));
      let suffix: string = pick(rng, COMPANY_SUFFIXES);
      name = suffix ? `${root} ${suffix}` : root;
      for (let k = 0; names.has(name); k++) {
        suffix = COMPANY_SUFFIXES[(k + 1) % COMPANY_SUFFIXES.length] ?? 'Labs';
        name = k >= COMPANY_SUFFIXES.length ? `${root} ${suffix} ${k}` : `${root} ${suffix}`;
      }
      const tld = COUNTRY_TLD[country] && rng() < 0.5 ? (COUNTRY_TLD[country] ?? 'com') : weighted(rng, TLDS);
      domain = uniqueDomain(asciiSlug(root) + (suffix && rng() < 0.4 ? asciiSlug(suffix) : ''), tld);
      industry = (suffix && SUFFIX_INDUSTRY[suffix]) || pick(rng, INDUSTRIES);
      if (i % 19 === 7) additionalDomains = [uniqueDomain(asciiSlug(root), tld === 'io' ? 'com' : 'io')];
    }
    names.add(name);
    const noDomain = i % 37 === 20;
    out.push({
      key: `co-${pad(i + 1, 5)}`, name, domain: noDomain ? null : domain, website: noDomain ? null : `https://www.${domain}`,
      additionalDomains, industry: rng() < 0.05 ? null : industry, employees: rng() < 0.04 ? null : employees, country,
      createdAt: iso(createdAt), updatedAt: iso(updatedAt), mailDomain: domain,
      pattern: parent && domain === parent.mailDomain ? parent.pattern : weighted(rng, PATTERNS),
      mailbox: parent && domain === parent.mailDomain ? parent.mailbox : i,
    });
  }
  return out;
}

interface Person { first: string; last: string; fi: number; li: number }

function person(rng: Rng): Person {
  const fi = Math.floor(rng() * FIRST_NAMES.length);
  const li = Math.floor(rng() * LAST_NAMES.length);
  return { first: FIRST_NAMES[fi] ?? 'Alex', last: LAST_NAMES[li] ?? 'Doe', fi, li };
}

/**
 * How many times each mailbox base has been handed out, keyed by a number built from the name indices (and company)
 * rather than the address string: hashing 100k fresh strings in a Set was the generator's single biggest cost. The
 * first holder gets the bare address, later ones a numeric suffix; names contain no digits, so suffixes never collide.
 */
type Mailboxes = Map<number, number>;
const NAME_KEYS = 60_000;

function claim(box: Mailboxes, key: number, local: string, host: string, from: number): string {
  const n = box.get(key) ?? 0;
  box.set(key, n + 1);
  return n === 0 ? `${local}@${host}` : `${local}${from + n - 1}@${host}`;
}

function workEmail(c: CompanyDraft, p: Person, box: Mailboxes): string {
  const ci = c.mailbox;
  const f = asciiSlug(p.first);
  const l = asciiSlug(p.last);
  const nl = LAST_NAMES.length;
  if (c.pattern === 'first.last') return claim(box, ci * NAME_KEYS + p.fi * nl + p.li, `${f}.${l}`, c.mailDomain, 2);
  if (c.pattern === 'flast') return claim(box, ci * NAME_KEYS + 10_000 + f.charCodeAt(0) * nl + p.li, `${f.charAt(0)}${l}`, c.mailDomain, 2);
  return claim(box, ci * NAME_KEYS + 50_000 + p.fi, f, c.mailDomain, 2);
}

function personalEmail(rng: Rng, p: Person, box: Mailboxes): string {
  const n = rng() < 0.5 ? int(rng, 1, 99) : 0;
  // Negative keys keep gmail.com apart from company mailboxes; suffixes start at 100 so "smith5" + k stays unique.
  const key = -1 - ((p.fi * LAST_NAMES.length + p.li) * 100 + n);
  return claim(box, key, `${asciiSlug(p.first)}.${asciiSlug(p.last)}${n || ''}`, 'gmail.com', 100);
}

function openStage(rng: Rng, ageDays: number): OrgStage {
  // Older open deals have usually progressed further down the pipeline.
  const late = clamp(ageDays / 120, 0, 1);
  return weighted(rng, [['new', 4 - 3 * late], ['qualified', 3], ['proposal', 2 + late], ['negotiation', 1 + 2 * late]] as const);
}

export function generateOrg(opts: OrgOptions = {}): Org {
  const rng = mulberry32(subSeed(opts.seed ?? DEFAULT_SEED, 1));
  const nCompanies = opts.companies ?? 60;
  const nContacts = opts.contacts ?? 450;
  const nDeals = opts.deals ?? 140;
  const months = opts.months ?? 18;
  const now = Date.parse(opts.now ?? DEFAULT_NOW);
  const start = now - months * MONTH;
  const companies = buildCompanies(rng, nCompanies, start, now);

  // --- contacts (not leads): bigger companies get more contacts, sub-linearly ---------------------------------------
  const cum: number[] = [];
  let acc = 0;
  for (const c of companies) cum.push((acc += Math.sqrt(c.employees ?? 50)));
  const nLeads = Math.round(nContacts * 0.15);
  const nPlain = nContacts - nLeads;
  const taken: Mailboxes = new Map();
  const contacts: OrgContact[] = [];
  const byCompany = new Map<string, number[]>();
  const width = String(nContacts).length + 1;
  // Times stay numeric while deals adjust them (Date.parse and toISOString are costly at 100k); strings are set once at the end.
  const createdMs = new Float64Array(nPlain);
  const updatedMs = new Float64Array(nPlain);
  for (let i = 0; i < nPlain; i++) {
    const p = person(rng);
    const ci = companies.length > 0 && rng() > 0.03 ? pickCumulative(rng, cum) : -1;
    const company = companies[ci];
    const email = company && rng() > 0.04 ? workEmail(company, p, taken) : personalEmail(rng, p, taken);
    const additionalEmails: string[] = [];
    if (rng() < 0.07) additionalEmails.push(email.endsWith('@gmail.com') || !company ? `${asciiSlug(p.first)}@${asciiSlug(p.last)}.dev` : personalEmail(rng, p, taken));
    const createdAt = start - 180 * DAY + rng() * (now - start + 179 * DAY);
    contacts.push({
      key: `ct-${pad(i + 1, width)}`, email, additionalEmails, firstName: p.first, lastName: p.last,
      title: rng() < 0.06 ? null : weighted(rng, TITLES), companyKey: company?.key ?? null, lifecycleStage: 'subscriber',
      isLead: false, convertedToContactKey: null, createdAt: '', updatedAt: '',
    });
    createdMs[i] = createdAt;
    if (company) {
      const list = byCompany.get(company.key) ?? [];
      list.push(i);
      byCompany.set(company.key, list);
    }
  }

  // --- deals ----------------------------------------------------------------------------------------------------------
  const onDeals = new Uint16Array(nPlain);
  const contactStages: (OrgStage[] | undefined)[] = new Array<OrgStage[] | undefined>(nPlain);
  const deals: OrgDeal[] = [];
  const dealUpdatedMs: number[] = [];
  const withCompany = contacts.filter((c) => c.companyKey !== null).length;
  const dealWidth = String(nDeals).length + 1;
  const companyByKey = new Map(companies.map((c) => [c.key, c] as const));
  const pickFresh = (draw: () => number | undefined): number | undefined => {
    // Prefer contacts not yet on a deal so one person's activity maps to one outcome; fall back after a few tries.
    let best: number | undefined;
    for (let t = 0; t < 6; t++) {
      const idx = draw();
      if (idx === undefined) continue;
      if (onDeals[idx] === 0) return idx;
      best ??= idx;
    }
    return best;
  };
  for (let d = 0; d < nDeals && withCompany > 0; d++) {
    // sqrt skews creation towards recent months: a growing pipeline, and enough deals still open at `now`.
    const createdAt = start + Math.sqrt(rng()) * (now - start - 2 * DAY);
    const ageDays = (now - createdAt) / DAY;
    const pClosed = clamp(ageDays / 240, 0.05, 0.95);
    const stage: OrgStage = rng() < pClosed ? (rng() < 0.42 ? 'won' : 'lost') : openStage(rng, ageDays);
    const primary = pickFresh(() => {
      for (let t = 0; t < 20; t++) {
        const idx = Math.floor(rng() * nPlain);
        if (contacts[idx]?.companyKey) return idx;
      }
      return undefined;
    });
    if (primary === undefined) continue;
    const companyKey = contacts[primary]?.companyKey ?? null;
    const company = companyKey ? companyByKey.get(companyKey) : undefined;
    const colleagues = companyKey ? (byCompany.get(companyKey) ?? []) : [];
    const members = new Set<number>([primary]);
    const extra = weighted(rng, EXTRA_CONTACTS);
    for (let k = 0; k < extra && members.size < colleagues.length; k++) {
      const idx = pickFresh(() => colleagues[Math.floor(rng() * colleagues.length)]);
      if (idx !== undefined) members.add(idx);
    }
    const dealContacts: OrgDealContact[] = [];
    for (const idx of members) {
      const c = contacts[idx];
      if (!c) continue;
      const isPrimary = idx === primary;
      dealContacts.push({ contactKey: c.key, role: isPrimary ? pick(rng, DEAL_ROLES.slice(0, 3)) : pick(rng, DEAL_ROLES), isPrimary });
      if (isPrimary && rng() < 0.5) c.title = pick(rng, BUYER_TITLES);
      // A contact exists before the deal that names them; primaries often appear only weeks before (inbound, events).
      const before = createdAt - (isPrimary ? int(rng, 2, 100) : int(rng, 1, 200)) * DAY - rng() * DAY;
      if ((createdMs[idx] ?? 0) > before || (isPrimary && onDeals[idx] === 0)) createdMs[idx] = Math.min(createdMs[idx] ?? before, before);
      onDeals[idx] = (onDeals[idx] ?? 0) + 1;
      (contactStages[idx] ??= []).push(stage);
    }
    const closed = stage === 'won' || stage === 'lost';
    let closeDate = closed ? createdAt + int(rng, 14, 180) * DAY : now + int(rng, 7, 150) * DAY;
    if (closed && closeDate > now - DAY) closeDate = createdAt + (now - createdAt) * (0.3 + 0.65 * rng());
    const updatedAt = closed ? Math.min(now, closeDate + rng() * 5 * DAY) : createdAt + rng() * (now - createdAt);
    const eur = company && EURO_COUNTRIES.has(company.country ?? '') ? rng() < 0.75 : rng() < 0.05;
    const amount = stage === 'new' && rng() < 0.15 ? null : Math.round(clamp(Math.exp(Math.log(30_000) + 1.1 * normal(rng)), 5_000, 400_000) / 100) * 100;
    dealUpdatedMs.push(updatedAt);
    deals.push({
      key: `dl-${pad(d + 1, dealWidth)}`, name: `${company?.name ?? 'Unknown'} — ${pick(rng, DEAL_PRODUCTS)}`, amount,
      currency: eur ? 'EUR' : 'USD', stage, createdAt: iso(createdAt), closeDate: iso(closeDate), companyKey,
      contacts: dealContacts, updatedAt: iso(updatedAt),
    });
    // HubSpot leaves closedate empty on many open deals; Salesforce always has one. Keep both kinds.
    const last = deals[deals.length - 1];
    if (last && !closed && rng() < 0.25) last.closeDate = null;
  }

  // --- lifecycle stages follow the deals ------------------------------------------------------------------------------
  const customerCompanies = new Set(deals.filter((d) => d.stage === 'won').map((d) => d.companyKey));
  for (let i = 0; i < nPlain; i++) {
    const c = contacts[i];
    if (!c) continue;
    const st = contactStages[i];
    if (st?.includes('won')) c.lifecycleStage = 'customer';
    else if (st?.some((s) => s !== 'lost')) c.lifecycleStage = 'opportunity';
    else if (st) c.lifecycleStage = 'salesqualifiedlead';
    else if (customerCompanies.has(c.companyKey) && rng() < 0.5) c.lifecycleStage = 'customer';
    else c.lifecycleStage = weighted(rng, NO_DEAL_STAGES);
    const created = createdMs[i] ?? now;
    updatedMs[i] = created + rng() * (now - created);
  }
  deals.forEach((d, k) => {
    const u = dealUpdatedMs[k] ?? 0;
    for (const dc of d.contacts) {
      const i = Number(dc.contactKey.slice(3)) - 1;
      if ((updatedMs[i] ?? 0) < u) updatedMs[i] = u;
    }
  });
  for (let i = 0; i < nPlain; i++) {
    const c = contacts[i];
    if (c) {
      c.createdAt = iso(createdMs[i] ?? now);
      c.updatedAt = iso(updatedMs[i] ?? now);
    }
  }

  // --- leads: some converted into an existing contact (same email), the rest open -------------------------------------
  const converted = new Set<number>();
  for (let j = 0; j < nLeads; j++) {
    const key = `ld-${pad(j + 1, width)}`;
    const target = rng() < 0.35 && nPlain > 0 ? Math.floor(rng() * nPlain) : -1;
    const tc = contacts[target];
    if (tc && tc.email && !converted.has(target)) {
      converted.add(target);
      const created = (createdMs[target] ?? now) - int(rng, 1, 60) * DAY;
      contacts.push({
        ...tc, key, additionalEmails: [], isLead: true, convertedToContactKey: tc.key, lifecycleStage: 'salesqualifiedlead',
        createdAt: iso(created), updatedAt: tc.createdAt,
      });
      continue;
    }
    const p = person(rng);
    const ci = companies.length > 0 && rng() < 0.5 ? pickCumulative(rng, cum) : -1;
    const company = companies[ci];
    // Unmatched leads come from companies the CRM does not know: a startup domain or a personal address.
    const email = company ? workEmail(company, p, taken) : rng() < 0.6 ? `${asciiSlug(p.first)}@${asciiSlug(p.last)}${int(rng, 1, 999)}.io` : personalEmail(rng, p, taken);
    const created = start + rng() * (now - start - DAY);
    contacts.push({
      key, email, additionalEmails: [], firstName: p.first, lastName: p.last, title: weighted(rng, TITLES),
      companyKey: company?.key ?? null, lifecycleStage: rng() < 0.7 ? 'lead' : 'marketingqualifiedlead', isLead: true,
      convertedToContactKey: null, createdAt: iso(created), updatedAt: iso(created + rng() * (now - created)),
    });
  }

  const outCompanies: OrgCompany[] = companies.map(({ mailDomain: _m, pattern: _p, mailbox: _b, ...c }) => c);
  return { companies: outCompanies, contacts, deals };
}
