import { describe, expect, it } from 'vitest';
import { defaultIdentityConfig } from './config';
import { planIdentityMerge, planUnmerge, scoreMemberPair } from './merge';
import type { IdentityInput, MemberDecision, MemberSnapshot } from './types';

const config = defaultIdentityConfig();
const gh = (id: string, extra: Partial<IdentityInput> = {}): IdentityInput => ({ source: 'github', id, ...extra });
const slack = (id: string, extra: Partial<IdentityInput> = {}): IdentityInput => ({ source: 'slack', id, ...extra });
const email = (id: string): IdentityInput => ({ source: 'email', id });
const m = (memberId: string, ...identities: IdentityInput[]): MemberSnapshot => ({ memberId, identities });

describe('planIdentityMerge', () => {
  it('creates a member when nobody owns the identities', () => {
    const plan = planIdentityMerge([gh('1', { handle: 'ada' })], [], config);
    expect(plan).toMatchObject({ action: 'create', targetMemberId: null, attach: [{ id: '1' }], conflicts: [] });
  });

  it('attaches new identities to the owner of the actor', () => {
    const plan = planIdentityMerge([gh('1', { email: 'ada@acme.io', email_verified: true }), email('ada@acme.io')], [m('A', gh('1'))], config);
    expect(plan).toMatchObject({ action: 'attach', targetMemberId: 'A', mergeMemberIds: [] });
    expect(plan.attach.map((i) => i.source)).toEqual(['email']);
  });

  it('auto-merges members sharing a verified email', () => {
    const plan = planIdentityMerge(
      [gh('1', { email: 'Ada@Acme.io', email_verified: true })],
      [m('A', gh('1')), m('B', slack('U1', { email: 'ada@acme.io' }))],
      config,
    );
    expect(plan).toMatchObject({ action: 'merge', targetMemberId: 'A', mergeMemberIds: ['B'] });
  });

  it('auto-merges on a GitHub noreply address naming the account', () => {
    const plan = planIdentityMerge([email('12345+ada@users.noreply.github.com')], [m('A', gh('12345', { handle: 'ada' }))], config);
    // The email identity itself is new; the member owning github:12345 receives it.
    expect(plan).toMatchObject({ action: 'attach', targetMemberId: 'A' });
  });

  it('only suggests when the shared email is unverified', () => {
    const plan = planIdentityMerge(
      [gh('1', { email: 'ada@acme.io', name: 'Ada Lovelace' })],
      [m('A', gh('1')), m('B', { source: 'discourse', id: 'ada', email: 'ada@acme.io', name: 'Ada Lovelace' })],
      config,
    );
    expect(plan.mergeMemberIds).toEqual([]);
    expect(plan.suggestions[0]).toMatchObject({ memberIds: ['A', 'B'] });
    expect(plan.suggestions[0]?.reasons.join(' ')).toContain('same unverified email');
  });

  it('never merges two GitHub accounts, even on a verified email', () => {
    const plan = planIdentityMerge(
      [gh('1', { email: 'ada@acme.io', email_verified: true })],
      [m('A', gh('1')), m('B', gh('2'), email('ada@acme.io'))],
      config,
    );
    expect(plan.mergeMemberIds).toEqual([]);
    expect(plan.conflicts.map((c) => c.code)).toContain('two_identities_same_platform');
  });

  it('never merges a bot with a human', () => {
    const plan = planIdentityMerge(
      [gh('1', { handle: 'ci-bot', email: 'ci@acme.io', email_verified: true })],
      [m('A', gh('1', { handle: 'ci-bot' })), m('B', email('ci@acme.io'))],
      config,
    );
    expect(plan.mergeMemberIds).toEqual([]);
    expect(plan.conflicts.map((c) => c.code)).toContain('bot_and_human');
  });

  it('respects a recorded "not the same person"', () => {
    const notSame: MemberDecision = { memberA: 'B', memberB: 'A', decision: 'not_same', decidedBy: 'pat', decidedAt: '2026-01-01' };
    const plan = planIdentityMerge(
      [gh('1', { email: 'ada@acme.io', email_verified: true })],
      [m('A', gh('1')), m('B', email('ada@acme.io'))],
      config,
      { members: [notSame] },
    );
    expect(plan.mergeMemberIds).toEqual([]);
    expect(plan.conflicts.map((c) => c.code)).toEqual(['decision_blocks_merge']);
  });

  it('respects an unmerge: the split identity is not re-attached', () => {
    const split = planUnmerge(m('A', gh('1'), email('ada@acme.io')), ['email:ada@acme.io'], 'A2', 'pat', '2026-01-01');
    expect(split.keep).toHaveLength(1);
    expect(split.split).toHaveLength(1);
    const plan = planIdentityMerge([gh('1'), email('ada@acme.io')], [m('A', ...split.keep)], config, { identities: split.identityDecisions });
    expect(plan.attach).toEqual([]);
    expect(plan.held[0]?.reason).toContain('does not belong');
  });

  it('an identity claimed by two members is a conflict, not a merge', () => {
    const plan = planIdentityMerge([gh('1')], [m('B', gh('1')), m('A', gh('1'))], config);
    expect(plan.action).toBe('conflict');
    expect(plan.targetMemberId).toBe('A');
    expect(plan.mergeMemberIds).toEqual([]);
    expect(plan.conflicts[0]).toMatchObject({ code: 'identity_claimed_by_two_members', refs: ['A', 'B'] });
  });

  it('holds a second account of one platform inside one activity', () => {
    const plan = planIdentityMerge([gh('1'), gh('2')], [], config);
    expect(plan.attach.map((i) => i.id)).toEqual(['1']);
    expect(plan.held[0]?.identity.id).toBe('2');
    expect(plan.conflicts[0]?.code).toBe('two_identities_same_platform');
  });

  it('records malformed emails and handles empty input', () => {
    const plan = planIdentityMerge([gh('1', { email: 'broken@', email_verified: true })], [], config);
    expect(plan.conflicts.map((c) => c.code)).toEqual(['malformed_email']);
    expect(planIdentityMerge([], [], config).action).toBe('conflict');
  });
});

