/**
 * Labelled synthetic organisation for the identity benchmark. Deterministic (seeded hashes, no Math.random) and lazy on
 * the member side: member i is computed from its index when asked, so 1M members never sit in memory at once.
 *
 * Persons p in [0, T): members are p < N; CRM persons are p ≥ N − overlap (so `overlap` members have a contact).
 * Each person has a company (unique names inside a company, so work addresses never collide between two people),
 * a culture (diacritics, Cyrillic, CJK), a personal address, and noise on both sides: case and whitespace, Gmail dots
 * and +tags, personal vs work addresses, job changes, converted and unconverted leads, duplicate CRM records, typos,
 * native-script vs romanised names, unverified commit emails copied from colleagues, bots and staff.
 *
 * Truth is kept from the generator's own knowledge (which base address it used), never by calling the engine.
 */
import type { CrmCompany, CrmContact } from '../src/crm/types';
import type { IdentityInput, MemberSnapshot } from '../src/identity/types';

export interface GenOptions {
  members: number;
  contacts: number;
  seed: number;
}

export interface LabelledMember {
  snapshot: MemberSnapshot;
  /** CRM ids that are this person (empty: the person is not in the CRM). */
  truth: string[];
  /** A trusted address of the member equals one of the true records' addresses up to documented normalisation. */
  findable: boolean;
  /** The company this person works at now (CRM id), or null. */
  company: string | null;
  kind: 'person' | 'bot' | 'staff';
}

// --- deterministic randomness -------------------------------------------------------------------------------------
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x6a09e667, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
/** Uniform in [0, 1) for (seed, entity, salt). */
function rnd(seed: number, entity: number, salt: number): number {
  return mix(mix(seed, entity), salt) / 4294967296;
}
function pick<T>(list: readonly T[], r: number): T {
  const v = list[Math.floor(r * list.length)];
  if (v === undefined) throw new Error('empty list');
  return v;
}

