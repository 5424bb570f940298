import { describe, expect, it } from 'vitest';
import { activityInputSchema, type ActivityInput } from '../../activity/schema';
import { normaliseDiscourse, type DiscourseResult } from './normalise';
import { discoursePost as post, discourseTopic as topic, discourseUser as user } from '../testing/samples';

function one(result: DiscourseResult): ActivityInput {
  expect(result.kind).toBe('activities');
  if (result.kind !== 'activities') throw new Error('unreachable');
  expect(result.activities).toHaveLength(1);
  expect(activityInputSchema.safeParse(result.activities[0]).success).toBe(true);
  return result.activities[0]!;
}

const forum = 'https://forum.example.com/';

describe('normaliseDiscourse', () => {
  it('topic_created → discourse.topic.created', () => {
    const a = one(normaliseDiscourse('topic_created', 'topic', topic, forum));
    expect(a).toEqual({
      source: 'discourse', type: 'discourse.topic.created', occurred_at: '2024-03-05T10:15:30.123Z',
      external_id: 'topic:1234',
      member: { identities: [{ source: 'discourse', id: '77', handle: 'ada', name: 'Ada Lovelace', is_bot: false }] },
      url: 'https://forum.example.com/t/how-do-i-configure-sso-with-okta/1234',
      title: 'How do I configure SSO with Okta?', properties: { topic_id: 1234, category_id: 4 },
    });
    expect(one(normaliseDiscourse('topic_created', 'topic', structuredClone(topic), forum)).external_id).toBe('topic:1234');
  });

  it('post_created → discourse.post.created; no url without instance URL', () => {
    const a = one(normaliseDiscourse('post_created', 'post', post, 'https://community.acme.io/forum'));
    expect(a).toEqual({
      source: 'discourse', type: 'discourse.post.created', occurred_at: '2024-03-05T11:00:00.000Z', external_id: 'post:9876',
      member: { identities: [{ source: 'discourse', id: '88', handle: 'grace', name: 'Grace Hopper', is_bot: false }] },
      url: 'https://community.acme.io/forum/t/how-do-i-configure-sso-with-okta/1234/2',
      title: 'How do I configure SSO with Okta?', properties: { topic_id: 1234, post_number: 2, category_id: 4 },
    });
    expect(one(normaliseDiscourse('post_created', 'post', post)).url).toBeUndefined();
    expect(one(normaliseDiscourse('post_created', 'post', post, 'javascript:alert(1)')).url).toBeUndefined();
  });

  it('user_created → discourse.user.created with the email the payload carries', () => {
    const a = one(normaliseDiscourse('user_created', 'user', user, forum));
    expect(a).toMatchObject({
      type: 'discourse.user.created', external_id: 'user:99:created', occurred_at: '2024-03-01T08:00:00.000Z',
      url: 'https://forum.example.com/u/linus',
      member: { identities: [{ source: 'discourse', id: '99', handle: 'linus', name: 'Linus T', email: 'linus@example.org', is_bot: false }] },
    });
  });

  it('accepted_solution → discourse.solution.accepted credited to the answer author, any wrapping', () => {
    for (const payload of [post, { solved: post.post }, post.post]) {
      const a = one(normaliseDiscourse('accepted_solution', 'solved', payload, forum, '2024-03-06T09:00:00Z'));
      expect(a).toMatchObject({
        type: 'discourse.solution.accepted', external_id: 'solution:9876', occurred_at: '2024-03-06T09:00:00.000Z',
        member: { identities: [{ id: '88', handle: 'grace' }] }, properties: { post_id: 9876, topic_id: 1234 },
      });
    }
    expect(one(normaliseDiscourse('accepted_solution', 'solved', post)).occurred_at).toBe('2024-03-05T11:00:00.000Z');
  });

  it('ignores first posts, private messages, non-regular posts, system events and unknown events, with reasons', () => {
    const first = { post: { ...post.post, post_number: 1 } };
    expect(normaliseDiscourse('post_created', 'post', first)).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('first post') });
    const pm = { post: { ...post.post, topic_archetype: 'private_message' } };
    expect(normaliseDiscourse('post_created', 'post', pm)).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('private') });
    const pmTopic = { topic: { ...topic.topic, archetype: 'private_message' } };
    expect(normaliseDiscourse('topic_created', 'topic', pmTopic).kind).toBe('ignored');
    const small = { post: { ...post.post, post_type: 3 } };
    expect(normaliseDiscourse('post_created', 'post', small).kind).toBe('ignored');
    expect(normaliseDiscourse('post_edited', 'post', post)).toEqual({ kind: 'ignored', reason: 'discourse event "post_edited" (post) is not tracked' });
    expect(normaliseDiscourse('unaccepted_solution', 'solved', post).kind).toBe('ignored');
    expect(normaliseDiscourse('ping', 'ping', { ping: 'OK' })).toEqual({ kind: 'ping' });
  });

  it('marks Discourse system users as bots', () => {
    const sys = { post: { ...post.post, user_id: -1, username: 'system' } };
    expect(one(normaliseDiscourse('post_created', 'post', sys)).member.identities[0]?.is_bot).toBe(true);
  });

  it('malformed payloads → invalid with path', () => {
    const { created_by: _c, ...noAuthor } = topic.topic;
    expect(normaliseDiscourse('topic_created', 'topic', { topic: noAuthor })).toMatchObject({
      kind: 'invalid', issues: [{ path: 'topic.created_by' }],
    });
    expect(normaliseDiscourse('post_created', 'post', { post: { ...post.post, created_at: 'never' } })).toMatchObject({
      kind: 'invalid', issues: [{ path: 'post.created_at' }],
    });
    expect(normaliseDiscourse('user_created', 'user', null)).toMatchObject({ kind: 'invalid' });
  });
});
