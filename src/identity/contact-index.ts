/**
 * In-memory lookup structure over CRM contacts and companies, keyed by normalised values. Built once per run from the
 * D1 mirror and then updated record by record (upsert/delete), so re-resolving a dirty member never rescans the CRM.
 *
 * Memory matters (500k contacts must fit comfortably in a Worker-sized heap when chunked, and in the bench at 2 GB):
 * records live in slot arrays and the maps hold slot numbers; a key with one hit stores a bare number, not an array.
 */
import type { CrmCompany, CrmContact } from '../crm/types';
import { pickCompany, type CompanyChoice } from './company';
import { isFreeMailDomain, normaliseEmail, registrableDomain, type EmailRules, type HostInfo } from './email';
import { foldName, jaroWinkler, letterMask, normaliseCompanyName } from './names';
import { StringMap } from './string-map';

export interface IndexedContact {
  crmId: string;
  kind: 'contact' | 'lead';
  /** Canonical emails; the first is the primary one when `hasPrimary`. */
  emails: string[];
  hasPrimary: boolean;
  /** foldName() of first + last name; '' when the record has no usable name. */
  folded: string;
  /** letterMask(folded), to skip hopeless fuzzy comparisons cheaply. */
  mask: number;
  displayName: string;
  companyId: string | null;
  /** Normalised free-text company name; '' when the contact has a company association. */
  companyKey: string;
  convertedContactId: string | null;
  createdAt: string;
}

export type CompanyVia = 'domain' | 'website' | 'additional';
const VIA: readonly CompanyVia[] = ['domain', 'website', 'additional'];

export interface IndexedCompany {
  crmId: string;
  name: string;
  nameKey: string;
  /** Registrable domains with how they were declared; the first declaration of a domain wins. */
  domains: { domain: string; host: string; via: CompanyVia }[];
  createdAt: string;
  /** Its contacts by association: the group groupById(crmId) returns (groups are never dropped, so this stays it). */
  contacts: CompanyGroup;
  /** Contacts carrying its name as free text: groupByName(nameKey); undefined when the name key is empty. */
  namedContacts: CompanyGroup | undefined;
}

export interface EmailHit {
  contact: IndexedContact;
  primary: boolean;
}

export interface CompanyHit {
  company: IndexedCompany;
  via: CompanyVia;
  /** The declared host equals the email host exactly (eu.acme.com vs acme.com). */
  exactHost: boolean;
}

type Bucket = number | number[];

/** What bucketAdd / bucketRemove need: a Map, or a StringMap for keys that arrive as fresh strings. */
interface BucketMap {
  get(key: string): Bucket | undefined;
  set(key: string, value: Bucket): unknown;
  delete(key: string): boolean;
}

/**
 * The company an email host points to (pickCompany over the companies declaring its registrable domain), remembered with
 * the host's facts until the index changes: most members share their host with colleagues, and the choice only depends
 * on the index.
 */
export interface HostCompany {
  domain: string;
  choice: CompanyChoice | null;
}

const NO_HITS: readonly EmailHit[] = [];

const MAX_PREFIX_BUCKET = 2000;

export interface Roster {
  contacts: IndexedContact[];
  /**
   * Per contact i: its name mask (letterMask(folded) | 0) at 2i and its name length (capped at 65535) at 2i + 1, in
   * one flat array of small integers, so a scan touches one array instead of two typed arrays and their buffers.
   */
  sig: number[];
  /** contacts[i].folded, so fuzzy matching reaches a contact record only when its name is close enough. */
  names: string[];
  /** Folded name → contacts, built on first use (big companies get exact-name lookups instead of a scan). */
  byName: Map<string, IndexedContact[]> | null;
}
const EMPTY_ROSTER: Roster = { contacts: [], sig: [], names: [], byName: null };

/**
 * The contacts of one company (by association id, or by free-text company name) and their roster, built on first use and
 * dropped when one of them changes. One map lookup answers both "how many" and "which", on the per-member hot path.
 */
