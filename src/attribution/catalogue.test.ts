import { describe, expect, it } from 'vitest';
import { Catalogue, specificity } from './catalogue';
import { computeCompanyInfluence, computeContactInfluence } from './people';
import { day, testRules, touch } from './testkit';

describe('catalogue matching', () => {
  it('most specific pattern wins; * needs at least one more segment', () => {
    expect(specificity('github.*', 'github')).toBe(-1);
    expect(specificity('github.*', 'github.pull_request.merged')).toBeGreaterThan(specificity('*', 'github.star'));
    expect(specificity('github.pull_request.*', 'github.pull_request.merged')).toBeGreaterThan(specificity('github.*', 'github.pull_request.merged'));
    expect(specificity('github.pull_request.merged', 'github.pull_request.merged')).toBeGreaterThan(specificity('github.pull_request.*', 'github.pull_request.merged'));
    expect(specificity('github.star', 'github.stars')).toBe(-1);
    expect(specificity('git.*', 'github.star')).toBe(-1);
  });
  it('resolves through the rules: exact, wildcard, not counting, excluded, unknown', () => {
    const c = new Catalogue(testRules());
    expect(c.resolve('github.pull_request.merged')).toMatchObject({ pattern: 'github.pull_request.merged', weight: 4, stage: 'contributor' });
    expect(c.resolve('github.fork')).toMatchObject({ pattern: 'github.*', channel: 'github', weight: 1 });
    expect(c.resolve('webinar.attended')).toMatchObject({ channel: 'events', weight: 2 });
    expect(c.resolve('github.release.published')).toBeNull();
    expect(c.resolve('slack.reaction_added')).toBeNull();
    expect(c.resolve('docs.visit')).toBeNull();
  });
});

describe('contact and company outputs', () => {
  const rules = testRules();
  const ts = [
    touch({ at: -100, type: 'github.pull_request.merged' }),
    touch({ at: -50, type: 'slack.message', memberId: 'm2' }),
    touch({ at: -10, type: 'github.star', companyId: 'co2' }),
    touch({ at: -5, type: 'slack.message', isBot: true }),
    touch({ at: 5, type: 'slack.message' }), // after asOf: ignored
  ];
  it('contact: deepest stage ever, last activity, 90-day count, channels', () => {
    expect(computeContactInfluence('c1', ts, rules, day(0))).toEqual({
      contactId: 'c1', stage: 'contributor', lastActivityAt: day(-10), activityRecent: 2, channels: ['github', 'slack'],
    });
    expect(computeContactInfluence('c1', [], rules, day(0)).stage).toBeNull();
  });
  it('company: only touches made while at the company', () => {
    expect(computeCompanyInfluence('co1', ts, rules, day(0))).toEqual({
      companyId: 'co1', engagedMembers: 2, activityCount: 2, topChannel: 'github', lastActivityAt: day(-50),
    });
  });
});