describe('scoreMemberPair', () => {
  it('suggests on the same handle on two platforms plus the same name', () => {
    const s = scoreMemberPair(m('A', gh('1', { handle: 'adalove', name: 'Ada Lovelace' })), m('B', { source: 'discourse', id: 'adalove', handle: 'adalove', name: 'Ada Lovelace' }), config);
    expect(s.verdict).toBe('suggest');
    expect(s.reasons).toEqual(['same handle "adalove" on two platforms', 'same full name "Ada Lovelace"']);
    // Compared folded, quoted as written: "Smith, Chloé" and "Chloe Smith" are the same name.
    const folded = scoreMemberPair(m('A', gh('1', { handle: 'chloes', name: 'Smith, Chloé' })), m('B', slack('U1', { handle: 'chloes', name: 'Chloe Smith' })), config);
    expect(folded.reasons).toEqual(['same handle "chloes" on two platforms', 'same full name "Smith, Chloé"']);
  });
  it('does not suggest on a name alone', () => {
    expect(scoreMemberPair(m('A', gh('1', { name: 'John Smith' })), m('B', slack('U1', { name: 'John Smith' })), config).verdict).toBe('none');
  });
  it('merges on a verified shared email and on a human "same" decision', () => {
    expect(scoreMemberPair(m('A', email('a@x.io')), m('B', slack('U1', { email: 'A@x.io' })), config).verdict).toBe('merge');
    const same: MemberDecision = { memberA: 'A', memberB: 'B', decision: 'same', decidedBy: 'pat', decidedAt: '2026-01-01' };
    expect(scoreMemberPair(m('A', gh('1')), m('B', gh('2')), config, { members: [same] }).verdict).toBe('merge');
  });
  it('blocks two accounts of one platform', () => {
    expect(scoreMemberPair(m('A', gh('1', { email: 'a@x.io', email_verified: true })), m('B', gh('2', { email: 'a@x.io', email_verified: true })), config).verdict).toBe('blocked');
  });
});
