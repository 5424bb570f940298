import { describe, expect, it } from 'vitest';
import { defaultIdentityConfig } from './config';
import { memberKeyList, planMemberMatches, type MatchInput } from './member-match';
import type { IdentityInput, MemberDecision, MemberSnapshot } from './types';

const config = defaultIdentityConfig();
const gh = (id: string, extra: Partial<IdentityInput> = {}): IdentityInput => ({ source: 'github', id, ...extra });
const slack = (id: string, extra: Partial<IdentityInput> = {}): IdentityInput => ({ source: 'slack', id, ...extra });
const discourse = (id: string, extra: Partial<IdentityInput> = {}): IdentityInput => ({ source: 'discourse', id, ...extra });
const m = (memberId: string, ...identities: IdentityInput[]): MemberSnapshot => ({ memberId, identities });

/** Candidates as the store finds them: members sharing any key with a subject. */
function input(subjects: string[], members: MemberSnapshot[], extra: Partial<MatchInput> = {}): MatchInput {
  const byId = new Map(members.map((x) => [x.memberId, x]));
  const keys = new Map(members.map((x) => [x.memberId, new Set(memberKeyList(x, config))]));
  const candidates = new Map<string, Set<string>>();
  for (const s of subjects) {
    const mine = keys.get(s)!;
    candidates.set(s, new Set(members.filter((o) => o.memberId !== s && [...keys.get(o.memberId)!].some((k) => mine.has(k))).map((o) => o.memberId)));
  }
  return {
    subjects: subjects.map((s) => byId.get(s)!), candidates, members: byId, together: [], decisions: {},
    createdAt: new Map(members.map((x, i) => [x.memberId, `2026-01-0${i + 1}T00:00:00.000Z`])), ...extra,
  };
}

