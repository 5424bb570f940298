import { describe, expect, it } from 'vitest';
import { activityInputSchema, type ActivityInput } from '../../activity/schema';
import { normaliseGithub, type GithubResult } from './normalise';
import ping from '../../../test/fixtures/github/ping.payload.json';
import star from '../../../test/fixtures/github/star.created.payload.json';
import fork from '../../../test/fixtures/github/fork.payload.json';
import issuesOpened from '../../../test/fixtures/github/issues.opened.payload.json';
import issuesOpenedEmpty from '../../../test/fixtures/github/issues.opened.with-empty-body.payload.json';
import issueComment from '../../../test/fixtures/github/issue_comment.created.payload.json';
import prOpened from '../../../test/fixtures/github/pull_request.opened.payload.json';
import prOpenedNullBody from '../../../test/fixtures/github/pull_request.opened.with-null-body.json';
import discussionCreated from '../../../test/fixtures/github/discussion.created.payload.json';

const clone = <T>(v: T): T => structuredClone(v);

/** Exactly one activity, valid against the shared contract; fails the test otherwise. */
function one(result: GithubResult): ActivityInput {
  expect(result.kind).toBe('activities');
  if (result.kind !== 'activities') throw new Error('unreachable');
  expect(result.activities).toHaveLength(1);
  const a = result.activities[0]!;
  expect(activityInputSchema.safeParse(a).success).toBe(true);
  return a;
}

const codertocat = { source: 'github', id: '21031067', handle: 'Codertocat', is_bot: false };
const helloWorld = { repo: 'Codertocat/Hello-World', repo_id: 186853002, repo_private: false };

describe('normaliseGithub on the real octokit/webhooks payloads', () => {
  it('ping → ping', () => {
    expect(normaliseGithub('ping', ping)).toEqual({ kind: 'ping' });
  });

  it('star.created → github.star', () => {
    const a = one(normaliseGithub('star', star));
    expect(a).toEqual({
      source: 'github',
      type: 'github.star',
      occurred_at: '2019-05-15T15:20:40.000Z',
      external_id: 'star:186853002:21031067:2019-05-15T15:20:40.000Z',
      member: { identities: [codertocat] },
      url: 'https://github.com/Codertocat/Hello-World',
      title: 'Starred Codertocat/Hello-World',
      properties: helloWorld,
    });
    expect(one(normaliseGithub('star', clone(star))).external_id).toBe(a.external_id);
  });

  it('fork → github.fork by the forking organisation', () => {
    const a = one(normaliseGithub('fork', fork));
    expect(a).toEqual({
      source: 'github',
      type: 'github.fork',
      occurred_at: '2019-05-15T15:20:42.000Z',
      external_id: 'fork:186853261',
      member: { identities: [{ source: 'github', id: '38302899', handle: 'Octocoders', is_bot: false }] },
      url: 'https://github.com/Octocoders/Hello-World',
      title: 'Forked Codertocat/Hello-World to Octocoders/Hello-World',
      properties: { ...helloWorld, fork: 'Octocoders/Hello-World', fork_id: 186853261 },
    });
    expect(one(normaliseGithub('fork', clone(fork))).external_id).toBe('fork:186853261');
  });

  it.each([
    ['issues.opened', issuesOpened],
    ['issues.opened.with-empty-body', issuesOpenedEmpty],
  ])('%s → github.issues.opened', (_name, payload) => {
    const a = one(normaliseGithub('issues', payload));
    expect(a).toEqual({
      source: 'github',
      type: 'github.issues.opened',
      occurred_at: '2019-05-15T15:20:18.000Z',
      external_id: 'issue:444500041:opened',
      member: { identities: [codertocat] },
      url: 'https://github.com/Codertocat/Hello-World/issues/1',
      title: 'Spelling error in the README file',
      properties: { ...helloWorld, number: 1, author: 'Codertocat' },
    });
    expect(one(normaliseGithub('issues', clone(payload))).external_id).toBe(a.external_id);
  });

  it('issue_comment.created → github.issue_comment.created', () => {
    const a = one(normaliseGithub('issue_comment', issueComment));
    expect(a).toEqual({
      source: 'github',
      type: 'github.issue_comment.created',
      occurred_at: '2019-05-15T15:20:21.000Z',
      external_id: 'issue_comment:492700400',
      member: { identities: [codertocat] },
      url: 'https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400',
      title: 'Spelling error in the README file',
      properties: { ...helloWorld, number: 1, is_pull_request: false },
    });
    expect(one(normaliseGithub('issue_comment', clone(issueComment))).external_id).toBe(a.external_id);
  });

  it.each([
    ['pull_request.opened', prOpened],
    ['pull_request.opened.with-null-body', prOpenedNullBody],
  ])('%s → github.pull_request.opened', (_name, payload) => {
    const a = one(normaliseGithub('pull_request', payload));
    expect(a).toEqual({
      source: 'github',
      type: 'github.pull_request.opened',
      occurred_at: '2019-05-15T15:20:33.000Z',
      external_id: 'pr:279147437:opened',
      member: { identities: [codertocat] },
      url: 'https://github.com/Codertocat/Hello-World/pull/2',
      title: 'Update the README with new information.',
      properties: { ...helloWorld, number: 2, author: 'Codertocat', draft: false },
    });
    expect(one(normaliseGithub('pull_request', clone(payload))).external_id).toBe(a.external_id);
  });

  it('discussion.created → github.discussion.created', () => {
    const a = one(normaliseGithub('discussion', discussionCreated));
    expect(a).toEqual({
      source: 'github',
      type: 'github.discussion.created',
      occurred_at: '2021-03-30T20:09:52.000Z',
      external_id: 'discussion:3299614:created',
      member: { identities: [codertocat] },
      url: 'https://github.com/Codertocat/Hello-World/discussions/4',
      title: 'TEST edit',
      properties: { ...helloWorld, number: 4, category: 'General' },
    });
    expect(one(normaliseGithub('discussion', clone(discussionCreated))).external_id).toBe(a.external_id);
  });
});

