import { describe, expect, it } from 'vitest';
import { defaultIdentityConfig } from './config';
import { ContactIndex } from './contact-index';
import { contextFor } from './context';
import { company, contact } from './fixtures.test-helpers';
import { resolveMember } from './resolve';
import type { IdentityInput, LinkDecision } from './types';

const config = defaultIdentityConfig({ organisationDomains: ['ourco.com'] });
const ctx = contextFor(config);

function build(): ContactIndex {
  return ContactIndex.build(
    ctx.email,
    [
      contact('c1', { email: 'Ada.Lovelace@acme.io', firstName: 'Ada', lastName: 'Lovelace', companyId: 'co-acme' }),
      contact('c2', { email: 'grace@navy.mil', additionalEmails: ['gracehopper@gmail.com'], firstName: 'Grace', lastName: 'Hopper' }),
      contact('l1', { kind: 'lead', email: 'alan@turing.org', convertedContactId: 'c3', firstName: 'Alan', lastName: 'Turing' }),
      contact('c3', { email: 'alan.turing@bletchley.uk', firstName: 'Alan', lastName: 'Turing' }),
      contact('d1', { email: 'dup@dupco.com', firstName: 'Dee', lastName: 'Upe' }),
      contact('d2', { email: 'DUP@dupco.com', firstName: 'Dee', lastName: 'Upe' }),
      contact('s1', { email: 'info@shared.org', firstName: 'Sam', lastName: 'One' }),
      contact('s2', { email: 'info@shared.org', firstName: 'Kim', lastName: 'Two' }),
      contact('l2', { kind: 'lead', email: 'linus@kernel.dev' }),
      contact('c4', { email: 'linus@kernel.dev', firstName: 'Linus', lastName: 'T' }),
      contact('c5', { email: 'jose.muller@acme.io', firstName: 'José', lastName: 'Müller', companyId: 'co-acme' }),
      contact('r1', { email: 'info@acme.io', firstName: 'Pat', lastName: 'Kim' }),
    ],
    [
      company('co-acme', { name: 'Acme', domain: 'acme.io' }),
      company('co-acme-eu', { name: 'Acme EU', website: 'https://eu.acme.io/' }),
      company('co-gmail', { name: 'Gmail fan club', domain: 'gmail.com' }),
      company('co-x1', { name: 'Shared One', domain: 'shared.com', createdAt: '2024-01-01T00:00:00Z' }),
      company('co-x2', { name: 'Shared Two', domain: 'shared.com', createdAt: '2020-01-01T00:00:00Z' }),
    ],
  );
}

const gh = (id: string, extra: Partial<IdentityInput> = {}): IdentityInput => ({ source: 'github', id, ...extra });
const member = (...identities: IdentityInput[]) => ({ memberId: 'm1', identities });

