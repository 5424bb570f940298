/**
 * Community members of the demo: who they are (a CRM contact, a colleague of one, an anonymous developer, staff, a bot),
 * which platforms they use and the identities those platforms report. The variants in how a contact's address shows up
 * (exact, case, Gmail dots / +tags, only a GitHub noreply plus a verified address elsewhere) are what identity resolution
 * has to undo, so they are drawn on purpose rather than left to chance.
 */
import type { IdentityInput } from '../../../src/activity/schema';
import type { Org, OrgContact } from '../org';
import { FIRST_NAMES, LAST_NAMES, PERSONAL_DOMAINS, asciiSlug } from './names';
import { type Rng, int, pick, weighted } from './random';

export type Channel = 'github' | 'slack' | 'discourse' | 'events' | 'docs';
export type MemberKind = 'contact' | 'colleague' | 'anonymous' | 'staff' | 'bot';
/** How a contact's CRM address relates to what the community platforms report. */
export type EmailVariant = 'exact' | 'case' | 'provider' | 'noreply';

export interface DemoMember {
  /** Stable across runs for a seed: `m-contact-<contactKey>`, `m-colleague-<n>`, `m-anon-<n>`, `m-staff-<n>`, `m-bot-<n>`. */
  key: string;
  kind: MemberKind;
  contactKey: string | null;
  companyKey: string | null;
  name: string;
  company: string | null;
  /** Address used on Slack, Discourse, event registrations and docs sign-in (null: none known). */
  email: string | null;
  variant: EmailVariant | null;
  github: { id: string; login: string; email?: string; bot?: boolean } | null;
  slack: { id: string } | null;
  discourse: { id: string; username: string } | null;
  channels: Channel[];
  /** Relative activity level for organic (non-signal) activity. */
  weight: number;
  /** Earliest organic activity; for community-sourced contacts this is their first touch. */
  joinAt: number;
}

const BOTS = [
  ['dependabot[bot]', '49699333'], ['renovate[bot]', '29139614'], ['github-actions[bot]', '41898282'],
  ['codecov[bot]', '22429695'], ['netlify[bot]', '40209326'],
] as const;

/** Community-side spelling of a CRM address. Gmail ignores dots and +tags; most corporate servers honour +tags. */
function variantEmail(rng: Rng, email: string, variant: EmailVariant): string {
  const at = email.indexOf('@');
  const local = email.slice(0, at);
  const host = email.slice(at + 1);
  if (variant === 'case') return `${local.charAt(0).toUpperCase()}${local.slice(1).replace(/\.(\w)/, (_m, ch: string) => `.${ch.toUpperCase()}`)}@${host.charAt(0).toUpperCase()}${host.slice(1)}`;
  if (variant === 'provider') {
    if (host === 'gmail.com') return local.includes('.') ? `${local.replace(/\./g, '')}@gmail.com` : `${local.slice(0, 1)}.${local.slice(1)}@googlemail.com`;
    return `${local}+${pick(rng, ['github', 'community', 'oss', 'slack'])}@${host}`;
  }
  return email;
}

export interface MemberBuild {
  members: DemoMember[];
  /** contact (or lead) key → member key. */
  memberOfContact: Record<string, string>;
}

