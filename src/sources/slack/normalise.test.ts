import { describe, expect, it } from 'vitest';
import { activityInputSchema, type ActivityInput } from '../../activity/schema';
import { normaliseSlack, type SlackResult } from './normalise';
import { slackEnvelope as envelope, slackMessage as message, slackReaction, slackTeamJoin } from '../testing/samples';

function one(result: SlackResult): ActivityInput {
  expect(result.kind).toBe('activities');
  if (result.kind !== 'activities') throw new Error('unreachable');
  expect(result.activities).toHaveLength(1);
  expect(activityInputSchema.safeParse(result.activities[0]).success).toBe(true);
  return result.activities[0]!;
}

describe('normaliseSlack', () => {
  it('url_verification → challenge', () => {
    expect(normaliseSlack({ token: 't', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' }))
      .toEqual({ kind: 'url_verification', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('message → slack.message keyed by team, channel and ts (stable across retries and event ids)', () => {
    const a = one(normaliseSlack(envelope(message), { workspaceUrl: 'https://acme.slack.com' }));
    expect(a).toEqual({
      source: 'slack', type: 'slack.message', occurred_at: '2024-03-21T05:46:40.000Z',
      external_id: 'message:T123ABC456:C123ABC456:1711000000.000200',
      member: { identities: [{ source: 'slack', id: 'U123ABC456' }] },
      url: 'https://acme.slack.com/archives/C123ABC456/p1711000000000200',
      title: 'Has anyone wired the SDK into Next.js 15?',
      properties: { team_id: 'T123ABC456', channel: 'C123ABC456', channel_type: 'channel', ts: '1711000000.000200', is_reply: false },
    });
    const retried = { ...envelope(message), event_id: 'Ev999' };
    expect(one(normaliseSlack(retried)).external_id).toBe(a.external_id);
  });

  it('thread replies and thread broadcasts are messages', () => {
    const reply = { ...message, ts: '1711000100.000300', thread_ts: '1711000000.000200', subtype: 'thread_broadcast' };
    expect(one(normaliseSlack(envelope(reply))).properties).toMatchObject({ is_reply: true, subtype: 'thread_broadcast' });
  });

  it('ignores bot messages, edits, deletions, joins and DMs with reasons', () => {
    for (const ev of [
      { ...message, bot_id: 'B123' },
      { ...message, subtype: 'bot_message', user: undefined },
      { ...message, subtype: 'message_changed' },
      { ...message, subtype: 'message_deleted' },
      { ...message, subtype: 'channel_join' },
      { ...message, channel_type: 'im' },
    ]) {
      const r = normaliseSlack(envelope(ev));
      expect(r.kind).toBe('ignored');
      if (r.kind === 'ignored') expect(r.reason).toMatch(/^slack /);
    }
  });

  it('team_join → slack.team_join with profile email, names and no email_verified claim', () => {
    const ev = slackTeamJoin;
    const a = one(normaliseSlack(envelope(ev)));
    expect(a).toMatchObject({
      type: 'slack.team_join', external_id: 'team_join:T123ABC456:U0NEW', occurred_at: '2024-03-21T05:46:40.000Z',
      properties: { team_id: 'T123ABC456', is_guest: false },
    });
    expect(a.member.identities).toEqual([{ source: 'slack', id: 'U0NEW', handle: 'ada.l', name: 'Ada Lovelace', email: 'ada@acme.io' }]);
    expect(normaliseSlack(envelope({ ...ev, user: { ...ev.user, is_bot: true } })).kind).toBe('ignored');
  });

  it('reaction_added → slack.reaction_added', () => {
    const ev = slackReaction;
    const a = one(normaliseSlack(envelope(ev)));
    expect(a).toMatchObject({
      type: 'slack.reaction_added', occurred_at: '2013-02-13T19:13:24.083Z',
      external_id: 'reaction:T123ABC456:C0G9QF9GZ:1360782400.498405:U024BE7LH:thumbsup',
      member: { identities: [{ source: 'slack', id: 'U024BE7LH' }] },
      properties: { reaction: 'thumbsup', item_user: 'U0G9QF9C6', team_id: 'T123ABC456' },
    });
  });

  it('unknown events and payload types → ignored; malformed → invalid with path', () => {
    expect(normaliseSlack(envelope({ type: 'app_mention', user: 'U1', text: 'hi', ts: '1.2', channel: 'C1' })))
      .toEqual({ kind: 'ignored', reason: 'slack event "app_mention" is not tracked' });
    expect(normaliseSlack({ type: 'app_rate_limited', minute_rate_limited: 1 }).kind).toBe('ignored');
    const noChannel: Record<string, unknown> = { ...message };
    delete noChannel.channel;
    expect(normaliseSlack(envelope(noChannel))).toMatchObject({ kind: 'invalid', issues: [{ path: 'event.channel' }] });
    const { team_id: _t, ...noTeam } = envelope(message);
    expect(normaliseSlack(noTeam)).toMatchObject({ kind: 'invalid', issues: [{ path: 'team_id' }] });
    expect(normaliseSlack('nope')).toMatchObject({ kind: 'invalid' });
  });

  it('values the activity contract refuses become invalid (final gate), not bad activities', () => {
    expect(normaliseSlack(envelope({ ...message, user: '   ' }))).toMatchObject({
      kind: 'invalid', issues: [{ path: 'activity.member.identities.0.id' }],
    });
    expect(normaliseSlack({ ...envelope(message), team_id: 'T'.repeat(600) })).toMatchObject({
      kind: 'invalid', issues: [{ path: 'activity.external_id' }],
    });
  });
});