describe('resolveMember: email links', () => {
  const index = build();

  it('links a verified email after case and whitespace normalisation', () => {
    const r = resolveMember(member(gh('1', { email: '  ADA.lovelace@ACME.io ', email_verified: true })), index, config);
    const link = r.links.find((l) => l.target.kind === 'contact');
    expect(link).toMatchObject({ target: { crmId: 'c1' }, method: 'email', status: 'auto', confidence: 0.99 });
    expect(link?.evidence.join(' ')).toContain('primary email of contact c1');
    expect(r.links.find((l) => l.target.kind === 'company')?.target.crmId).toBe('co-acme');
  });

  it('links a Gmail address with dots and a +tag to a CRM secondary email as alias_email', () => {
    const r = resolveMember(member({ source: 'slack', id: 'U1', email: 'Grace.Hopper+slack@googlemail.com' }), index, config);
    expect(r.links).toHaveLength(1);
    expect(r.links[0]).toMatchObject({ target: { crmId: 'c2' }, method: 'alias_email', status: 'auto' });
  });

  it('follows a converted lead to its contact', () => {
    const r = resolveMember(member({ source: 'email', id: 'alan@turing.org' }), index, config);
    expect(r.links.map((l) => l.target.crmId)).toEqual(['c3']);
    expect(r.links[0]?.evidence.join(' ')).toContain('converted');
  });

  it('only suggests on an unverified email', () => {
    const r = resolveMember(member(gh('1', { email: 'ada.lovelace@acme.io' })), index, config);
    expect(r.links.filter((l) => l.target.kind === 'contact')).toHaveLength(0);
    expect(r.suggestions[0]).toMatchObject({ target: { crmId: 'c1' }, status: 'suggested' });
    expect(r.suggestions[0]?.evidence.join(' ')).toContain('does not verify');
  });

  it('two CRM contacts of different people with one email: no automatic link, a conflict and suggestions', () => {
    const r = resolveMember(member({ source: 'email', id: 'info@shared.org' }), index, config);
    expect(r.links.filter((l) => l.target.kind === 'contact')).toHaveLength(0);
    expect(r.conflicts.map((c) => c.code)).toContain('duplicate_crm_email');
    expect(r.suggestions.map((s) => s.target.crmId).sort()).toEqual(['s1', 's2']);
  });

  it('duplicate CRM records of one person (same email, same name): both linked, duplicate recorded', () => {
    const r = resolveMember(member({ source: 'email', id: 'dup@dupco.com' }), index, config);
    expect(r.links.map((l) => l.target.crmId).sort()).toEqual(['d1', 'd2']);
    expect(r.conflicts.map((c) => c.code)).toEqual(['duplicate_crm_email', 'multiple_contacts']);
  });

  it('a contact and an unconverted lead with one email: the contact wins, the duplicate is recorded', () => {
    const r = resolveMember(member({ source: 'email', id: 'linus@kernel.dev' }), index, config);
    expect(r.links.map((l) => l.target.crmId)).toEqual(['c4']);
    expect(r.conflicts[0]?.code).toBe('duplicate_crm_email');
  });

  it('never links a shared role mailbox automatically', () => {
    const r = resolveMember(member({ source: 'slack', id: 'U7', email: 'INFO@acme.io', name: 'Pat Kim' }), index, config);
    expect(r.links.filter((l) => l.target.kind === 'contact')).toEqual([]);
    expect(r.suggestions[0]).toMatchObject({ target: { crmId: 'r1' }, method: 'email' });
    expect(r.conflicts.map((c) => c.code)).toContain('role_mailbox');
  });

  it('only suggests when the CRM record carries a clearly different name (recycled address)', () => {
    const other = resolveMember(member({ source: 'slack', id: 'U8', email: 'ada.lovelace@acme.io', name: 'Bob Jones' }), index, config);
    expect(other.links.filter((l) => l.target.kind === 'contact')).toEqual([]);
    expect(other.conflicts.map((c) => c.code)).toContain('name_mismatch');
    expect(other.suggestions[0]?.target.crmId).toBe('c1');
    // A shared token (nickname, marriage), a transliteration or a one-word handle is not a disagreement.
    for (const name of ['Ada King', 'ada', 'Ада Лавлейс', undefined]) {
      const same = resolveMember(member({ source: 'slack', id: 'U8', email: 'ada.lovelace@acme.io', ...(name ? { name } : {}) }), index, config);
      expect(same.links.some((l) => l.target.crmId === 'c1')).toBe(true);
    }
  });

  it('records malformed emails as conflicts instead of throwing', () => {
    const r = resolveMember(member(gh('1', { email: 'not an email', email_verified: true }), { source: 'email', id: 'a@@b' }), index, config);
    expect(r.links).toEqual([]);
    expect(r.conflicts.filter((c) => c.code === 'malformed_email')).toHaveLength(2);
  });

  it('handles a member with no identities and empty names', () => {
    expect(resolveMember(member(), index, config)).toMatchObject({ links: [], suggestions: [], conflicts: [], flags: [] });
    expect(resolveMember(member(gh('9', { name: '   ' })), index, config).suggestions).toEqual([]);
  });

  it('is idempotent', () => {
    const m = member(gh('1', { email: 'ada.lovelace@acme.io', email_verified: true, name: 'Ada Lovelace' }));
    expect(resolveMember(m, index, config)).toEqual(resolveMember(m, index, config));
  });
});

