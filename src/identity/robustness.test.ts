import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultIdentityConfig } from './config';
import { ContactIndex } from './contact-index';
import { contextFor } from './context';
import { company, contact } from './fixtures.test-helpers';
import { planIdentityMerge } from './merge';
import { resolveMember } from './resolve';
import type { IdentityInput } from './types';

const config = defaultIdentityConfig({ organisationDomains: ['ourco.com'] });
const index = ContactIndex.build(
  contextFor(config).email,
  [
    contact('c1', { email: 'ada@acme.io', firstName: 'Ada', lastName: 'Lovelace', companyId: 'co1' }),
    contact('c2', { email: 'ada@acme.io', firstName: 'Ada', lastName: 'Lovelace' }),
    contact('c3', { email: '', additionalEmails: ['@@', 'x@y'], firstName: '', lastName: '' }),
  ],
  [company('co1', { name: 'Acme', domain: 'acme.io', website: 'not a url at all' }), company('co2', { domain: 'gmail.com' })],
);

const anyEmail = fc.oneof(fc.emailAddress(), fc.string(), fc.constantFrom('ADA@ACME.IO', ' ada+x@acme.io ', '12+ada@users.noreply.github.com', 'info@acme.io'));
const identity: fc.Arbitrary<IdentityInput> = fc.record(
  {
    source: fc.constantFrom('github', 'slack', 'email', 'discourse'),
    id: fc.oneof(fc.string({ minLength: 1 }), anyEmail),
    handle: fc.string(),
    email: anyEmail,
    email_verified: fc.boolean(),
    name: fc.oneof(fc.string(), fc.constantFrom('Ada Lovelace', 'Ада', '王伟', '  ')),
    company: fc.string(),
    is_bot: fc.boolean(),
  },
  { requiredKeys: ['source', 'id'] },
);

describe('robustness on arbitrary input', () => {
  it('resolveMember never throws, is deterministic, and never auto-links on an unverified email', () => {
    fc.assert(
      fc.property(fc.array(identity, { maxLength: 5 }), (identities) => {
        const m = { memberId: 'm', identities };
        const r = resolveMember(m, index, config);
        expect(resolveMember(m, index, config)).toEqual(r);
        for (const l of r.links) expect(['auto', 'confirmed']).toContain(l.status);
        for (const s of r.suggestions) expect(s.status).toBe('suggested');
        if (r.flags.some((f) => f.code === 'bot')) expect(r.links).toEqual([]);
      }),
    );
  });

  it('planIdentityMerge never throws and never merges across a hard blocker', () => {
    const member = fc.record({ memberId: fc.constantFrom('A', 'B', 'C'), identities: fc.array(identity, { maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(identity, { maxLength: 4 }), fc.array(member, { maxLength: 4 }), (incoming, existingRaw) => {
        const plan = planIdentityMerge(incoming, existingRaw, config);
        // The same member passed twice counts once, with the union of its identities.
        const existing = ['A', 'B', 'C'].map((memberId) => ({ memberId, identities: existingRaw.filter((m) => m.memberId === memberId).flatMap((m) => m.identities) })).filter((m) => m.identities.length > 0);
        const parts = existing.filter((m) => m.memberId === plan.targetMemberId || plan.mergeMemberIds.includes(m.memberId));
        const ids = (list: readonly IdentityInput[], src: string) => new Set(list.filter((i) => i.source === src).map((i) => i.id.trim().toLowerCase()));
        // Whatever the input, the result never holds two ids of a one-account platform unless a part already did.
        for (const src of ['github', 'slack', 'discourse']) {
          if (parts.some((p) => ids(p.identities, src).size > 1)) continue;
          expect(ids([...parts.flatMap((p) => p.identities), ...plan.attach], src).size).toBeLessThanOrEqual(1);
        }
      }),
    );
  });
});