// --- names ------------------------------------------------------------------------------------------------------------
/** [display, romanised] pairs per culture; weights say how common the culture is. */
type Part = readonly [string, string];
const p = (s: string): Part => [s, s];
const CULTURES: { weight: number; first: readonly Part[]; last: readonly Part[]; familyFirst?: boolean }[] = [
  {
    weight: 50,
    first: ['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth', 'David', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Daniel', 'Nancy', 'Matthew', 'Lisa', 'Anthony', 'Betty', 'Mark', 'Sandra', 'Steven', 'Ashley', 'Paul', 'Emily', 'Andrew', 'Donna', 'Joshua', 'Michelle', 'Kevin', 'Carol', 'Brian', 'Amanda', 'George', 'Melissa', 'Timothy', 'Deborah', 'Ryan', 'Laura', 'Jacob', 'Rebecca', 'Gary', 'Sharon'].map(p),
    last: ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor', 'Thomas', 'Moore', 'Jackson', 'Martin', 'Lee', 'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Hill', 'Green', 'Adams', 'Baker', 'Nelson', 'Carter', 'Mitchell', 'Roberts', 'Turner', 'Phillips', 'Campbell', 'Parker', 'Evans', 'Edwards', 'Collins', 'Stewart', 'Morris', 'Rogers', 'Reed', 'Cook', 'Morgan', 'Bell', 'Murphy', 'Bailey', 'Cooper', 'Richardson', 'Cox', 'Howard', 'Ward', 'Peterson', 'Gray', 'Ramirez', 'Watson'].map(p),
  },
  {
    weight: 14,
    first: [['José', 'jose'], ['María', 'maria'], ['François', 'francois'], ['Hélène', 'helene'], ['Jürgen', 'juergen'], ['Björn', 'bjoern'], ['Zoë', 'zoe'], ['Renée', 'renee'], ['Søren', 'soren'], ['Ana', 'ana'], ['Léa', 'lea'], ['Jörg', 'joerg'], ['Inés', 'ines'], ['André', 'andre'], ['Chloé', 'chloe'], ['Mónica', 'monica'], ['Raúl', 'raul'], ['Céline', 'celine'], ['Uwe', 'uwe'], ['Noémie', 'noemie']],
    last: [['Müller', 'mueller'], ['García', 'garcia'], ['Dubois', 'dubois'], ['Schröder', 'schroeder'], ['Martínez', 'martinez'], ['Lefèvre', 'lefevre'], ['Weiß', 'weiss'], ['González', 'gonzalez'], ['Bäcker', 'baecker'], ['Fernández', 'fernandez'], ['Rodríguez', 'rodriguez'], ['Moreau', 'moreau'], ['Köhler', 'koehler'], ['Pérez', 'perez'], ['Gómez', 'gomez'], ['Lambert', 'lambert'], ['Hoffmann', 'hoffmann'], ['Sánchez', 'sanchez'], ['Bernard', 'bernard'], ['Jäger', 'jaeger']],
  },
  {
    weight: 5,
    first: [['Łukasz', 'lukasz'], ['Małgorzata', 'malgorzata'], ['Paweł', 'pawel'], ['Agnieszka', 'agnieszka'], ['Michał', 'michal'], ['Katarzyna', 'katarzyna'], ['Wojciech', 'wojciech'], ['Zofia', 'zofia']],
    last: [['Kowalski', 'kowalski'], ['Wiśniewski', 'wisniewski'], ['Wójcik', 'wojcik'], ['Kamiński', 'kaminski'], ['Lewandowski', 'lewandowski'], ['Zieliński', 'zielinski'], ['Szymański', 'szymanski'], ['Dąbrowski', 'dabrowski']],
  },
  {
    weight: 9,
    first: [['Иван', 'ivan'], ['Мария', 'mariya'], ['Алексей', 'aleksey'], ['Ольга', 'olga'], ['Дмитрий', 'dmitriy'], ['Анна', 'anna'], ['Сергей', 'sergey'], ['Елена', 'elena'], ['Николай', 'nikolay'], ['Татьяна', 'tatyana'], ['Павел', 'pavel'], ['Наталья', 'natalya']],
    last: [['Петров', 'petrov'], ['Иванов', 'ivanov'], ['Смирнов', 'smirnov'], ['Кузнецов', 'kuznetsov'], ['Попов', 'popov'], ['Соколов', 'sokolov'], ['Лебедев', 'lebedev'], ['Козлов', 'kozlov'], ['Новиков', 'novikov'], ['Морозов', 'morozov'], ['Волков', 'volkov'], ['Зайцев', 'zaytsev']],
  },
  {
    weight: 10,
    familyFirst: true,
    first: [['伟', 'wei'], ['芳', 'fang'], ['娜', 'na'], ['敏', 'min'], ['静', 'jing'], ['丽', 'li'], ['强', 'qiang'], ['磊', 'lei'], ['军', 'jun'], ['洋', 'yang'], ['勇', 'yong'], ['艳', 'yan'], ['杰', 'jie'], ['涛', 'tao'], ['明', 'ming'], ['超', 'chao']],
    last: [['王', 'wang'], ['李', 'li'], ['张', 'zhang'], ['刘', 'liu'], ['陈', 'chen'], ['杨', 'yang'], ['黄', 'huang'], ['赵', 'zhao'], ['吴', 'wu'], ['周', 'zhou'], ['徐', 'xu'], ['孙', 'sun']],
  },
  {
    weight: 12,
    first: ['Aarav', 'Vivaan', 'Aditya', 'Priya', 'Ananya', 'Rahul', 'Sneha', 'Arjun', 'Kavya', 'Rohan', 'Divya', 'Vikram', 'Pooja', 'Karthik', 'Neha', 'Suresh'].map(p),
    last: ['Sharma', 'Patel', 'Singh', 'Kumar', 'Gupta', 'Reddy', 'Iyer', 'Nair', 'Rao', 'Mehta', 'Joshi', 'Desai', 'Chopra', 'Bose'].map(p),
  },
];

interface NamePair {
  first: Part;
  last: Part;
  culture: number;
}
/** Every (first, last) pair once, cultures repeated by weight; index → name is a bijection used per company. */
const NAME_TABLE: NamePair[] = (() => {
  const out: NamePair[] = [];
  const seen = new Set<string>();
  CULTURES.forEach((c, ci) => {
    for (const last of c.last) for (const first of c.first) {
      const key = `${first[1]}|${last[1]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ first, last, culture: ci });
    }
  });
  return out;
})();
const NT = NAME_TABLE.length;
const STRIDE = (() => {
  let s = Math.floor(NT * 0.618) | 1;
  while (gcd(s, NT) !== 1) s += 2;
  return s;
})();
function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

// --- companies --------------------------------------------------------------------------------------------------------
const SYL = ['ac', 'me', 'zen', 'tri', 'vo', 'lux', 'nor', 'qui', 'dex', 'ra', 'po', 'lin', 'ka', 'so', 'tek', 'mi', 'ver', 'ion', 'da', 'ster', 'bel', 'cor', 'fin', 'ga', 'hex', 'jo', 'ly', 'mo', 'nex', 'or', 'pi', 'ro', 'sa', 'tu', 'ul', 'va', 'wi', 'xo', 'yu', 'za'];
const TLDS = ['com', 'com', 'com', 'io', 'io', 'dev', 'co.uk', 'de', 'fr', 'co.jp', 'com.au', 'ru', 'cn', 'in', 'net'];
const PATTERNS = ['first.last', 'firstlast', 'first_last', 'last.first'] as const;

interface CompanyInfo {
  crmId: string;
  slug: string;
  host: string;
  pattern: (typeof PATTERNS)[number];
  size: number;
  start: number;
  nameOffset: number;
}

export const ORG_DOMAIN = 'ourco.com';

export class SyntheticOrg {
  readonly companies: CrmCompany[] = [];
  /** Emptied by releaseContacts() once the index is built; the lazy member side only needs ids and addresses. */
  contacts: CrmContact[] = [];
  private readonly info: CompanyInfo[] = [];
  private readonly starts: Int32Array;
  private readonly total: number;
  private readonly overlap: number;
  private readonly permA: number;
  private contactRefs: { crmId: string; email: string | null }[] = [];
  private contactCountValue = 0;

  constructor(readonly opts: GenOptions) {
    const { members: N, contacts: M, seed } = opts;
    const contactPersons = Math.max(1, Math.floor(M / 1.1));
    this.overlap = Math.min(Math.floor(N * 0.35), Math.floor(contactPersons * 0.8));
    this.total = N + contactPersons - this.overlap;
    let a = Math.floor(this.total * 0.7548776662) | 1;
    while (gcd(a, this.total) !== 1) a += 2;
    this.permA = a;
    this.buildCompanies(seed);
    this.starts = Int32Array.from(this.info.map((c) => c.start));
    this.buildContacts(M);
    this.contactRefs = this.contacts.map((c) => ({ crmId: c.crmId, email: c.email }));
    this.contactCountValue = this.contacts.length;
  }

  get memberCount(): number {
    return this.opts.members;
  }

  get contactCount(): number {
    return this.contactCountValue;
  }

  /** Drops the full CRM records (the index has its own copy), keeping what member generation needs: less heap to GC. */
  releaseContacts(): void {
    this.contacts = [];
  }

  private buildCompanies(seed: number): void {
    const cap = Math.min(6000, NT);
    const usedDomains = new Set<string>();
    let start = 0;
    for (let c = 0; start < this.total; c++) {
      const r = rnd(seed, c, 1);
      // Heavy tail: most companies have a handful of people, a few have thousands.
      const size = Math.min(cap, Math.max(1, Math.floor(3 / Math.pow(1 - r * 0.999, 0.9))), this.total - start);
      let slug = '';
      for (let n = c + 1; n > 0; n = Math.floor(n / SYL.length)) slug += SYL[n % SYL.length];
      slug += SYL[Math.floor(rnd(seed, c, 2) * SYL.length)] ?? '';
      const tld = pick(TLDS, rnd(seed, c, 3));
      // Look-alike domains: a sibling with a hyphen or another TLD of a real name (acmelabs.com vs acme-labs.io).
      const lookAlike = rnd(seed, c, 4) < 0.04 && c > 0;
      const prevSlug = this.info[c - 1]?.slug ?? slug;
      const base = lookAlike ? `${prevSlug.slice(0, 3)}-${prevSlug.slice(3)}` : slug;
      const regional = rnd(seed, c, 5) < 0.05;
      let domain = `${base}.${tld}`;
      // Syllable slugs can coincide; a real domain belongs to one company, so make it unique.
      if (usedDomains.has(domain)) domain = `${base}${c}.${tld}`;
      usedDomains.add(domain);
      const host = regional ? `eu.${domain}` : domain;
      const crmId = `co${c}`;
      this.info.push({ crmId, slug: base, host, pattern: pick(PATTERNS, rnd(seed, c, 6)), size, start, nameOffset: Math.floor(rnd(seed, c, 7) * NT) });
      const name = `${base.charAt(0).toUpperCase()}${base.slice(1)}${pick([' Inc.', ' Ltd', ' GmbH', '', ' Labs', ' SA'], rnd(seed, c, 8))}`;
      this.companies.push({
        crmId, name, domain: rnd(seed, c, 9) < 0.9 ? domain : null, website: rnd(seed, c, 10) < 0.7 ? `https://www.${regional ? host : domain}/` : null,
        additionalDomains: [], industry: null, employees: size, country: null,
        createdAt: new Date(Date.UTC(2015, 0, 1) + c * 3600_000).toISOString(), updatedAt: '2026-01-01T00:00:00Z',
      });
      // Shared domains: a subsidiary / duplicate account record declaring the parent's domain as its website.
      if (rnd(seed, c, 11) < 0.02) {
        this.companies.push({
          crmId: `${crmId}-sub`, name: `${name} (EMEA)`, domain: null, website: `https://${domain}/emea`, additionalDomains: [],
          industry: null, employees: null, country: null, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
        });
      }
      // Bad CRM data: a company whose domain is a free-mail provider; must never attract anyone.
      if (rnd(seed, c, 12) < 0.002) this.companies.push({ crmId: `${crmId}-gmail`, name: 'Gmail', domain: 'gmail.com', website: null, additionalDomains: [], industry: null, employees: null, country: null, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' });
      start += size;
    }
  }

  /** Company slot of person p: a fixed permutation of persons, cut into company-sized runs. */
  private companyOf(p: number): { c: CompanyInfo; k: number } {
    // p · permA < 2^53 for any size this bench runs, so plain numbers are exact.
    const q = (p * this.permA + 12345) % this.total;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= q) lo = mid;
      else hi = mid - 1;
    }
    const c = this.info[lo];
    if (!c) throw new Error('no company');
    return { c, k: q - c.start };
  }

  private nameOf(c: CompanyInfo, k: number): NamePair {
    const n = NAME_TABLE[(c.nameOffset + k * STRIDE) % NT];
    if (!n) throw new Error('no name');
    return n;
  }

  private workLocal(c: CompanyInfo, n: NamePair): string {
    const f = n.first[1].toLowerCase();
    const l = n.last[1].toLowerCase();
    switch (c.pattern) {
      case 'first.last': return `${f}.${l}`;
      case 'firstlast': return `${f}${l}`;
      case 'first_last': return `${f}_${l}`;
      case 'last.first': return `${l}.${f}`;
    }
  }

  /** Facts about person p that both sides derive from. */
  person(p: number) {
    const seed = this.opts.seed;
    const { c, k } = this.companyOf(p);
    const name = this.nameOf(c, k);
    const moved = rnd(seed, p, 20) < 0.08;
    let newCompany = c;
    if (moved) {
      const other = this.companyOf((p + Math.floor(this.total / 3)) % this.total).c;
      if (other !== c) newCompany = other;
    }
    const work = `${this.workLocal(c, name)}@${c.host}`;
    // A mover keeps their name; another mover with the same name may join the same company, so movers' addresses carry
    // a unique number (john.smith.123@newco) — otherwise two people would share one mailbox.
    const newLocal = `${this.workLocal(newCompany, name)}.${p}`;
    const newWork = newCompany === c ? work : `${newLocal}@${newCompany.host}`;
    const f = name.first[1].toLowerCase();
    const l = name.last[1].toLowerCase();
    const provider = pick(['gmail.com', 'gmail.com', 'gmail.com', 'outlook.com', 'yahoo.com', 'yandex.ru', 'qq.com', 'icloud.com'], rnd(seed, p, 21));
    const personal = `${f}${rnd(seed, p, 22) < 0.5 ? '.' : ''}${l}${p}@${provider}`;
    return { c, name, moved: newCompany !== c, newCompany, work, newWork, personal, culture: name.culture };
  }

  private buildContacts(M: number): void {
    const seed = this.opts.seed;
    const firstContact = this.opts.members - this.overlap;
    for (let p = firstContact; p < this.total && this.contacts.length < M; p++) {
      const per = this.person(p);
      const r = rnd(seed, p, 30);
      const names = crmName(per.name, rnd(seed, p, 31));
      const extra = rnd(seed, p, 32) < 0.15 ? [caseNoise(per.personal, rnd(seed, p, 33))] : [];
      const base = {
        ...names, title: null, lifecycleStage: null, convertedContactId: null, additionalEmails: extra,
        companyName: per.c.slug, companyId: per.c.crmId, createdAt: '2024-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z',
      };
      const workEmail = caseNoise(per.work, rnd(seed, p, 34));
      // Some companies have a CRM record for their shared mailbox, named after whoever filled a form with it.
      if (rnd(seed, p, 35) < 0.01) this.contacts.push({ ...base, crmId: `r${p}`, kind: 'contact', email: `info@${per.c.host}`, additionalEmails: [] });
      if (r < 0.88) this.contacts.push({ ...base, crmId: `c${p}`, kind: 'contact', email: workEmail });
      else if (r < 0.95) {
        this.contacts.push({ ...base, crmId: `c${p}`, kind: 'contact', email: workEmail, additionalEmails: [] });
        this.contacts.push({ ...base, crmId: `l${p}`, kind: 'lead', email: per.personal, additionalEmails: [], companyId: null, convertedContactId: `c${p}` });
      } else if (r < 0.98) this.contacts.push({ ...base, crmId: `l${p}`, kind: 'lead', email: workEmail, companyId: null });
      else {
        this.contacts.push({ ...base, crmId: `c${p}`, kind: 'contact', email: workEmail });
        this.contacts.push({ ...base, crmId: `c${p}d`, kind: 'contact', email: per.work, additionalEmails: [] });
      }
    }
  }

  /** Truth records of person p (empty when p is not in the CRM). */
  private truthOf(p: number, per: ReturnType<SyntheticOrg['person']>): { ids: string[]; addresses: string[] } {
    if (p < this.opts.members - this.overlap || p >= this.total) return { ids: [], addresses: [] };
    const r = rnd(this.opts.seed, p, 30);
    const extra = rnd(this.opts.seed, p, 32) < 0.15 ? [per.personal] : [];
    if (r < 0.88) return { ids: [`c${p}`], addresses: [per.work, ...extra] };
    if (r < 0.95) return { ids: [`c${p}`, `l${p}`], addresses: [per.work, per.personal] };
    if (r < 0.98) return { ids: [`l${p}`], addresses: [per.work, ...extra] };
    return { ids: [`c${p}`, `c${p}d`], addresses: [per.work, ...extra] };
  }

  /** Member i with its labels. */
  member(i: number): LabelledMember {
    const seed = this.opts.seed;
    const r = rnd(seed, i, 40);
    if (r < 0.005) return this.botMember(i);
    if (r < 0.01) {
      const local = `staff${i}`;
      return { snapshot: { memberId: `m${i}`, identities: [{ source: 'slack', id: `US${i}`, email: `${local}@${ORG_DOMAIN}`, name: `Staff ${i}` }] }, truth: [], findable: false, company: null, kind: 'staff' };
    }
    const per = this.person(i);
    const truth = this.truthOf(i, per);
    if (r < 0.013) return this.recycledMember(i, per, truth.ids);
    if (r < 0.015) return this.roleMailboxMember(i, per, truth.ids);
    const identities: IdentityInput[] = [];
    const usedTrusted: string[] = [];
    // The address this person uses in the community: work (current job) or personal.
    const usesWork = rnd(seed, i, 41) < 0.55;
    const base = usesWork ? per.newWork : per.personal;
    const display = memberName(per.name, rnd(seed, i, 42), rnd(seed, i, 43), CULTURES[per.culture]?.familyFirst === true);
    const ghId = String(10_000_000 + i);
    const handle = `${per.name.first[1]}${rnd(seed, i, 44) < 0.5 ? '-' : ''}${per.name.last[1]}${i % 97}`;
    const rg = rnd(seed, i, 45);
    if (rg < 0.7) {
      const gh: IdentityInput = { source: 'github', id: ghId, handle };
      if (display) gh.name = display;
      if (rnd(seed, i, 46) < 0.3) gh.company = `@${per.newCompany.slug}`;
      const re = rnd(seed, i, 47);
      if (re < 0.35) {
        gh.email = emailNoise(base, rnd(seed, i, 48), rnd(seed, i, 49));
        gh.email_verified = true;
        usedTrusted.push(base);
      } else if (re < 0.45) {
        gh.email = `${ghId}+${handle.toLowerCase()}@users.noreply.github.com`;
      } else if (re < 0.5) {
        // An unverified commit email: sometimes a colleague's address (the wrong person), else the person's own.
        const colleague = this.person((i + 1) % this.total).work;
        gh.email = rnd(seed, i, 50) < 0.5 ? colleague : base;
        gh.email_verified = false;
      }
      identities.push(gh);
    }
    if (rg >= 0.55 || identities.length === 0) {
      const sl: IdentityInput = { source: 'slack', id: `U${i.toString(36).toUpperCase()}`, email: emailNoise(base, rnd(seed, i, 51), rnd(seed, i, 52)) };
      if (display) sl.name = display;
      identities.push(sl);
      usedTrusted.push(base);
    }
    if (rnd(seed, i, 53) < 0.2) {
      const other = usesWork ? per.personal : per.newWork;
      identities.push({ source: 'email', id: emailNoise(other, rnd(seed, i, 54), rnd(seed, i, 55)), ...(display ? { name: display } : {}) });
      usedTrusted.push(other);
    }
    if (rnd(seed, i, 56) < 0.003) identities.push({ source: 'email', id: 'not-an-email' });
    const findable = truth.ids.length > 0 && usedTrusted.some((a) => truth.addresses.includes(a));
    return { snapshot: { memberId: `m${i}`, identities }, truth: truth.ids, findable, company: per.newCompany.crmId, kind: 'person' };
  }

  /**
   * A recycled address: the member's verified work address once belonged to someone else, whose CRM record still holds
   * it. Email alone would link the wrong person; names disagree (unless the two happen to share a first or last name).
   */
  private recycledMember(i: number, per: ReturnType<SyntheticOrg['person']>, truth: string[]): LabelledMember {
    const previous = this.contactRefs[(i * 7919) % Math.max(1, this.contactRefs.length)];
    const email = previous?.email ?? 'nobody@example.org';
    const name = `${capital(per.name.first[1])} ${capital(per.name.last[1])}`;
    const sameRecord = previous !== undefined && truth.includes(previous.crmId);
    return {
      snapshot: { memberId: `m${i}`, identities: [{ source: 'slack', id: `U${i.toString(36).toUpperCase()}`, email, name }] },
      truth,
      findable: sameRecord,
      company: null,
      kind: 'person',
    };
  }

  /** Someone posting from a shared role mailbox (info@company) that a CRM record also holds. */
  private roleMailboxMember(i: number, per: ReturnType<SyntheticOrg['person']>, truth: string[]): LabelledMember {
    const name = `${capital(per.name.first[1])} ${capital(per.name.last[1])}`;
    return {
      snapshot: { memberId: `m${i}`, identities: [{ source: 'slack', id: `U${i.toString(36).toUpperCase()}`, email: `info@${per.c.host}`, name }] },
      truth,
      findable: false,
      company: per.c.crmId,
      kind: 'person',
    };
  }

  private botMember(i: number): LabelledMember {
    // Bots that carry a real contact's address (a CI account using a team mailbox) must still never be linked.
    const victim = this.contactRefs[i % Math.max(1, this.contactRefs.length)]?.email ?? 'ci@example.org';
    const identities: IdentityInput[] = i % 2 === 0
      ? [{ source: 'github', id: String(90_000_000 + i), handle: `ci-helper${i}[bot]`, email: victim, email_verified: true }]
      : [{ source: 'slack', id: `B${i}`, is_bot: true, email: victim }];
    return { snapshot: { memberId: `m${i}`, identities }, truth: [], findable: false, company: null, kind: 'bot' };
  }
}

// --- noise ------------------------------------------------------------------------------------------------------------
function caseNoise(email: string, r: number): string {
  if (r < 0.1) return email.toUpperCase();
  if (r < 0.25) return email.charAt(0).toUpperCase() + email.slice(1);
  return email;
}

/** Case, whitespace, Gmail dots and +tags where the provider (or a company domain) delivers them. */
function emailNoise(email: string, r1: number, r2: number): string {
  let [local = '', host = ''] = email.split('@');
  if (host === 'gmail.com' && r1 < 0.3) local = local.replaceAll('.', '').split('').join(r2 < 0.5 ? '.' : '');
  if (host === 'gmail.com' && r2 < 0.15) host = 'googlemail.com';
  const tagOk = host === 'gmail.com' || host === 'googlemail.com' || host === 'outlook.com' || host === 'icloud.com' || !['yahoo.com', 'yandex.ru', 'qq.com'].includes(host);
  if (tagOk && r2 > 0.8) local = `${local}+community`;
  let out = `${local}@${host}`;
  out = caseNoise(out, r1 * 1.7 % 1);
  if (r2 > 0.6 && r2 < 0.7) out = ` ${out} `;
  return out;
}

function crmName(n: NamePair, r: number): { firstName: string | null; lastName: string | null } {
  // The CRM keeps either the native script or the romanised form; 3% of records lack a first name.
  const native = r < 0.5;
  const first = native ? n.first[0] : capital(n.first[1]);
  const last = native ? n.last[0] : capital(n.last[1]);
  if (r > 0.97) return { firstName: null, lastName: last };
  return { firstName: first, lastName: last };
}

function memberName(n: NamePair, r: number, r2: number, familyFirst: boolean): string | undefined {
  if (r < 0.2) return undefined;
  const native = r2 < 0.5;
  const first = native ? n.first[0] : capital(n.first[1]);
  const last = native ? n.last[0] : capital(n.last[1]);
  let s = familyFirst && native ? `${last}${first}` : `${first} ${last}`;
  if (r > 0.95 && s.length > 4) s = s.slice(0, 2) + s.charAt(3) + s.charAt(2) + s.slice(4); // typo: swapped letters
  else if (r > 0.9) s = s.toLowerCase();
  return s;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