describe('resolveMember: companies and names', () => {
  const index = build();

  it('links a company by email domain, preferring the exact host, ignoring free mail', () => {
    const eu = resolveMember(member({ source: 'slack', id: 'U2', email: 'new.person@eu.acme.io' }), index, config);
    expect(eu.links).toMatchObject([{ target: { kind: 'company', crmId: 'co-acme-eu' }, method: 'domain' }]);
    const main = resolveMember(member({ source: 'slack', id: 'U3', email: 'someone@acme.io' }), index, config);
    expect(main.links).toMatchObject([{ target: { kind: 'company', crmId: 'co-acme' }, method: 'domain' }]);
    const free = resolveMember(member({ source: 'slack', id: 'U4', email: 'someone@gmail.com' }), index, config);
    expect(free.links).toEqual([]);
  });

  it("a company page on a shared platform (linkedin.com/company/…, sites.google.com) lends the platform's domain to no one", () => {
    const shared = ContactIndex.build(ctx.email, [], [
      company('co-li', { name: 'Acme Li', website: 'https://www.linkedin.com/company/acme' }),
      company('co-gs', { name: 'Acme Sites', website: 'https://sites.google.com/view/acme' }),
      company('co-linkedin', { name: 'LinkedIn', website: 'https://www.linkedin.com/' }),
    ]);
    const at = (email: string) => resolveMember(member({ source: 'slack', id: 'U-li', email }), shared, config).links.map((l) => l.target.crmId);
    expect(at('li@linkedin.com')).toEqual(['co-linkedin']);
    expect(at('someone@google.com')).toEqual([]);
  });

  it('breaks a shared-domain tie deterministically and records it', () => {
    const r = resolveMember(member({ source: 'slack', id: 'U5', email: 'x@shared.com' }), index, config);
    expect(r.links[0]?.target.crmId).toBe('co-x2'); // same size, older record
    expect(r.conflicts.map((c) => c.code)).toContain('company_domain_tie');
  });

  it('suggests (never links) by name at the email-domain company, diacritics folded', () => {
    const r = resolveMember(member({ source: 'slack', id: 'U6', email: 'jm@acme.io', name: 'Jose Muller' }), index, config);
    expect(r.links.filter((l) => l.target.kind === 'contact')).toEqual([]);
    expect(r.suggestions[0]).toMatchObject({ target: { crmId: 'c5' }, method: 'name_company', status: 'suggested' });
    expect(r.suggestions[0]?.evidence.join(' ')).toMatch(/full name|similar name/);
  });

  it('suggests by name and a GitHub profile company', () => {
    const r = resolveMember(member(gh('7', { name: 'Ada Lovelace', company: '@acme' })), index, config);
    expect(r.suggestions.map((s) => s.target.crmId)).toContain('c1');
  });

  it('suggests through a look-alike profile company name, with a lower score', () => {
    const r = resolveMember(member(gh('7', { name: 'Ada Lovelace', company: 'Acme Software Labz' })), index, config);
    const s = r.suggestions.find((x) => x.target.crmId === 'c1');
    expect(s?.evidence.join(' ')).toContain('similar to "Acme"');
    expect(s?.confidence).toBeLessThan(0.8);
  });

  it('at companies above max_fuzzy_candidates, only exact folded names are suggested', () => {
    const small = defaultIdentityConfig({ organisationDomains: ['ourco.com'] });
    small.links.max_fuzzy_candidates = 1;
    const exact = resolveMember(member({ source: 'slack', id: 'U6', email: 'jm@acme.io', name: 'Jose Muller' }), index, small);
    expect(exact.suggestions.map((s) => s.target.crmId)).toEqual(['c5']);
    const typo = resolveMember(member({ source: 'slack', id: 'U6', email: 'jm@acme.io', name: 'Jsoe Muller' }), index, small);
    expect(typo.suggestions).toEqual([]);
    expect(resolveMember(member({ source: 'slack', id: 'U6', email: 'jm@acme.io', name: 'Jsoe Muller' }), index, config).suggestions[0]?.target.crmId).toBe('c5');
  });

  it('does not suggest a same-named contact at an unrelated company', () => {
    const r = resolveMember(member(gh('8', { name: 'Ada Lovelace', company: 'Initech' })), index, config);
    expect(r.suggestions).toEqual([]);
  });
});