export function buildMembers(rng: Rng, org: Org, start: number, now: number, staffDomain: string, activities: number, dealContactKeys: Set<string>, wonContactKeys: Set<string>): MemberBuild {
  const members: DemoMember[] = [];
  const memberOfContact: Record<string, string> = {};
  const logins = new Set<string>();
  const usedEmails = new Set<string>();
  for (const c of org.contacts) if (c.email) usedEmails.add(c.email.toLowerCase());
  const companyName = new Map(org.companies.map((c) => [c.key, c.name] as const));

  const uniqueLogin = (base: string): string => {
    let l = base.slice(0, 30) || 'dev';
    for (let k = 2; logins.has(l.toLowerCase()); k++) l = `${base.slice(0, 30)}${k}`;
    logins.add(l.toLowerCase());
    return l;
  };
  const add = (m: Omit<DemoMember, 'github' | 'slack' | 'discourse'>, wantGithubEmail: boolean, bot = false): DemoMember => {
    const idx = members.length;
    const [first = 'dev', last = ''] = m.name.split(' ');
    const has = (ch: Channel): boolean => m.channels.includes(ch);
    let github: DemoMember['github'] = null;
    if (has('github')) {
      const id = String(1_200_000 + idx * 97 + int(rng, 0, 96));
      const login = uniqueLogin(weighted(rng, [[`${asciiSlug(first)}${asciiSlug(last)}`, 3], [`${asciiSlug(first)}-${asciiSlug(last)}`, 2], [`${asciiSlug(first).slice(0, 1)}${asciiSlug(last)}${int(rng, 1, 99)}`, 2], [`${asciiSlug(last)}dev`, 1]] as const));
      github = { id, login };
      if (m.variant === 'noreply') github.email = `${id}+${login}@users.noreply.github.com`;
      else if (wantGithubEmail && m.email) github.email = m.email;
    }
    const slack = has('slack') ? { id: `U0${(0x2f1b3c0 + idx * 7919).toString(36).toUpperCase().padStart(8, '0')}` } : null;
    const discourse = has('discourse') ? { id: String(100 + idx * 3 + int(rng, 0, 2)), username: uniqueLogin(`${asciiSlug(first)}_${asciiSlug(last).slice(0, 3)}`) } : null;
    const member: DemoMember = { ...m, github, slack, discourse };
    if (bot && github) github.bot = true;
    members.push(member);
    return member;
  };
  const pickChannels = (hasEmail: boolean, p: Partial<Record<Channel, number>>): Channel[] => {
    const all: Channel[] = ['github', 'slack', 'discourse', 'events', 'docs'];
    const out = all.filter((ch) => (hasEmail || ch === 'github') && rng() < (p[ch] ?? 0));
    return out.length > 0 ? out : ['github'];
  };
  const heavyTail = (): number => Math.min(40, Math.exp(1.1 * (rng() + rng() + rng() - 1.5) * 1.6));

  // --- CRM contacts (and a few open leads) who are also community members ------------------------------------------
  const contactByKey = new Map(org.contacts.map((c) => [c.key, c] as const));
  for (const c of org.contacts) {
    if (!c.email || c.convertedToContactKey) continue;
    const p = wonContactKeys.has(c.key) ? 0.9 : dealContactKeys.has(c.key) ? 0.75 : c.isLead ? 0.2 : 0.3;
    if (rng() >= p) continue;
    const variant = c.isLead ? 'exact' : weighted(rng, [['exact', 50], ['case', 15], ['provider', 15], ['noreply', 20]] as const);
    const email = variantEmail(rng, c.email, variant);
    const channels: Channel[] = variant === 'noreply' ? ['github', 'discourse'] : pickChannels(true, { github: 0.7, slack: 0.5, discourse: 0.35, events: 0.45, docs: 0.35 });
    const m = add({
      key: `m-contact-${c.key}`, kind: 'contact', contactKey: c.key, companyKey: c.companyKey, name: fullName(c),
      company: c.companyKey ? (companyName.get(c.companyKey) ?? null) : null, email, variant, channels,
      weight: 0.4 + rng() * 1.2, joinAt: start + rng() * rng() * (now - start),
    }, rng() < 0.4);
    memberOfContact[c.key] = m.key;
  }
  // A converted lead is the same person as its contact, so it shares the contact's member.
  for (const c of org.contacts) {
    const target = c.convertedToContactKey ? memberOfContact[c.convertedToContactKey] : undefined;
    if (target && contactByKey.has(c.key)) memberOfContact[c.key] = target;
  }

  // --- people at CRM companies who are not contacts: only the email domain links them -----------------------------------
  const withDomain = org.companies.filter((c) => c.domain);
  const nColleagues = withDomain.length > 0 ? Math.round(Math.min(org.contacts.length * 0.35, activities / 20)) : 0;
  for (let i = 0; i < nColleagues; i++) {
    const co = pick(rng, withDomain);
    const first = pick(rng, FIRST_NAMES);
    const last = pick(rng, LAST_NAMES);
    let email = `${asciiSlug(first)}.${asciiSlug(last)}@${co.domain ?? 'example.com'}`;
    for (let k = 2; usedEmails.has(email); k++) email = `${asciiSlug(first)}.${asciiSlug(last)}${k}@${co.domain ?? 'example.com'}`;
    usedEmails.add(email);
    add({
      key: `m-colleague-${i + 1}`, kind: 'colleague', contactKey: null, companyKey: co.key, name: `${first} ${last}`, company: co.name,
      email, variant: null, channels: pickChannels(true, { github: 0.75, slack: 0.45, discourse: 0.3, events: 0.3, docs: 0.3 }),
      weight: heavyTail(), joinAt: start + rng() * (now - start) * 0.9,
    }, rng() < 0.5);
  }

  // --- anonymous developers: the bulk of any community -----------------------------------------------------------------
  const nAnon = Math.max(20, Math.round(activities / 8));
  for (let i = 0; i < nAnon; i++) {
    const first = pick(rng, FIRST_NAMES);
    const last = pick(rng, LAST_NAMES);
    let email: string | null = null;
    if (rng() < 0.7) {
      email = `${asciiSlug(first)}${pick(rng, ['.', '_', ''])}${asciiSlug(last)}${int(rng, 1, 9999)}@${pick(rng, PERSONAL_DOMAINS)}`;
      if (usedEmails.has(email)) email = null;
      else usedEmails.add(email);
    }
    add({
      key: `m-anon-${i + 1}`, kind: 'anonymous', contactKey: null, companyKey: null, name: `${first} ${last}`, company: null, email,
      variant: null, channels: pickChannels(email !== null, { github: 0.8, slack: 0.4, discourse: 0.35, events: 0.2, docs: 0.2 }),
      weight: heavyTail(), joinAt: start + rng() * (now - start) * 0.95,
    }, rng() < 0.3);
  }

  // --- vendor staff (very active, must be excluded from influence) and bots -----------------------------------------
  const nStaff = Math.max(3, Math.min(25, Math.round(activities / 500)));
  const staffEmail = (first: string, last: string): string => {
    let e = `${asciiSlug(first)}.${asciiSlug(last)}@${staffDomain}`;
    for (let k = 2; usedEmails.has(e); k++) e = `${asciiSlug(first)}.${asciiSlug(last)}${k}@${staffDomain}`;
    usedEmails.add(e);
    return e;
  };
  for (let i = 0; i < nStaff; i++) {
    const first = pick(rng, FIRST_NAMES);
    const last = pick(rng, LAST_NAMES);
    add({
      key: `m-staff-${i + 1}`, kind: 'staff', contactKey: null, companyKey: null, name: `${first} ${last}`, company: null,
      email: staffEmail(first, last), variant: null, channels: ['github', 'slack', 'discourse', 'events'],
      weight: 6 + rng() * 8, joinAt: start,
    }, true);
  }
  for (const [login, id] of BOTS) {
    logins.add(login);
    const m = add({
      key: `m-bot-${login.replace('[bot]', '')}`, kind: 'bot', contactKey: null, companyKey: null, name: login, company: null,
      email: null, variant: null, channels: ['github'], weight: 6 + rng() * 6, joinAt: start,
    }, false, true);
    if (m.github) {
      m.github.id = id;
      m.github.login = login;
    }
  }
  return { members, memberOfContact };
}