/** Small payloads in GitHub's documented shapes, built from the real ones so only the event-specific part is invented. */
const base = { repository: clone(star.repository), sender: clone(star.sender) };
const maintainer = { login: 'maint', id: 99, type: 'User' };

describe('normaliseGithub on documented shapes without a shared payload', () => {
  it('star.deleted → github.unstar, timed by repository.updated_at (GitHub sends starred_at: null)', () => {
    const a = one(normaliseGithub('star', { ...clone(base), action: 'deleted', starred_at: null }));
    expect(a.type).toBe('github.unstar');
    expect(a.occurred_at).toBe('2019-05-15T15:20:40.000Z');
    expect(a.external_id).toBe('unstar:186853002:21031067:2019-05-15T15:20:40.000Z');
  });

  it('star.deleted without repository.updated_at falls back to delivery id and receipt time', () => {
    const p = clone(base) as { repository: Record<string, unknown> };
    delete p.repository.updated_at;
    const ctx = { deliveryId: 'd-1', receivedAt: '2024-01-02T03:04:05Z' };
    const a = one(normaliseGithub('star', { ...p, action: 'deleted', starred_at: null }, ctx));
    expect(a.external_id).toBe('unstar:186853002:21031067:d-1');
    expect(a.occurred_at).toBe('2024-01-02T03:04:05.000Z');
    expect(normaliseGithub('star', { ...p, action: 'deleted', starred_at: null })).toMatchObject({
      kind: 'invalid', issues: [{ path: 'repository.updated_at' }],
    });
  });

  it('watch.started → github.watch', () => {
    const a = one(normaliseGithub('watch', { ...clone(base), action: 'started' }));
    expect(a).toMatchObject({ type: 'github.watch', external_id: 'watch:186853002:21031067:2019-05-15T15:20:40.000Z' });
  });

  it('issues.closed → github.issues.closed by the closer, keyed by closed_at', () => {
    const issue = { ...clone(issuesOpened.issue), state: 'closed', closed_at: '2019-05-16T10:00:00Z', state_reason: 'completed' };
    const a = one(normaliseGithub('issues', { ...clone(base), action: 'closed', issue, sender: maintainer }));
    expect(a).toMatchObject({
      type: 'github.issues.closed', occurred_at: '2019-05-16T10:00:00.000Z',
      external_id: 'issue:444500041:closed:2019-05-16T10:00:00.000Z',
      member: { identities: [{ id: '99', handle: 'maint' }] },
      properties: { state_reason: 'completed', author: 'Codertocat' },
    });
  });

  const closedPr = (merged: boolean) => ({
    ...clone(prOpened.pull_request), state: 'closed', merged, closed_at: '2019-05-17T09:00:00Z',
    merged_at: merged ? '2019-05-17T09:00:00Z' : null, merged_by: merged ? maintainer : null,
  });

  it('pull_request.closed merged → github.pull_request.merged credited to the author', () => {
    const a = one(normaliseGithub('pull_request', { ...clone(base), action: 'closed', pull_request: closedPr(true), sender: maintainer }));
    expect(a).toMatchObject({
      type: 'github.pull_request.merged', external_id: 'pr:279147437:merged', occurred_at: '2019-05-17T09:00:00.000Z',
      member: { identities: [codertocat] }, properties: { merged_by: 'maint' },
    });
  });

  it('pull_request.closed unmerged → github.pull_request.closed by the closer', () => {
    const a = one(normaliseGithub('pull_request', { ...clone(base), action: 'closed', pull_request: closedPr(false), sender: maintainer }));
    expect(a).toMatchObject({
      type: 'github.pull_request.closed', external_id: 'pr:279147437:closed:2019-05-17T09:00:00.000Z',
      member: { identities: [{ id: '99' }] },
    });
  });

  it('pull_request_review.submitted → github.pull_request_review.submitted', () => {
    const review = {
      id: 237895671, user: maintainer, body: null, state: 'APPROVED', submitted_at: '2019-05-15T15:20:38Z',
      html_url: 'https://github.com/Codertocat/Hello-World/pull/2#pullrequestreview-237895671',
    };
    const a = one(normaliseGithub('pull_request_review', {
      ...clone(base), action: 'submitted', review, pull_request: clone(prOpened.pull_request), sender: maintainer,
    }));
    expect(a).toMatchObject({
      type: 'github.pull_request_review.submitted', external_id: 'pr_review:237895671',
      occurred_at: '2019-05-15T15:20:38.000Z', url: review.html_url, properties: { state: 'approved', number: 2 },
    });
  });

  it('discussion.answered → github.discussion.answered credited to the answer author', () => {
    const answerer = { login: 'helper', id: 7, type: 'User' };
    const discussion = { ...clone(discussionCreated.discussion), answer_chosen_at: '2021-03-31T08:00:00Z' };
    const answer = {
      id: 555, user: answerer, created_at: '2021-03-30T21:00:00Z', updated_at: '2021-03-30T21:00:00Z',
      html_url: 'https://github.com/Codertocat/Hello-World/discussions/4#discussioncomment-555', body: 'Try this',
    };
    const a = one(normaliseGithub('discussion', { ...clone(base), action: 'answered', discussion, answer }));
    expect(a).toMatchObject({
      type: 'github.discussion.answered', external_id: 'discussion:3299614:answered:555',
      occurred_at: '2021-03-31T08:00:00.000Z', member: { identities: [{ id: '7', handle: 'helper' }] },
      properties: { answer_chosen_by: 'Codertocat' },
    });
  });

  it('discussion_comment.created → github.discussion_comment.created', () => {
    const comment = {
      id: 556, user: clone(star.sender), created_at: '2021-03-30T21:05:00Z', updated_at: '2021-03-30T21:05:00Z',
      html_url: 'https://github.com/Codertocat/Hello-World/discussions/4#discussioncomment-556', body: 'Thanks',
    };
    const a = one(normaliseGithub('discussion_comment', {
      ...clone(base), action: 'created', discussion: clone(discussionCreated.discussion), comment,
    }));
    expect(a).toMatchObject({ type: 'github.discussion_comment.created', external_id: 'discussion_comment:556', title: 'TEST edit' });
  });

  it('release.published → github.release.published', () => {
    const release = {
      id: 11248810, tag_name: '0.0.1', name: null, draft: false, prerelease: false,
      created_at: '2019-05-15T15:19:25Z', published_at: '2019-05-15T15:20:53Z',
      html_url: 'https://github.com/Codertocat/Hello-World/releases/tag/0.0.1',
    };
    const a = one(normaliseGithub('release', { ...clone(base), action: 'published', release }));
    expect(a).toMatchObject({
      type: 'github.release.published', external_id: 'release:11248810:published', title: '0.0.1',
      occurred_at: '2019-05-15T15:20:53.000Z', properties: { tag: '0.0.1', prerelease: false },
    });
  });

  it('marks GitHub App bots', () => {
    const bot = { login: 'dependabot[bot]', id: 49699333, type: 'Bot' };
    const a = one(normaliseGithub('pull_request', { ...clone(prOpened), sender: bot }));
    expect(a.member.identities[0]).toEqual({ source: 'github', id: '49699333', handle: 'dependabot[bot]', is_bot: true });
    const b = one(normaliseGithub('star', { ...clone(star), sender: { ...bot, type: 'User' } }));
    expect(b.member.identities[0]?.is_bot).toBe(true);
    const c = one(normaliseGithub('star', { ...clone(star), sender: { login: 'renovate', id: 2, type: 'Bot' } }));
    expect(c.member.identities[0]?.is_bot).toBe(true);
  });
});