describe('resolveMember: flags and decisions', () => {
  const index = build();

  it('flags bots and never links them', () => {
    const r = resolveMember(member(gh('49699333', { handle: 'dependabot[bot]', email: 'ada.lovelace@acme.io', email_verified: true })), index, config);
    expect(r.flags.map((f) => f.code)).toEqual(['bot']);
    expect(r.links).toEqual([]);
    expect(resolveMember(member({ source: 'slack', id: 'B1', is_bot: true }), index, config).flags[0]?.code).toBe('bot');
    expect(resolveMember(member({ source: 'slack', id: 'USLACKBOT' }), index, config).flags[0]?.code).toBe('bot');
  });

  it('flags staff on the organisation domain', () => {
    const r = resolveMember(member({ source: 'slack', id: 'U9', email: 'me@eng.ourco.com' }), index, config);
    expect(r.flags).toMatchObject([{ code: 'staff' }]);
  });

  const decision = (crmId: string, d: 'confirmed' | 'rejected', at: string, kind: 'contact' | 'company' = 'contact'): LinkDecision => ({
    memberId: 'm1', target: { kind, crmId }, decision: d, decidedBy: 'pat', decidedAt: at,
  });

  it('a rejected link is never re-created by automation, nor its company', () => {
    const m = member(gh('1', { email: 'ada.lovelace@acme.io', email_verified: true }));
    const r = resolveMember(m, index, config, [decision('c1', 'rejected', '2026-01-01')]);
    expect(r.links.map((l) => l.target.crmId)).toEqual(['co-acme']); // still by domain, evidence says so
    expect(r.links[0]?.method).toBe('domain');
    expect(r.suggestions.map((s) => s.target.crmId)).not.toContain('c1');
  });

  it('a confirmed link is kept even without evidence; the latest decision wins', () => {
    const m = member(gh('2', { name: 'Nobody' }));
    const confirmed = resolveMember(m, index, config, [decision('c2', 'confirmed', '2026-01-01')]);
    expect(confirmed.links).toMatchObject([{ target: { crmId: 'c2' }, method: 'manual', status: 'confirmed', confidence: 1 }]);
    const later = resolveMember(m, index, config, [decision('c2', 'confirmed', '2026-01-01'), decision('c2', 'rejected', '2026-02-01')]);
    expect(later.links).toEqual([]);
    const otherMember = resolveMember({ memberId: 'm2', identities: m.identities }, index, config, [decision('c2', 'confirmed', '2026-01-01')]);
    expect(otherMember.links).toEqual([]);
  });

  it('marks an automatic link confirmed when a person confirmed it', () => {
    const m = member(gh('1', { email: 'ada.lovelace@acme.io', email_verified: true }));
    const r = resolveMember(m, index, config, [decision('c1', 'confirmed', '2026-01-01')]);
    expect(r.links.find((l) => l.target.crmId === 'c1')).toMatchObject({ method: 'email', status: 'confirmed' });
  });
});