function fullName(c: OrgContact): string {
  return [c.firstName, c.lastName].filter(Boolean).join(' ') || 'Unknown';
}

/** The identities an activity on `channel` carries for member `m`; `first` marks their first activity on that platform. */
export function identitiesFor(m: DemoMember, channel: Channel, first: boolean): IdentityInput[] {
  const gh = m.github;
  const github: IdentityInput | null = gh
    ? { source: 'github', id: gh.id, handle: gh.login, ...(gh.bot ? { is_bot: true } : { name: m.name }), ...(gh.email ? { email: gh.email } : {}) }
    : null;
  switch (channel) {
    case 'github':
      return github ? [github] : [];
    case 'slack':
      return m.slack && m.email ? [{ source: 'slack', id: m.slack.id, email: m.email, email_verified: true, name: m.name }] : [];
    case 'discourse': {
      if (!m.discourse) return [];
      // Discourse reports the address only on user_created (the member's first activity there), verified by sign-up.
      const d: IdentityInput = { source: 'discourse', id: m.discourse.id, handle: m.discourse.username, name: m.name, ...(first && m.email ? { email: m.email, email_verified: true } : {}) };
      // Members who signed in with GitHub: Discourse reports the associated account, the only bridge for noreply users.
      return m.variant === 'noreply' && github ? [d, { source: 'github', id: github.id, handle: github.handle }] : [d];
    }
    case 'events':
    case 'docs':
      return m.email ? [{ source: 'email', id: m.email, name: m.name, ...(m.company ? { company: m.company } : {}) }] : [];
  }
}