export interface CompanyGroup {
  /** Contact slots in insertion order (a re-upserted contact moves to the end). */
  slots: number[];
  roster: Roster | null;
}

/**
 * `unique`: the caller guarantees `value` is not already under `key` (a contact's slot is unindexed before it is
 * indexed again, and its emails are distinct), which skips a linear scan of crowded buckets ("john smith").
 */
function bucketAdd(map: BucketMap, key: string, value: number, unique = false): void {
  const cur = map.get(key);
  if (cur === undefined) map.set(key, value);
  else if (typeof cur === 'number') {
    if (cur !== value) map.set(key, [cur, value]);
  } else if (unique || !cur.includes(value)) cur.push(value);
}

/** bucketAdd for the email index with `unique` (a contact's emails are distinct): one probe when the email is new. */
function emailBucketAdd(map: StringMap<Bucket>, key: string, value: number): void {
  const cur = map.setIfAbsent(key, value);
  if (cur === undefined) return;
  if (typeof cur === 'number') map.set(key, [cur, value]);
  else cur.push(value);
}

function bucketRemove(map: BucketMap, key: string, value: number): void {
  const cur = map.get(key);
  if (cur === undefined) return;
  if (typeof cur === 'number') {
    if (cur === value) map.delete(key);
    return;
  }
  const i = cur.indexOf(value);
  if (i >= 0) cur.splice(i, 1);
  if (cur.length === 1 && cur[0] !== undefined) map.set(key, cur[0]);
  else if (cur.length === 0) map.delete(key);
}

/**
 * Platforms that host many companies' pages: a company "website" of linkedin.com/company/acme or github.com/acme says
 * nothing about who works there, and taking its domain would make every LinkedIn or GitHub employee an Acme member.
 */
const SHARED_PAGE_DOMAINS = new Set([
  'linkedin.com', 'github.com', 'gitlab.com', 'bitbucket.org', 'google.com', 'facebook.com', 'twitter.com', 'x.com',
  'instagram.com', 'youtube.com', 'medium.com', 'substack.com', 'wordpress.com', 'blogspot.com', 'wixsite.com',
  'squarespace.com', 'notion.site', 'crunchbase.com', 'wellfound.com', 'angel.co', 'about.me', 'linktr.ee',
]);

/** A page on a shared platform (a path below its root, or a subdomain like sites.google.com), not the company's own site. */
function isSharedPage(value: string, host: string, domain: string): boolean {
  return SHARED_PAGE_DOMAINS.has(domain) && (host !== domain || splitUrl(value).rest.replace(/^\/+$/, '') !== '');
}

