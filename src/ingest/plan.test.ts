import { describe, expect, it } from 'vitest';
import type { ActivityInput } from '../activity/schema';
import { identityKey, planIngest, type StoredIdentity } from './plan';

let seq = 0;
const ids = () => `mem_${++seq}`;
const act = (external_id: string, identities: ActivityInput['member']['identities']): ActivityInput => ({
  source: 'github', type: 'github.star', occurred_at: '2026-01-01T00:00:00+02:00', external_id, member: { identities },
});
const stored = (over: Partial<StoredIdentity> & Pick<StoredIdentity, 'source' | 'external_id' | 'member_id'>): StoredIdentity => ({
  id: 1, handle: null, email: null, email_verified: 0, name: null, company: null, is_bot: 0, ...over,
});

describe('planIngest', () => {
  it('creates one member for the identities of one activity, plus an email identity for a verified address', () => {
    const plan = planIngest([act('a', [{ source: 'github', id: '1', handle: 'Octo', email: 'O@X.io', email_verified: true }])], new Map(), ids);
    expect(plan.members).toHaveLength(1);
    expect(plan.newIdentities.map((i) => [i.source, i.external_id, i.handle_lc])).toEqual([
      ['github', '1', 'octo'],
      ['email', 'o@x.io', 'o@x.io'],
    ]);
    expect(plan.activities[0]).toMatchObject({ occurred_at: '2025-12-31T22:00:00.000Z', identity_source: 'github', identity_external_id: '1' });
  });

  it('does not join on an unverified email', () => {
    const plan = planIngest([
      act('a', [{ source: 'github', id: '1', email: 'same@x.io' }]),
      act('b', [{ source: 'slack', id: 'U1', email: 'same@x.io' }]),
    ], new Map(), ids);
    expect(plan.members).toHaveLength(2);
  });

  it('never joins people on a verified role mailbox or a bot\'s address: each keeps its own member', () => {
    const shared = planIngest([
      act('a', [{ source: 'github', id: '1', name: 'Alice Smith', email: 'info@acme.com', email_verified: true }]),
      act('b', [{ source: 'discourse', id: 'bob', name: 'Bob Jones', email: 'Info@Acme.com', email_verified: true }]),
    ], new Map(), ids);
    expect(shared.members).toHaveLength(2);
    expect(shared.newIdentities.map((i) => i.source)).toEqual(['github', 'discourse']);
    // The address stays on each identity: weak evidence for member matching and the review queue.
    expect(shared.newIdentities.map((i) => i.email)).toEqual(['info@acme.com', 'info@acme.com']);

    const bot = planIngest([
      act('c', [{ source: 'github', id: '9', handle: 'deploy[bot]', email: 'jane.doe@acme.com', email_verified: true }]),
      act('d', [{ source: 'discourse', id: 'jane', name: 'Jane Doe', email: 'jane.doe@acme.com', email_verified: true }]),
    ], new Map(), ids);
    expect(bot.members).toHaveLength(2);
    expect(bot.newIdentities.filter((i) => i.source === 'email').map((i) => i.member_id)).toEqual([bot.newIdentities.find((i) => i.source === 'discourse')!.member_id]);

    // identity.yaml's own list decides: with "info" taken off it, the address joins again.
    const custom = planIngest([
      act('e', [{ source: 'github', id: '1', email: 'info@acme.com', email_verified: true }]),
      act('f', [{ source: 'discourse', id: 'bob', email: 'info@acme.com', email_verified: true }]),
    ], new Map(), ids, { singleAccount: new Set(), held: new Map(), roleLocalParts: new Set(['sales']) });
    expect(custom.members).toHaveLength(1);
  });

  it('attaches new identities to the member that already holds one of them', () => {
    const known = new Map([[identityKey('email', 'ada@acme.io'), stored({ source: 'email', external_id: 'ada@acme.io', member_id: 'mem_old' })]]);
    const plan = planIngest([act('a', [{ source: 'slack', id: 'U2', email: 'Ada@Acme.io', email_verified: true }])], known, ids);
    expect(plan.members).toEqual([]);
    expect(plan.newIdentities).toEqual([expect.objectContaining({ source: 'slack', member_id: 'mem_old' })]);
  });

  it('gives a second account of a one-account platform its own member, also when a verified email joins them', () => {
    const guard = (held: [string, [string, string][]][] = []) => ({ singleAccount: new Set(['github', 'slack']), held: new Map(held) });
    // Within one batch.
    const batch = planIngest([
      act('a', [{ source: 'github', id: '1', email: 'kay@x.io', email_verified: true }]),
      act('b', [{ source: 'github', id: '2', email: 'kay@x.io', email_verified: true }]),
    ], new Map(), ids, guard());
    expect(batch.members).toHaveLength(2);
    const memberOf = (p: typeof batch, id: string) => p.newIdentities.find((i) => i.source === 'github' && i.external_id === id)!.member_id;
    expect(memberOf(batch, '1')).not.toBe(memberOf(batch, '2'));
    // Against a stored member holding github 1 (not in this batch) and the email.
    const known = new Map([[identityKey('email', 'kay@x.io'), stored({ source: 'email', external_id: 'kay@x.io', member_id: 'mem_kay' })]]);
    const later = planIngest([act('c', [{ source: 'github', id: '2', email: 'kay@x.io', email_verified: true }])], known, ids, guard([['mem_kay', [['github', '1']]]]));
    expect(later.members).toHaveLength(1);
    expect(memberOf(later, '2')).toBe(later.members[0]!.id);
    // The same account again, or another platform's, still joins.
    const same = planIngest([act('d', [{ source: 'slack', id: 'U9', email: 'kay@x.io', email_verified: true }])], known, ids, guard([['mem_kay', [['github', '1']]]]));
    expect(same.newIdentities).toEqual([expect.objectContaining({ source: 'slack', member_id: 'mem_kay' })]);
  });

  it('records a conflict instead of merging two existing members', () => {
    const known = new Map([
      [identityKey('github', '1'), stored({ id: 1, source: 'github', external_id: '1', member_id: 'mem_a' })],
      [identityKey('slack', 'U1'), stored({ id: 2, source: 'slack', external_id: 'U1', member_id: 'mem_b' })],
    ]);
    const plan = planIngest([act('a', [{ source: 'github', id: '1' }, { source: 'slack', id: 'U1' }])], known, ids);
    expect(plan.conflicts).toEqual([{ memberIds: ['mem_a', 'mem_b'], keys: expect.any(Array) }]);
    expect(plan.members).toEqual([]);
  });

  it('updates a renamed handle and leaves unchanged identities alone', () => {
    const known = new Map([[identityKey('github', '1'), stored({ source: 'github', external_id: '1', member_id: 'm', handle: 'old' })]]);
    const renamed = planIngest([act('a', [{ source: 'github', id: '1', handle: 'new' }])], known, ids);
    expect(renamed.changedIdentities).toEqual([expect.objectContaining({ handle: 'new', handle_lc: 'new', member_id: 'm' })]);
    const same = planIngest([act('a', [{ source: 'github', id: '1', handle: 'old' }])], known, ids);
    expect(same.changedIdentities).toEqual([]);
  });

  it('flags bots by login suffix', () => {
    const plan = planIngest([act('a', [{ source: 'github', id: '2', handle: 'dependabot[bot]' }])], new Map(), ids);
    expect(plan.members[0]!.is_bot).toBe(1);
  });
});
