/**
 * Email and domain normalisation. Emails are never keys in the CRM mirror (they change), but they are the strongest
 * evidence that a community identity and a CRM record are one person, so both sides are reduced to the same canonical
 * form before any comparison.
 */
import { getDomain } from 'tldts';
import freeMailList from 'email-providers/all.json' with { type: 'json' };
import type { IdentityConfig } from './config';
import { StringMap } from './string-map';

export interface NormalisedEmail {
  /** Trimmed, lower-cased address as written. */
  address: string;
  /** Comparison key: provider rules applied (Gmail dots, +tags, googlemail → gmail). */
  canonical: string;
  /** Host part after the @. */
  host: string;
  /** Registrable domain of the host (Public Suffix List), e.g. mail.acme.co.uk → acme.co.uk; null for IPs/single labels. */
  domain: string | null;
  /** The domain is a free-mail provider (says nothing about an employer). */
  freeMail: boolean;
  /** The host is on one of the organisation's own domains (staff). */
  organisation: boolean;
}

/** A slot where a caller keeps its own per-host result next to the host facts (see ContactIndex.companyForHost). */
export interface HostMemo {
  owner: object;
  generation: number;
  value: unknown;
}

/** Facts about one email host, computed once per host and shared by every address on it. */
export interface HostInfo {
  /**
   * The host as NormalisedEmail.host gives it (gmail.com for Googlemail): one string per host, so every later lookup by
   * it (company by host, exact-host tie-break) reuses its hash and compares by identity instead of characters.
   */
  host: string;
  domain: string | null;
  freeMail: boolean;
  organisation: boolean;
  /** Gmail / Googlemail: dots dropped, host becomes gmail.com. */
  gmail: boolean;
  /** `+tag` is dropped on this host (provider rule, or a work domain when enabled). */
  plusTags: boolean;
  memo: HostMemo | null;
}

const GMAIL = new Set(['gmail.com', 'googlemail.com']);
const GITHUB_NOREPLY = 'users.noreply.github.com';
// Deliberately strict: one @, no spaces or quotes, dotted host. Quoted local parts are legal but never seen in CRMs.
const EMAIL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;

// Character classes of EMAIL_RE for the hand-written scan in addressAt (ASCII only; anything else is rejected).
const LOCAL_CHAR = new Uint8Array(128);
for (const ch of "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~.-") LOCAL_CHAR[ch.charCodeAt(0)] = 1;
const isLabelChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);

/**
 * Index of the @ when `address` (already lower-cased) matches EMAIL_RE and its local part neither starts nor ends with
 * a dot nor holds two in a row; otherwise -1. Same language as the regex plus those checks, in one pass (the regex and
 * four string scans cost more than the rest of normaliseEmail); email.test.ts compares the two on random input.
 */
export function addressAt(address: string): number {
  const n = address.length;
  if (n > 320) return -1;
  let i = 0;
  let prevDot = true; // a leading dot is refused like a doubled one
  for (; i < n; i++) {
    const c = address.charCodeAt(i);
    if (c === 64) break;
    if (c >= 128 || LOCAL_CHAR[c] === 0) return -1;
    if (c === 46) {
      if (prevDot) return -1;
      prevDot = true;
    } else prevDot = false;
  }
  if (i === 0 || i === n || prevDot) return -1;
  const at = i;
  // Host: at least two dot-separated labels of [a-z0-9-], each starting and ending with a letter or digit.
  let labels = 0;
  let start = at + 1;
  for (i = at + 1; i <= n; i++) {
    const c = i < n ? address.charCodeAt(i) : 46;
    if (c === 46) {
      if (i === start || !isLabelChar(address.charCodeAt(i - 1))) return -1;
      labels++;
      start = i + 1;
    } else if (c === 45) {
      if (i === start) return -1;
    } else if (!isLabelChar(c)) return -1;
  }
  return labels >= 2 ? at : -1;
}