/** A URL-ish value (scheme optional) as its lower-cased authority and what follows it. */
function splitUrl(value: string): { authority: string; rest: string } {
  const s = value.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  const authority = /^[^/?#]*/.exec(s)![0];
  return { authority, rest: s.slice(authority.length) };
}

function hostOf(value: string): string | null {
  const host = splitUrl(value).authority.split(':', 1)[0] ?? '';
  return host === '' ? null : host.replace(/^www\./, '');
}

export class ContactIndex {
  private readonly contacts: (IndexedContact | undefined)[] = [];
  // CRM ids and emails arrive as fresh strings (one per record, one per member email): see StringMap.
  private contactSlot = new StringMap<number>();
  /** canonical email → slot * 2 + (primary ? 1 : 0). */
  private byEmail = new StringMap<Bucket>();
  private readonly byName = new Map<string, Bucket>();
  private readonly byCompanyId = new Map<string, CompanyGroup>();
  /** Contacts whose company is only a free-text name (HubSpot "company" property, Salesforce Lead.Company). */
  private readonly byCompanyName = new Map<string, CompanyGroup>();

  private readonly companies: (IndexedCompany | undefined)[] = [];
  private companySlot = new StringMap<number>();
  /** registrable domain → slot * 4 + via index. */
  private readonly byDomain = new Map<string, Bucket>();
  private readonly companiesByName = new Map<string, Bucket>();
  /** First three letters of the normalised name → companies, to find look-alike names without a scan. */
  private readonly companiesByPrefix = new Map<string, Bucket>();
  /**
   * Bumped by every change (a contact changes company sizes, which break ties): per-host results kept outside the index
   * (HostInfo.memo) are only valid for one generation.
   */
  private generation = 0;

  constructor(private readonly rules: EmailRules) {}

  get contactCount(): number {
    return this.contactSlot.size;
  }

  get companyCount(): number {
    return this.companySlot.size;
  }

  /** Adds or replaces one contact or lead. Malformed emails on the CRM side are skipped (they cannot match anything). */
  upsertContact(c: CrmContact): void {
    this.changed();
    let slot = this.contactSlot.setIfAbsent(c.crmId, this.contacts.length);
    if (slot !== undefined) this.unindexContact(slot);
    else slot = this.contacts.length;
    const emails: string[] = [];
    let hasPrimary = false;
    const primary = c.email ? normaliseEmail(c.email, this.rules) : null;
    if (primary) {
      emails.push(primary.canonical);
      hasPrimary = true;
    }
    for (const raw of c.additionalEmails) {
      const e = normaliseEmail(raw, this.rules);
      if (e && !emails.includes(e.canonical)) emails.push(e.canonical);
    }
    const displayName = joinName(c.firstName, c.lastName);
    const folded = foldName(displayName);
    const record: IndexedContact = {
      crmId: c.crmId,
      kind: c.kind,
      emails,
      hasPrimary,
      folded,
      mask: letterMask(folded),
      displayName,
      companyId: c.companyId,
      // Only used when there is no association (see byCompanyName); skipping it saves a normalisation per contact.
      companyKey: c.companyId === null ? normaliseCompanyName(c.companyName) : '',
      convertedContactId: c.convertedContactId,
      createdAt: c.createdAt,
    };
    this.contacts[slot] = record;
    for (let i = 0; i < emails.length; i++) emailBucketAdd(this.byEmail, emails[i] as string, slot * 2 + (i === 0 && hasPrimary ? 1 : 0));
    if (record.folded !== '') bucketAdd(this.byName, record.folded, slot, true);
    if (record.companyId !== null) addToGroup(this.byCompanyId, record.companyId, slot);
    // The free-text company only matters when there is no association (the association's company has a name of its own).
    if (record.companyKey !== '') addToGroup(this.byCompanyName, record.companyKey, slot);
  }

  deleteContact(crmId: string): void {
    this.changed();
    const slot = this.contactSlot.get(crmId);
    if (slot === undefined) return;
    this.unindexContact(slot);
    this.contacts[slot] = undefined;
    this.contactSlot.delete(crmId);
  }

  private unindexContact(slot: number): void {
    const old = this.contacts[slot];
    if (!old) return;
    old.emails.forEach((e, i) => bucketRemove(this.byEmail, e, slot * 2 + (i === 0 && old.hasPrimary ? 1 : 0)));
    if (old.folded !== '') bucketRemove(this.byName, old.folded, slot);
    if (old.companyId !== null) removeFromGroup(this.byCompanyId.get(old.companyId), slot);
    if (old.companyKey !== '') removeFromGroup(this.byCompanyName.get(old.companyKey), slot);
  }

  /** Adds or replaces one company. Free-mail domains on a company record are ignored (gmail.com is nobody's employer). */
  upsertCompany(c: CrmCompany): void {
    this.changed();
    let slot = this.companySlot.setIfAbsent(c.crmId, this.companies.length);
    if (slot !== undefined) this.unindexCompany(slot);
    else slot = this.companies.length;
    const domains: IndexedCompany['domains'] = [];
    const declared: [string | null, CompanyVia][] = [
      [c.domain, 'domain'],
      [c.website, 'website'],
      ...c.additionalDomains.map((d): [string, CompanyVia] => [d, 'additional']),
    ];
    for (const [value, via] of declared) {
      if (!value) continue;
      const host = hostOf(value);
      const domain = host ? registrableDomain(host) : null;
      if (!host || !domain || isFreeMailDomain(domain, this.rules)) continue;
      if (via === 'website' && isSharedPage(value, host, domain)) continue;
      if (domains.some((d) => d.domain === domain && d.host === host)) continue;
      domains.push({ domain, host, via });
    }
    const name = c.name ?? '';
    const nameKey = normaliseCompanyName(name);
    const record: IndexedCompany = {
      crmId: c.crmId,
      name,
      nameKey,
      domains,
      createdAt: c.createdAt,
      contacts: groupOf(this.byCompanyId, c.crmId),
      namedContacts: nameKey === '' ? undefined : groupOf(this.byCompanyName, nameKey),
    };
    this.companies[slot] = record;
    for (const d of domains) bucketAdd(this.byDomain, d.domain, slot * 4 + VIA.indexOf(d.via));
    if (record.nameKey !== '') {
      // The slot was unindexed first: it cannot already be in these buckets (crowded prefixes would make the check quadratic).
      bucketAdd(this.companiesByName, record.nameKey, slot, true);
      bucketAdd(this.companiesByPrefix, record.nameKey.slice(0, 3), slot, true);
    }
  }

  deleteCompany(crmId: string): void {
    this.changed();
    const slot = this.companySlot.get(crmId);
    if (slot === undefined) return;
    this.unindexCompany(slot);
    this.companies[slot] = undefined;
    this.companySlot.delete(crmId);
  }

  private unindexCompany(slot: number): void {
    const old = this.companies[slot];
    if (!old) return;
    for (const d of old.domains) bucketRemove(this.byDomain, d.domain, slot * 4 + VIA.indexOf(d.via));
    if (old.nameKey !== '') {
      bucketRemove(this.companiesByName, old.nameKey, slot);
      bucketRemove(this.companiesByPrefix, old.nameKey.slice(0, 3), slot);
    }
  }

  private changed(): void {
    this.generation++;
  }

  /**
   * pickCompany(companyHits(domain, host)), remembered in the host's facts (from normaliseEmail) while the index does
   * not change. `domain` must be the registrable domain of `host` (as normaliseEmail gives them).
   */
  companyForHost(domain: string, host: string, facts?: HostInfo | null): HostCompany {
    // The facts normaliseEmail found for this host carry the answer when this index, unchanged, gave it last.
    const memo = facts?.memo;
    if (memo && memo.owner === this && memo.generation === this.generation && (memo.value as HostCompany).domain === domain) {
      return memo.value as HostCompany;
    }
    const entry: HostCompany = { domain, choice: pickCompany(this.companyHits(domain, host), this) };
    if (facts) facts.memo = { owner: this, generation: this.generation, value: entry };
    return entry;
  }

  contact(crmId: string): IndexedContact | undefined {
    const slot = this.contactSlot.get(crmId);
    return slot === undefined ? undefined : this.contacts[slot];
  }

  company(crmId: string): IndexedCompany | undefined {
    const slot = this.companySlot.get(crmId);
    return slot === undefined ? undefined : this.companies[slot];
  }

  /** Contacts and leads holding this canonical email, primary or secondary. */
  emailHits(canonical: string): readonly EmailHit[] {
    const b = this.byEmail.get(canonical);
    // Most member emails are on no CRM record: no list is built for them.
    if (b === undefined) return NO_HITS;
    const out: EmailHit[] = [];
    if (typeof b === 'number') this.pushHit(out, b);
    else for (const v of b) this.pushHit(out, v);
    return out;
  }

  private pushHit(out: EmailHit[], v: number): void {
    const contact = this.contacts[v >> 1];
    if (contact) out.push({ contact, primary: (v & 1) === 1 });
  }

  /** Companies declaring this registrable domain; `host` is the full email host, for the exact-host tie-break. */
  companyHits(domain: string, host: string): CompanyHit[] {
    const b = this.byDomain.get(domain);
    if (b === undefined) return [];
    const out: CompanyHit[] = [];
    for (const v of typeof b === 'number' ? [b] : b) {
      const company = this.companies[v >> 2];
      const via = VIA[v & 3];
      if (!company || !via) continue;
      let exactHost = false;
      for (const d of company.domains) {
        if (d.host === host && d.via === via) {
          exactHost = true;
          break;
        }
      }
      out.push({ company, via, exactHost });
    }
    return out;
  }

  companiesNamed(nameKey: string): IndexedCompany[] {
    const b = this.companiesByName.get(nameKey);
    if (b === undefined) return [];
    const out: IndexedCompany[] = [];
    for (const v of typeof b === 'number' ? [b] : b) {
      const c = this.companies[v];
      if (c) out.push(c);
    }
    return out;
  }

  /** How many contacts carry this folded name, without materialising them. */
  namedCount(folded: string): number {
    const b = this.byName.get(folded);
    return b === undefined ? 0 : typeof b === 'number' ? 1 : b.length;
  }

  /** Contacts with exactly this folded name at a company (by association or free-text name), in O(1). */
  namedAt(folded: string, companyId: string | null, nameKey: string): IndexedContact[] {
    return this.namedIn(folded, companyId !== null ? this.byCompanyId.get(companyId) : undefined, nameKey !== '' ? this.byCompanyName.get(nameKey) : undefined);
  }

  /**
   * Companies whose normalised name is similar (Jaro-Winkler ≥ min) to `nameKey`, best first. Candidates share the first
   * three letters (a typo there is rare, and the blocking keeps the lookup O(bucket)).
   */
  companiesLike(nameKey: string, min: number, limit = 3): { company: IndexedCompany; similarity: number }[] {
    if (nameKey.length < 3) return [];
    const b = this.companiesByPrefix.get(nameKey.slice(0, 3));
    // A crowded prefix would make this a scan; such names get exact matches only.
    if (b === undefined || (typeof b !== 'number' && b.length > MAX_PREFIX_BUCKET)) return [];
    const out: { company: IndexedCompany; similarity: number }[] = [];
    for (const v of typeof b === 'number' ? [b] : b) {
      const c = this.companies[v];
      if (!c) continue;
      const similarity = jaroWinkler(nameKey, c.nameKey);
      if (similarity >= min) out.push({ company: c, similarity });
    }
    return out.sort((x, y) => y.similarity - x.similarity || (x.company.crmId < y.company.crmId ? -1 : 1)).slice(0, limit);
  }

  /** Contacts with this folded name; none when more than `max` carry it (one lookup instead of namedCount + this). */
  contactsNamed(folded: string, max = Infinity): IndexedContact[] {
    const b = this.byName.get(folded);
    if (b === undefined || (typeof b !== 'number' && b.length > max)) return [];
    const out: IndexedContact[] = [];
    for (const v of typeof b === 'number' ? [b] : b) {
      const c = this.contacts[v];
      if (c) out.push(c);
    }
    return out;
  }

  /** Number of contacts at a company (by association, plus those carrying its name as free text). */
  companySize(companyId: string, nameKey: string): number {
    return (this.byCompanyId.get(companyId)?.slots.length ?? 0) + (nameKey === '' ? 0 : (this.byCompanyName.get(nameKey)?.slots.length ?? 0));
  }

  /**
   * Contacts associated with a company, as a flat array with their name masks: fuzzy matching scans it for every member
   * at that company, so it is built once and dropped only when one of its contacts changes.
   */
  rosterById(companyId: string): Roster {
    return this.rosterOf(this.byCompanyId.get(companyId));
  }

  /** Contacts carrying this normalised company name as free text (Leads, HubSpot's company property). */
  rosterByName(nameKey: string): Roster {
    return this.rosterOf(this.byCompanyName.get(nameKey));
  }

  /** The contacts associated with a company id; undefined when none ever was. Size is `slots.length`. */
  groupById(companyId: string): CompanyGroup | undefined {
    return this.byCompanyId.get(companyId);
  }

  /** The contacts carrying a normalised company name as free text; undefined when none ever did. */
  groupByName(nameKey: string): CompanyGroup | undefined {
    return this.byCompanyName.get(nameKey);
  }

  /** Named contacts of a group with their name masks, built on first use (same as rosterById / rosterByName). */
  rosterOf(group: CompanyGroup | undefined): Roster {
    if (!group || group.slots.length === 0) return EMPTY_ROSTER;
    if (group.roster) return group.roster;
    const contacts: IndexedContact[] = [];
    for (const slot of group.slots) {
      const c = this.contacts[slot];
      if (c && c.folded !== '') contacts.push(c);
    }
    const sig: number[] = [];
    const names: string[] = [];
    for (const c of contacts) {
      sig.push(c.mask | 0, Math.min(65535, c.folded.length));
      names.push(c.folded);
    }
    group.roster = { contacts, sig, names, byName: null };
    return group.roster;
  }

  /** namedAt() over groups already looked up: `byId` only counts when the clue has a company id. */
  namedIn(folded: string, byId: CompanyGroup | undefined, byText: CompanyGroup | undefined): IndexedContact[] {
    const a = byId ? namesOf(this.rosterOf(byId)).get(folded) : undefined;
    const b = byText ? namesOf(this.rosterOf(byText)).get(folded) : undefined;
    if (!b) return a ?? [];
    if (!a) return b;
    return [...a, ...b.filter((c) => !a.includes(c))];
  }

  contactAt(slot: number): IndexedContact | undefined {
    return this.contacts[slot];
  }

  /** Convenience for building from a full pull. */
  static build(rules: EmailRules, contacts: Iterable<CrmContact>, companies: Iterable<CrmCompany>): ContactIndex {
    const index = new ContactIndex(rules);
    // A full pull usually comes as arrays: size the big tables once instead of growing them step by step.
    if (Array.isArray(companies)) index.companySlot = new StringMap(companies.length);
    if (Array.isArray(contacts)) {
      index.contactSlot = new StringMap(contacts.length);
      index.byEmail = new StringMap(contacts.length);
    }
    for (const c of companies) index.upsertCompany(c);
    for (const c of contacts) index.upsertContact(c);
    return index;
  }
}

/** [first, last] without the blank ones, joined by a space (no temporary arrays: this runs for every contact). */
function joinName(first: string | null, last: string | null): string {
  const f = first && first.trim() !== '' ? first : '';
  const l = last && last.trim() !== '' ? last : '';
  return f === '' ? l : l === '' ? f : `${f} ${l}`;
}

function namesOf(roster: Roster): Map<string, IndexedContact[]> {
  if (roster.byName) return roster.byName;
  const map = new Map<string, IndexedContact[]>();
  for (const c of roster.contacts) {
    const list = map.get(c.folded);
    if (list) list.push(c);
    else map.set(c.folded, [c]);
  }
  roster.byName = map;
  return map;
}

/** The group under `key`, created empty when there is none (a company's groups exist before its contacts). */
function groupOf(map: Map<string, CompanyGroup>, key: string): CompanyGroup {
  let group = map.get(key);
  if (!group) {
    group = { slots: [], roster: null };
    map.set(key, group);
  }
  return group;
}

function addToGroup(map: Map<string, CompanyGroup>, key: string, slot: number): void {
  const group = map.get(key);
  if (!group) map.set(key, { slots: [slot], roster: null });
  else {
    // The slot was unindexed first, so it is not in the group: no duplicate check needed.
    group.slots.push(slot);
    group.roster = null;
  }
}

function removeFromGroup(group: CompanyGroup | undefined, slot: number): void {
  if (!group) return;
  // O(company size), like rebuilding the roster that this change invalidates anyway.
  const i = group.slots.indexOf(slot);
  if (i >= 0) group.slots.splice(i, 1);
  group.roster = null;
}