describe('normaliseGithub: ignored and invalid', () => {
  it('unknown event → ignored with reason', () => {
    expect(normaliseGithub('push', { ref: 'refs/heads/main' })).toEqual({ kind: 'ignored', reason: 'github event "push" is not tracked' });
    // Prototype keys are not events.
    expect(normaliseGithub('constructor', {}).kind).toBe('ignored');
  });

  it('unknown action → ignored with reason', () => {
    expect(normaliseGithub('issues', { ...clone(issuesOpened), action: 'labeled' })).toEqual({
      kind: 'ignored', reason: 'github issues.labeled is not tracked',
    });
    expect(normaliseGithub('pull_request', { ...clone(prOpened), action: 'synchronize' }).kind).toBe('ignored');
  });

  it('non-http URLs are refused', () => {
    const p = { ...clone(star), repository: { ...clone(star.repository), html_url: 'javascript:alert(1)' } };
    expect(normaliseGithub('star', p)).toMatchObject({ kind: 'invalid', issues: [{ path: 'repository.html_url' }] });
  });

  it('missing sender → invalid with path', () => {
    const { sender: _sender, ...noSender } = clone(issuesOpened);
    const r = normaliseGithub('issues', noSender);
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid') expect(r.issues.map((i) => i.path)).toContain('sender');
  });

  it('bad timestamp and missing action → invalid with path', () => {
    const r = normaliseGithub('star', { ...clone(star), starred_at: 'yesterday' });
    expect(r).toMatchObject({ kind: 'invalid', issues: [{ path: 'starred_at', message: 'not a timestamp' }] });
    const { action: _a, ...noAction } = clone(star);
    expect(normaliseGithub('star', noAction)).toMatchObject({ kind: 'invalid', issues: [{ path: 'action' }] });
  });
});