describe('ContactIndex updates', () => {
  it('upserts and deletes individual contacts and companies', () => {
    const index = build();
    const m = member({ source: 'email', id: 'ada.lovelace@acme.io' });
    expect(resolveMember(m, index, config).links.some((l) => l.target.crmId === 'c1')).toBe(true);
    index.upsertContact(contact('c1', { email: 'ada@elsewhere.org' }));
    expect(resolveMember(m, index, config).links.some((l) => l.target.crmId === 'c1')).toBe(false);
    index.upsertContact(contact('c9', { email: 'ada.lovelace@acme.io' }));
    expect(resolveMember(m, index, config).links.some((l) => l.target.crmId === 'c9')).toBe(true);
    index.deleteContact('c9');
    index.deleteCompany('co-acme');
    // acme.io is still the website domain of Acme EU.
    expect(resolveMember(m, index, config).links).toMatchObject([{ target: { kind: 'company', crmId: 'co-acme-eu' } }]);
    index.deleteCompany('co-acme-eu');
    expect(resolveMember(m, index, config).links).toEqual([]);
    expect(index.contactCount).toBe(12);
  });
});

describe('company by email host, remembered per host', () => {
  it('follows index changes (a tie broken by contact count) and never leaks between indexes sharing the email rules', () => {
    const tied = [company('a', { name: 'A', domain: 'tie.io' }), company('b', { name: 'B', domain: 'tie.io' })];
    const idx = ContactIndex.build(ctx.email, [contact('x1', { email: 'x1@elsewhere.org', companyId: 'a' })], tied);
    const m = { memberId: 'm', identities: [{ source: 'email', id: 'jo@tie.io' }] };
    const companyOf = (i: ContactIndex): string[] =>
      resolveMember(m, i, config).links.filter((l) => l.target.kind === 'company').map((l) => l.target.crmId);
    expect(companyOf(idx)).toEqual(['a']);
    expect(companyOf(idx)).toEqual(['a']);
    idx.upsertContact(contact('x2', { email: 'x2@elsewhere.org', companyId: 'b' }));
    idx.upsertContact(contact('x3', { email: 'x3@elsewhere.org', companyId: 'b' }));
    expect(companyOf(idx)).toEqual(['b']);
    const other = ContactIndex.build(ctx.email, [], [company('c', { name: 'C', domain: 'tie.io' })]);
    expect(companyOf(other)).toEqual(['c']);
    expect(companyOf(idx)).toEqual(['b']);
    idx.deleteCompany('b');
    expect(companyOf(idx)).toEqual(['a']);
  });
});

describe('dirty keys', () => {
  it('a member and the contact it links to share an email key', async () => {
    const { contactEmailKeys, memberEmailKeys } = await import('./dirty');
    const c = contact('x', { email: 'Grace@navy.mil', additionalEmails: ['grace.hopper+crm@gmail.com', 'bad@'] });
    expect(contactEmailKeys(c, config)).toEqual(['grace@navy.mil', 'gracehopper@gmail.com']);
    expect(memberEmailKeys([{ source: 'slack', id: 'U1', email: 'G.race.Hopper@googlemail.com' }, { source: 'email', id: '1+x@users.noreply.github.com' }], config)).toEqual(['gracehopper@gmail.com']);
  });
});

describe('id namespaces', () => {
  it('a contact and a company with the same CRM id do not shadow each other', () => {
    const idx = ContactIndex.build(ctx.email, [contact('7', { email: 'sam@same.io', firstName: 'Sam', lastName: 'Lee', companyId: '7' })], [company('7', { name: 'Same', domain: 'same.io' })]);
    const r = resolveMember({ memberId: 'm', identities: [{ source: 'email', id: 'sam@same.io' }] }, idx, config);
    expect(r.links.map((l) => `${l.target.kind}:${l.target.crmId}`).sort()).toEqual(['company:7', 'contact:7']);
  });
});
