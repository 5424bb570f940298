/**
 * Discourse webhook payload → ActivityInput. Pure; never throws.
 *
 * Discourse sends X-Discourse-Event (topic_created, post_created, user_created, accepted_solution, ping, …) and
 * X-Discourse-Event-Type (topic, post, user, solved, ping). The body wraps the serialised record under its type:
 * `{topic: {...}}`, `{post: {...}}`, `{user: {...}}`. The Solved plugin sends the accepted post; depending on version it
 * sits under `post`, under `solved`, or unwrapped, so all three are accepted.
 *
 * Identity id is the numeric user id (stable across username renames); the username is the handle.
 */
import * as z from 'zod';
import type { ActivityInput, IdentityInput } from '../../activity/schema';
import { activities, clip, definedOnly, ignored, invalidFrom, isoTime, type NormaliseResult, type PingResult } from '../result';

export type DiscourseResult = NormaliseResult | PingResult;

const topicSchema = z.looseObject({
  id: z.number().int(),
  title: z.string(),
  slug: z.string(),
  created_at: isoTime,
  archetype: z.string().optional(),
  category_id: z.number().int().nullish(),
  created_by: z.looseObject({ id: z.number().int(), username: z.string().min(1), name: z.string().nullish() }),
});

const postSchema = z.looseObject({
  id: z.number().int(),
  topic_id: z.number().int(),
  post_number: z.number().int(),
  post_type: z.number().int().optional(),
  user_id: z.number().int(),
  username: z.string().min(1),
  name: z.string().nullish(),
  created_at: isoTime,
  updated_at: isoTime.optional(),
  topic_title: z.string().optional(),
  topic_slug: z.string().optional(),
  topic_archetype: z.string().optional(),
  category_id: z.number().int().nullish(),
});
type Post = z.infer<typeof postSchema>;

const userSchema = z.looseObject({
  id: z.number().int(),
  username: z.string().min(1),
  name: z.string().nullish(),
  email: z.string().nullish(),
  created_at: isoTime,
});

/** Discourse's built-in system (-1) and discobot (-2) users have non-positive ids. */
function identity(id: number, username: string, name?: string | null, email?: string | null): IdentityInput {
  const out: IdentityInput = { source: 'discourse', id: String(id), handle: username, is_bot: id <= 0 };
  const n = clip(name, 256);
  if (n) out.name = n;
  const e = clip(email, 320);
  if (e) out.email = e;
  return out;
}

