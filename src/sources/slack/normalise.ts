/**
 * Slack Events API payload → ActivityInput. Pure; never throws.
 *
 * External ids are built from Slack's natural keys (team + channel + message ts, etc.), not from event_id: the same
 * message can arrive under several subscriptions (message.channels, message.groups) with different event_ids, while
 * Slack's retries of one event keep the same keys, so both dedupe.
 */
import * as z from 'zod';
import type { ActivityInput, IdentityInput } from '../../activity/schema';
import { activities, clip, definedOnly, ignored, invalidFrom, unixToIso, type NormaliseResult } from '../result';

export type SlackResult = NormaliseResult | { kind: 'url_verification'; challenge: string };

export interface SlackOptions {
  /** e.g. https://acme.slack.com — used to build message permalinks; payloads carry no workspace URL. */
  workspaceUrl?: string;
}

const slackTs = z.string().regex(/^\d{1,12}(\.\d{1,9})?$/, 'Slack ts like "1355517523.000005"');

const envelopeSchema = z.looseObject({
  type: z.literal('event_callback'),
  team_id: z.string().min(1),
  event_id: z.string().min(1).optional(),
  event_time: z.number().optional(),
  event: z.looseObject({ type: z.string() }),
});

const messageSchema = z.looseObject({
  type: z.literal('message'),
  subtype: z.string().optional(),
  bot_id: z.string().nullish(),
  user: z.string().min(1).optional(),
  channel: z.string().min(1),
  channel_type: z.string().optional(),
  ts: slackTs,
  thread_ts: slackTs.optional(),
  text: z.string().optional(),
});

const teamJoinSchema = z.looseObject({
  type: z.literal('team_join'),
  user: z.looseObject({
    id: z.string().min(1),
    name: z.string().optional(),
    real_name: z.string().optional(),
    is_bot: z.boolean().optional(),
    is_restricted: z.boolean().optional(),
    profile: z.looseObject({
      email: z.string().optional(),
      real_name: z.string().optional(),
      display_name: z.string().optional(),
    }).optional(),
  }),
});

const reactionSchema = z.looseObject({
  type: z.literal('reaction_added'),
  user: z.string().min(1),
  reaction: z.string().min(1),
  item_user: z.string().optional(),
  event_ts: slackTs.optional(),
  item: z.looseObject({ type: z.string(), channel: z.string().optional(), ts: slackTs.optional() }),
});

/**
 * Message subtypes that are still a person writing something. Everything else (bot_message, message_changed,
 * message_deleted, channel_join, channel_topic, …) is an edit, a system notice or automation.
 */
const HUMAN_SUBTYPES = new Set(['thread_broadcast', 'file_share', 'me_message']);

function permalink(workspaceUrl: string | undefined, channel: string, ts: string): string | undefined {
  if (!workspaceUrl) return undefined;
  try {
    const u = new URL(workspaceUrl);
    if (u.protocol !== 'https:') return undefined;
    return `${u.origin}/archives/${channel}/p${ts.replace('.', '')}`;
  } catch {
    return undefined;
  }
}

function build(a: {
  type: string; occurred_at: string; external_id: string; identity: IdentityInput; url?: string | undefined;
  title?: string | undefined; properties: Record<string, unknown>;
}): ActivityInput {
  const out: ActivityInput = {
    source: 'slack', type: a.type, occurred_at: a.occurred_at, external_id: a.external_id,
    member: { identities: [a.identity] }, properties: definedOnly(a.properties),
  };
  if (a.url) out.url = a.url;
  const title = clip(a.title, 140);
  if (title) out.title = title;
  return out;
}

const urlVerificationSchema = z.looseObject({ type: z.literal('url_verification'), challenge: z.string() });