/** The regular expression addressAt implements (kept as the reference the tests compare against). */
export function addressAtByRegex(address: string): number {
  if (address.length > 320 || !EMAIL_RE.test(address)) return -1;
  const at = address.indexOf('@');
  const local = address.slice(0, at);
  if (local === '' || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return -1;
  return at;
}

const FREE_MAIL: ReadonlySet<string> = new Set<string>(freeMailList);

/** Rules derived from config once, so the hot path only does Set lookups. */
export interface EmailRules {
  plusTagProviders: ReadonlySet<string>;
  plusTagsOnWorkDomains: boolean;
  freeMailExtra: ReadonlySet<string>;
  freeMailRemoved: ReadonlySet<string>;
  organisationDomains: ReadonlySet<string>;
  /** Per-host facts derived from the sets above, so an email costs one lookup instead of four. */
  hosts: StringMap<HostInfo>;
}

export function emailRules(config: IdentityConfig): EmailRules {
  return {
    plusTagProviders: new Set(config.emails.plus_tag_providers),
    plusTagsOnWorkDomains: config.emails.plus_tags_on_work_domains,
    freeMailExtra: new Set(config.emails.extra_free_mail_domains),
    freeMailRemoved: new Set(config.emails.not_free_mail_domains),
    organisationDomains: new Set(config.organisation.domains),
    hosts: new StringMap(),
  };
}

/** Free-mail providers (gmail.com, yandex.ru, …) say nothing about an employer; their domains never link a company. */
export function isFreeMailDomain(domain: string, rules: EmailRules): boolean {
  if (rules.freeMailRemoved.has(domain)) return false;
  return FREE_MAIL.has(domain) || rules.freeMailExtra.has(domain);
}

const registrableCache = new StringMap<string | null>();

/** Registrable domain (eTLD+1) of a host or URL; private suffixes (github.io, herokuapp.com) count as suffixes. */
export function registrableDomain(hostOrUrl: string): string | null {
  // Hot path: callers mostly pass an already clean host; only clean it when the cache misses.
  const hit = registrableCache.get(hostOrUrl);
  if (hit !== undefined) return hit;
  const key = hostOrUrl.trim().toLowerCase();
  if (key === '') return null;
  const cached = registrableCache.get(key);
  if (cached !== undefined) return cached;
  const domain = getDomain(key, { allowPrivateDomains: true });
  // Hosts repeat a lot (one per company); bound the cache so a pathological import cannot grow it forever.
  if (registrableCache.size > 200_000) registrableCache.clear();
  registrableCache.set(key, domain);
  return domain;
}

/**
 * Normalises one address, or returns null when it is not an address we can compare (the caller records why).
 * Canonical form: lower case; Gmail/Googlemail drop dots and become gmail.com; `+tag` dropped for configured providers
 * and, when enabled, for company domains (not for other free-mail providers, e.g. Yahoo uses `-` for aliases).
 */
export function normaliseEmail(raw: string, rules: EmailRules, facts?: { host: HostInfo | null }): NormalisedEmail | null {
  const address = raw.trim().toLowerCase();
  const at = addressAt(address);
  if (at < 0) return null;
  let local = address.slice(0, at);
  // Looked up without slicing the host out of the address (the slice is only built the first time a host is seen).
  const info = rules.hosts.getSuffix(address, at + 1) ?? hostInfo(address.slice(at + 1), rules);
  // Callers that keep per-host results of their own get the host facts without a second lookup.
  if (facts) facts.host = info;
  const host = info.host;
  if (info.gmail && local.includes('.')) local = local.replaceAll('.', '');
  const plus = local.indexOf('+');
  // `a.+x@` would leave `a.`, not an address; such a tag is kept.
  if (plus > 0 && info.plusTags && local[plus - 1] !== '.') local = local.slice(0, plus);
  // Reuse the flat input string when nothing changed: a fresh concatenation would be re-hashed by every Map lookup.
  const canonical = local.length === at && host.length === address.length - at - 1 ? address : `${local}@${host}`;
  return { address, canonical, host, domain: info.domain, freeMail: info.freeMail, organisation: info.organisation };
}

function hostInfo(host: string, rules: EmailRules): HostInfo {
  let info = rules.hosts.get(host);
  if (info) return info;
  const gmail = GMAIL.has(host);
  const domain = gmail ? 'gmail.com' : registrableDomain(host);
  const freeMail = domain !== null && isFreeMailDomain(domain, rules);
  // The rules as normaliseEmail applies them, after a Googlemail host became gmail.com; never on GitHub's noreply host.
  const canonicalHost = gmail ? 'gmail.com' : host;
  const plusTags =
    canonicalHost !== GITHUB_NOREPLY &&
    (rules.plusTagProviders.has(canonicalHost) || (domain !== null && rules.plusTagProviders.has(domain)) || (!freeMail && rules.plusTagsOnWorkDomains));
  // A flat copy: a slice of the first address seen would keep that whole address alive and compare slower as a key.
  const key = host.split('').join('');
  info = { host: gmail ? 'gmail.com' : key, domain, freeMail, organisation: isOrganisationDomain(domain, host, rules), gmail, plusTags, memo: null };
  // Bounded like the other caches: hosts repeat (one per company), a hostile import must not grow it forever.
  if (rules.hosts.size > 200_000) rules.hosts.clear();
  rules.hosts.set(key, info);
  return info;
}

/** GitHub's private commit address `12345+login@users.noreply.github.com` (or the older `login@…`) names the account. */
export function parseGithubNoreply(raw: string): { id: string | null; login: string } | null {
  const address = raw.trim().toLowerCase();
  if (!address.endsWith(`@${GITHUB_NOREPLY}`)) return null;
  const local = address.slice(0, address.length - GITHUB_NOREPLY.length - 1);
  const m = /^(?:(\d+)\+)?([a-z0-9](?:[a-z0-9-]{0,38}))$/.exec(local);
  if (!m || m[2] === undefined) return null;
  return { id: m[1] ?? null, login: m[2] };
}

/** True when the domain (or a parent of it) is one of the organisation's own. */
export function isOrganisationDomain(domain: string | null, host: string, rules: EmailRules): boolean {
  if (domain !== null && rules.organisationDomains.has(domain)) return true;
  return rules.organisationDomains.has(host);
}