/** Base URL without trailing slash, or undefined when not a valid http(s) URL (then activities carry no url). */
function baseUrl(instanceUrl: string | undefined): string | undefined {
  if (!instanceUrl) return undefined;
  try {
    const u = new URL(instanceUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
    return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

function activity(a: Omit<ActivityInput, 'source' | 'url' | 'title'> & { url: string | undefined; title?: string | undefined }): ActivityInput {
  const out: ActivityInput = {
    source: 'discourse', type: a.type, occurred_at: a.occurred_at, external_id: a.external_id, member: a.member,
    properties: definedOnly(a.properties ?? {}),
  };
  if (a.url) out.url = a.url;
  const title = clip(a.title, 512);
  if (title) out.title = title;
  return out;
}

const postUrl = (base: string | undefined, p: Post) =>
  base ? `${base}/t/${encodeURIComponent(p.topic_slug || 'topic')}/${p.topic_id}/${p.post_number}` : undefined;

const anyRecord = z.record(z.string(), z.unknown());

function unwrap(payload: unknown, keys: string[]): unknown {
  const obj = anyRecord.safeParse(payload);
  if (obj.success) for (const k of keys) if (Object.hasOwn(obj.data, k)) return obj.data[k];
  return payload;
}

const PRIVATE = 'private_message';
/** Discourse post types: 1 regular, 2 moderator action, 3 small action ("closed this topic"), 4 whisper. */
const REGULAR_POST = 1;

/**
 * @param event X-Discourse-Event, e.g. "post_created"
 * @param eventType X-Discourse-Event-Type, e.g. "post"
 * @param instanceUrl the forum's base URL, used to build links (payloads carry only relative paths)
 * @param receivedAt ISO time of receipt; only used for accepted_solution, whose payload has no acceptance time
 */
export function normaliseDiscourse(
  event: string,
  eventType: string,
  payload: unknown,
  instanceUrl?: string,
  receivedAt?: string,
): DiscourseResult {
  if (event === 'ping' || eventType === 'ping') return { kind: 'ping' };
  const base = baseUrl(instanceUrl);

  if (event === 'topic_created') {
    const r = z.looseObject({ topic: topicSchema }).safeParse(payload);
    if (!r.success) return invalidFrom(r.error);
    const t = r.data.topic;
    // Private messages are personal conversations, not community activity; never store them.
    if (t.archetype === PRIVATE) return ignored('discourse private message topics are not recorded');
    return activities(activity({
      type: 'discourse.topic.created', occurred_at: t.created_at, external_id: `topic:${t.id}`,
      member: { identities: [identity(t.created_by.id, t.created_by.username, t.created_by.name)] },
      url: base ? `${base}/t/${encodeURIComponent(t.slug || 'topic')}/${t.id}` : undefined, title: t.title,
      properties: { topic_id: t.id, category_id: t.category_id ?? undefined },
    }));
  }

  if (event === 'post_created') {
    const r = z.looseObject({ post: postSchema }).safeParse(payload);
    if (!r.success) return invalidFrom(r.error);
    const p = r.data.post;
    if (p.topic_archetype === PRIVATE) return ignored('discourse private message posts are not recorded');
    if (p.post_type !== undefined && p.post_type !== REGULAR_POST) return ignored(`discourse post_type ${p.post_type} is not a regular post`);
    // Post #1 is the topic body; topic_created already records that act, so counting it again would double it.
    if (p.post_number === 1) return ignored('first post of a topic is recorded as discourse.topic.created');
    return activities(activity({
      type: 'discourse.post.created', occurred_at: p.created_at, external_id: `post:${p.id}`,
      member: { identities: [identity(p.user_id, p.username, p.name)] },
      url: postUrl(base, p), title: p.topic_title,
      properties: { topic_id: p.topic_id, post_number: p.post_number, category_id: p.category_id ?? undefined },
    }));
  }

  if (event === 'user_created') {
    const r = z.looseObject({ user: userSchema }).safeParse(payload);
    if (!r.success) return invalidFrom(r.error);
    const u = r.data.user;
    return activities(activity({
      type: 'discourse.user.created', occurred_at: u.created_at, external_id: `user:${u.id}:created`,
      member: { identities: [identity(u.id, u.username, u.name, u.email)] },
      url: base ? `${base}/u/${encodeURIComponent(u.username)}` : undefined, title: `Joined as ${u.username}`,
      properties: {},
    }));
  }

  if (event === 'accepted_solution') {
    const r = postSchema.safeParse(unwrap(payload, ['post', 'solved']));
    if (!r.success) return invalidFrom(r.error);
    const p = r.data;
    if (p.topic_archetype === PRIVATE) return ignored('discourse private message posts are not recorded');
    // Credit goes to the author of the accepted answer. The payload has no acceptance time: prefer receipt time,
    // else the post's own times. One accepted solution per post, so the post id alone dedupes redeliveries.
    const at = (receivedAt && isoTime.safeParse(receivedAt).data) || p.updated_at || p.created_at;
    return activities(activity({
      type: 'discourse.solution.accepted', occurred_at: at, external_id: `solution:${p.id}`,
      member: { identities: [identity(p.user_id, p.username, p.name)] },
      url: postUrl(base, p), title: p.topic_title,
      properties: { topic_id: p.topic_id, post_id: p.id, post_number: p.post_number, category_id: p.category_id ?? undefined },
    }));
  }

  return ignored(`discourse event "${event}" (${eventType}) is not tracked`);
}
