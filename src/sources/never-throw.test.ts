import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { activityInputSchema } from '../activity/schema';
import { normaliseDiscourse } from './discourse/normalise';
import { normaliseGithub } from './github/normalise';
import { normaliseSlack } from './slack/normalise';
import {
  discoursePost, discourseTopic, discourseUser, mutations, slackEnvelope, slackMessage, slackReaction, slackTeamJoin,
} from './testing/samples';
import star from '../../test/fixtures/github/star.created.payload.json';
import fork from '../../test/fixtures/github/fork.payload.json';
import issuesOpened from '../../test/fixtures/github/issues.opened.payload.json';
import issueComment from '../../test/fixtures/github/issue_comment.created.payload.json';
import prOpened from '../../test/fixtures/github/pull_request.opened.payload.json';
import discussionCreated from '../../test/fixtures/github/discussion.created.payload.json';

const seen = new Map<string, number>();
/** Whatever comes out must be one of the union's shapes, and every activity must satisfy the shared contract. */
function check(r: { kind: string }) {
  seen.set(r.kind, (seen.get(r.kind) ?? 0) + 1);
  expect(['activities', 'ignored', 'invalid', 'ping', 'url_verification']).toContain(r.kind);
  if ('activities' in r && Array.isArray(r.activities)) {
    for (const a of r.activities) expect(activityInputSchema.safeParse(a).success).toBe(true);
  }
}

const githubSamples: [string, unknown][] = [
  ['star', star], ['star', { ...star, action: 'deleted', starred_at: null }], ['watch', { ...star, action: 'started' }],
  ['fork', fork], ['issues', issuesOpened], ['issues', { ...issuesOpened, action: 'closed', issue: { ...issuesOpened.issue, closed_at: '2020-01-01T00:00:00Z' } }],
  ['issue_comment', issueComment], ['pull_request', prOpened],
  ['pull_request', { ...prOpened, action: 'closed', pull_request: { ...prOpened.pull_request, merged: true, merged_at: '2020-01-01T00:00:00Z' } }],
  ['discussion', discussionCreated], ['discussion', { ...discussionCreated, action: 'answered' }],
];
const githubEvents = ['ping', 'star', 'watch', 'fork', 'issues', 'issue_comment', 'pull_request', 'pull_request_review',
  'discussion', 'discussion_comment', 'release', 'push', '__proto__', 'toString'];
const runs = { numRuns: 1500 };

describe('normalisers never throw and only emit contract-valid activities', () => {
  afterAll(() => {
    // Guard against a vacuous property: the generators must reach the activity-building paths, not only early exits.
    expect(seen.get('activities') ?? 0).toBeGreaterThan(200);
    expect(seen.get('invalid') ?? 0).toBeGreaterThan(200);
  });

  it('github: arbitrary values', () => {
    fc.assert(fc.property(fc.constantFrom(...githubEvents), fc.anything(), (event, p) => check(normaliseGithub(event, p))), runs);
  });

  it('github: mutated real payloads', () => {
    const arb = fc.oneof(...githubSamples.map(([event, p]) => mutations(p).map((m) => [event, m] as const)));
    fc.assert(fc.property(arb, fc.option(fc.string()), ([event, p], rec) =>
      check(normaliseGithub(event, p, { receivedAt: rec ?? undefined, deliveryId: rec ?? undefined }))), runs);
  });

  it('discourse', () => {
    const arb = fc.oneof(
      mutations(discourseTopic).map((p) => ['topic_created', p] as const),
      mutations(discoursePost).map((p) => ['post_created', p] as const),
      mutations(discoursePost).map((p) => ['accepted_solution', p] as const),
      mutations(discourseUser).map((p) => ['user_created', p] as const),
      fc.tuple(fc.constantFrom('topic_created', 'post_created', 'user_created', 'accepted_solution', 'hasOwnProperty'), fc.anything()),
    );
    fc.assert(fc.property(arb, fc.string(), fc.option(fc.string()), ([event, p], type, url) =>
      check(normaliseDiscourse(event, type, p, url ?? undefined, url ?? undefined))), runs);
  });

  it('slack', () => {
    const arb = fc.oneof(
      mutations(slackEnvelope(slackMessage)),
      mutations(slackEnvelope(slackTeamJoin)),
      mutations(slackEnvelope(slackReaction)),
      fc.anything(),
    );
    fc.assert(fc.property(arb, fc.option(fc.string()), (p, ws) => check(normaliseSlack(p, { workspaceUrl: ws ?? undefined }))), runs);
  });
});