describe('planMemberMatches', () => {
  it('merges members sharing a verified email into the oldest, whichever changed', () => {
    const members = [m('mem_b', slack('U1', { email: 'ada@acme.io' })), m('mem_a', gh('1', { email: 'Ada@Acme.io', email_verified: true }))];
    const plan = planMemberMatches(input(['mem_a'], members), config);
    // mem_b is older (created first): the GitHub member folds into it.
    expect(plan.merges).toEqual([{ into: 'mem_b', from: 'mem_a', reasons: ['both hold verified email:ada@acme.io'] }]);
    expect(plan.suggestions).toEqual([]);
  });

  it('merges on a GitHub noreply address naming the account', () => {
    const members = [m('A', gh('12345', { handle: 'ada' })), m('B', { source: 'email', id: '12345+ada@users.noreply.github.com' })];
    expect(planMemberMatches(input(['B'], members), config).merges).toMatchObject([{ into: 'A', from: 'B' }]);
  });

  it('an unverified noreply address (git metadata, which anyone can write) is evidence, not proof', () => {
    const commitAuthor = { source: 'custom', id: 'commit-1', email: '12345+torvalds@users.noreply.github.com' };
    const members = [m('A', gh('12345', { handle: 'torvalds' })), m('B', commitAuthor)];
    const plan = planMemberMatches(input(['B'], members), config);
    expect(plan.merges).toEqual([]);
    const verified = [m('A', gh('12345', { handle: 'torvalds' })), m('B', { ...commitAuthor, email_verified: true })];
    expect(planMemberMatches(input(['B'], verified), config).merges).toMatchObject([{ into: 'A', from: 'B' }]);
  });

  it('suggests, with reasons, on weak evidence only', () => {
    const members = [
      m('A', gh('1', { handle: 'adalove', name: 'Ada Lovelace' })),
      m('B', discourse('7', { handle: 'adalove', name: 'Ada Lovelace', email: 'ada@acme.io' })),
    ];
    const plan = planMemberMatches(input(['B'], members), config);
    expect(plan.merges).toEqual([]);
    expect(plan.suggestions).toHaveLength(1);
    expect(plan.suggestions[0]).toMatchObject({ a: 'A', b: 'B', blocked: [] });
    expect(plan.suggestions[0]!.reasons.join('; ')).toMatch(/same handle "adalove".*same full name "Ada Lovelace"/);
    expect(plan.suggestions[0]!.score).toBeGreaterThanOrEqual(config.members.suggest_min_score);
  });

  it('clears a pair whose evidence fell below the bar', () => {
    const members = [m('A', gh('1', { handle: 'adalove' })), m('B', discourse('7', { handle: 'adalove' }))];
    const plan = planMemberMatches(input(['B'], members), config);
    expect(plan).toEqual({ merges: [], suggestions: [], cleared: [['A', 'B']] });
  });

  it('never merges two GitHub accounts on a verified email: a blocked suggestion for a person', () => {
    const members = [m('A', gh('1', { email: 'ada@acme.io', email_verified: true })), m('B', gh('2', { email: 'ada@acme.io', email_verified: true }))];
    const plan = planMemberMatches(input(['B'], members), config);
    expect(plan.merges).toEqual([]);
    expect(plan.suggestions).toEqual([{ a: 'A', b: 'B', score: 0.5, reasons: ['share a verified identifier'], blocked: ['two different github accounts (1 and 2)'] }]);
  });

  it('respects a person\'s "not the same person" over a verified email', () => {
    const decisions: { members: MemberDecision[] } = { members: [{ memberA: 'A', memberB: 'B', decision: 'not_same', decidedBy: 'user:ana', decidedAt: '2026-02-01T00:00:00.000Z' }] };
    const members = [m('A', gh('1', { email: 'ada@acme.io', email_verified: true })), m('B', slack('U1', { email: 'ada@acme.io' }))];
    const plan = planMemberMatches(input(['B'], members, { decisions }), config);
    expect(plan).toEqual({ merges: [], suggestions: [], cleared: [['A', 'B']] });
  });

  it('merges members one activity named together, unless a blocker stands between them', () => {
    const members = [m('A', gh('1')), m('B', { source: 'discord', id: '99' }), m('C', gh('2'))];
    const ok = planMemberMatches(input([], members, { together: [['A', 'B']] }), config);
    expect(ok.merges).toEqual([{ into: 'A', from: 'B', reasons: ['one activity named both'] }]);
    const blocked = planMemberMatches(input([], members, { together: [['A', 'C']] }), config);
    expect(blocked.merges).toEqual([]);
    expect(blocked.suggestions[0]).toMatchObject({ a: 'A', b: 'C', blocked: ['two different github accounts (1 and 2)'] });
  });

  it('checks a merge group as a whole: A–B and B–C may not both merge when A and C hold two GitHub accounts', () => {
    const members = [
      m('A', gh('1', { email: 'x@acme.io', email_verified: true })),
      m('B', { source: 'email', id: 'x@acme.io' }, { source: 'email', id: 'y@acme.io' }),
      m('C', gh('2', { email: 'y@acme.io', email_verified: true })),
    ];
    const plan = planMemberMatches(input(['B'], members), config);
    expect(plan.merges).toEqual([{ into: 'A', from: 'B', reasons: ['both hold verified email:x@acme.io'] }]);
    // B's pair with C now concerns A, B's survivor, and is blocked.
    expect(plan.suggestions).toEqual([{ a: 'A', b: 'C', score: 0.5, reasons: ['both hold verified email:y@acme.io'], blocked: ['two different github accounts (1 and 2)'] }]);
  });

  it('gives the same plan whatever order the subjects and candidates come in', () => {
    const members = [
      m('A', gh('1', { email: 'ada@acme.io', email_verified: true, handle: 'adalove', name: 'Ada Lovelace' })),
      m('B', slack('U1', { email: 'ada@acme.io' })),
      m('C', discourse('7', { handle: 'adalove', name: 'Ada Lovelace' })),
    ];
    const one = planMemberMatches(input(['A', 'B', 'C'], members), config);
    const two = planMemberMatches(input(['C', 'B', 'A'], [...members].reverse(), { createdAt: input([], members).createdAt }), config);
    expect(two).toEqual(one);
    expect(one.merges).toEqual([{ into: 'A', from: 'B', reasons: ['both hold verified email:ada@acme.io'] }]);
  });

  it('never joins, through a third member, two members a person said are different', () => {
    const decisions: { members: MemberDecision[] } = { members: [{ memberA: 'A', memberB: 'C', decision: 'not_same', decidedBy: 'user:ana', decidedAt: '2026-02-01T00:00:00.000Z' }] };
    const members = [
      m('A', gh('1', { email: 'x@acme.io', email_verified: true })),
      m('B', { source: 'email', id: 'x@acme.io' }, { source: 'email', id: 'y@acme.io' }),
      m('C', slack('U3', { email: 'y@acme.io' })),
    ];
    const plan = planMemberMatches(input(['B'], members, { decisions }), config);
    // B joins A (verified x@); C would join the same person through y@, which the decision forbids.
    expect(plan.merges).toEqual([{ into: 'A', from: 'B', reasons: ['both hold verified email:x@acme.io'] }]);
    expect(plan.suggestions).toEqual([]);
  });

  it('treats a verified role mailbox (support@, info@) as evidence, never proof', () => {
    const members = [m('A', gh('1', { email: 'support@acme.io', email_verified: true })), m('B', slack('U1', { email: 'support@acme.io' }))];
    const plan = planMemberMatches(input(['B'], members), config);
    expect(plan.merges).toEqual([]);
    expect(plan.cleared).toEqual([['A', 'B']]);
  });
});