export function normaliseSlack(payload: unknown, opts: SlackOptions = {}): SlackResult {
  const uv = urlVerificationSchema.safeParse(payload);
  if (uv.success) return { kind: 'url_verification', challenge: uv.data.challenge };

  const kind = z.looseObject({ type: z.string() }).safeParse(payload);
  if (!kind.success) return invalidFrom(kind.error);
  if (kind.data.type !== 'event_callback') return ignored(`slack payload type "${kind.data.type}" is not tracked`);
  const env = envelopeSchema.safeParse(payload);
  if (!env.success) return invalidFrom(env.error);
  const { team_id: team, event_time: eventTime, event } = env.data;
  const prefix = (e: z.ZodError) => {
    const r = invalidFrom(e);
    return { ...r, issues: r.issues.map((i) => ({ ...i, path: `event.${i.path}` })) };
  };

  if (event.type === 'message') {
    const r = messageSchema.safeParse(event);
    if (!r.success) return prefix(r.error);
    const m = r.data;
    if (m.bot_id || m.subtype === 'bot_message') return ignored('slack bot messages are not recorded');
    if (m.subtype && !HUMAN_SUBTYPES.has(m.subtype)) return ignored(`slack message subtype "${m.subtype}" is not tracked`);
    // Direct messages with the app are private conversations, not community activity.
    if (m.channel_type === 'im' || m.channel_type === 'mpim') return ignored('slack direct messages are not recorded');
    if (!m.user) return { kind: 'invalid', issues: [{ path: 'event.user', message: 'required for a human message' }] };
    const at = unixToIso(m.ts);
    if (!at) return { kind: 'invalid', issues: [{ path: 'event.ts', message: 'not a timestamp' }] };
    return activities(build({
      type: 'slack.message', occurred_at: at, external_id: `message:${team}:${m.channel}:${m.ts}`,
      identity: { source: 'slack', id: m.user }, url: permalink(opts.workspaceUrl, m.channel, m.ts),
      title: m.text,
      properties: {
        team_id: team, channel: m.channel, channel_type: m.channel_type, ts: m.ts, thread_ts: m.thread_ts,
        is_reply: m.thread_ts !== undefined && m.thread_ts !== m.ts, subtype: m.subtype,
      },
    }));
  }

  if (event.type === 'team_join') {
    const r = teamJoinSchema.safeParse(event);
    if (!r.success) return prefix(r.error);
    const u = r.data.user;
    if (u.is_bot) return ignored('slack bot users are not recorded');
    const at = eventTime !== undefined ? unixToIso(eventTime) : undefined;
    if (!at) return { kind: 'invalid', issues: [{ path: 'event_time', message: 'required for team_join' }] };
    // Email needs the users:read.email scope. Slack confirms addresses at sign-up but does not assert verification in
    // the event, so email_verified is left unset: identity resolution treats it as a claimed address.
    const identity: IdentityInput = { source: 'slack', id: u.id };
    const handle = clip(u.profile?.display_name || u.name, 256);
    if (handle) identity.handle = handle;
    const name = clip(u.real_name || u.profile?.real_name, 256);
    if (name) identity.name = name;
    const email = clip(u.profile?.email, 320);
    if (email) identity.email = email;
    return activities(build({
      type: 'slack.team_join', occurred_at: at, external_id: `team_join:${team}:${u.id}`, identity,
      title: `Joined Slack as ${handle ?? u.id}`, properties: { team_id: team, is_guest: u.is_restricted },
    }));
  }

  if (event.type === 'reaction_added') {
    const r = reactionSchema.safeParse(event);
    if (!r.success) return prefix(r.error);
    const e = r.data;
    const at = (e.event_ts && unixToIso(e.event_ts)) || (eventTime !== undefined ? unixToIso(eventTime) : undefined);
    if (!at) return { kind: 'invalid', issues: [{ path: 'event.event_ts', message: 'required for reaction_added' }] };
    const target = e.item.channel && e.item.ts ? `${e.item.channel}:${e.item.ts}` : `${e.item.type}:${e.event_ts ?? at}`;
    return activities(build({
      type: 'slack.reaction_added', occurred_at: at, external_id: `reaction:${team}:${target}:${e.user}:${e.reaction}`,
      identity: { source: 'slack', id: e.user },
      url: e.item.channel && e.item.ts ? permalink(opts.workspaceUrl, e.item.channel, e.item.ts) : undefined,
      title: `:${e.reaction}:`,
      properties: {
        team_id: team, reaction: e.reaction, item_type: e.item.type, channel: e.item.channel, item_ts: e.item.ts,
        item_user: e.item_user,
      },
    }));
  }

  return ignored(`slack event "${event.type}" is not tracked`);
}
