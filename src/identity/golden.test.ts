import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ORG_DOMAIN, SyntheticOrg } from '../../bench/identity-generator';
import { defaultIdentityConfig } from './config';
import { ContactIndex } from './contact-index';
import { contextFor } from './context';
import { resolveMember } from './resolve';

/**
 * Guard for performance work on the resolver: the full output (links, suggestions with their scores and evidence,
 * conflicts, flags) for a small labelled org of the identity benchmark, as a hash. The recorded value is what the
 * engine gave before the lookup/caching rework (commit 287dce1), so a speed-up that changes any result fails here.
 * A deliberate change of the rules changes it too: check the difference with the benchmark's quality figures
 * (npm run bench:identity), then record the new hash.
 */
describe('resolveMember on a synthetic org', () => {
  it('gives the recorded output', () => {
    const config = defaultIdentityConfig({ organisationDomains: [ORG_DOMAIN] });
    const org = new SyntheticOrg({ members: 8000, contacts: 4000, seed: 7 });
    const index = ContactIndex.build(contextFor(config).email, org.contacts, org.companies);
    const hash = createHash('sha256');
    const counts = { links: 0, suggestions: 0, conflicts: 0, flags: 0 };
    for (let i = 0; i < 8000; i++) {
      const r = resolveMember(org.member(i).snapshot, index, config);
      counts.links += r.links.length;
      counts.suggestions += r.suggestions.length;
      counts.conflicts += r.conflicts.length;
      counts.flags += r.flags.length;
      hash.update(JSON.stringify(r));
      hash.update('\n');
    }
    expect(counts).toEqual({ links: 4815, suggestions: 889, conflicts: 98, flags: 83 });
    expect(hash.digest('hex')).toBe('e7226c140a3ae5e5080b9458f0cbe82ec0efe59893e408b4317c47d9ce7ef935');
  });
});
