/**
 * Test-only: realistic payloads in the documented Discourse and Slack webhook shapes (no real captures are stored for
 * these sources), plus a structural mutator for property tests. Not imported by runtime code.
 */
import fc from 'fast-check';

// Shapes follow Discourse's WebHook*Serializer output (trimmed to realistic fields).
export const discourseTopic = {
  topic: {
    id: 1234, title: 'How do I configure SSO with Okta?', fancy_title: 'How do I configure SSO with Okta?',
    posts_count: 1, created_at: '2024-03-05T10:15:30.123Z', views: 0, reply_count: 0, like_count: 0,
    last_posted_at: '2024-03-05T10:15:30.223Z', visible: true, closed: false, archived: false, archetype: 'regular',
    slug: 'how-do-i-configure-sso-with-okta', category_id: 4, word_count: 42, user_id: 77,
    created_by: { id: 77, username: 'ada', name: 'Ada Lovelace', avatar_template: '/user_avatar/forum/ada/{size}/1_2.png' },
    last_poster: { id: 77, username: 'ada', name: 'Ada Lovelace', avatar_template: '/x/{size}.png' },
  },
};
export const discoursePost = {
  post: {
    id: 9876, name: 'Grace Hopper', username: 'grace', avatar_template: '/x/{size}.png',
    created_at: '2024-03-05T11:00:00.000Z', cooked: '<p>Use the SAML plugin.</p>', post_number: 2, post_type: 1,
    updated_at: '2024-03-05T11:00:00.000Z', reply_count: 0, reply_to_post_number: null, quote_count: 0,
    incoming_link_count: 0, reads: 1, score: 0, topic_id: 1234, topic_slug: 'how-do-i-configure-sso-with-okta',
    topic_title: 'How do I configure SSO with Okta?', topic_html_title: 'How do I configure SSO with Okta?',
    category_id: 4, display_username: 'Grace Hopper', version: 1, user_id: 88, topic_posts_count: 2,
    topic_archetype: 'regular', category_slug: 'support',
  },
};
export const discourseUser = {
  user: {
    id: 99, username: 'linus', name: 'Linus T', avatar_template: '/x/{size}.png', email: 'linus@example.org',
    secondary_emails: [], last_seen_at: null, created_at: '2024-03-01T08:00:00.000Z', trust_level: 0,
    moderator: false, admin: false, active: true,
  },
};

// Envelope and event shapes from Slack's Events API documentation.
export const slackEnvelope = (event: Record<string, unknown>) => ({
  token: 'XXYYZZ', team_id: 'T123ABC456', api_app_id: 'A123ABC456', event, type: 'event_callback',
  event_id: 'Ev123ABC456', event_time: 1711000000, authorizations: [{ team_id: 'T123ABC456', user_id: 'U0BOT', is_bot: true }],
  is_ext_shared_channel: false, event_context: '4-eyJldCI6Im1lc3NhZ2UifQ',
});
export const slackMessage = {
  type: 'message', channel: 'C123ABC456', user: 'U123ABC456', text: 'Has anyone wired the SDK into Next.js 15?',
  ts: '1711000000.000200', event_ts: '1711000000.000200', channel_type: 'channel', client_msg_id: 'abc',
};


export const slackTeamJoin = {
  type: 'team_join',
  user: {
    id: 'U0NEW', team_id: 'T123ABC456', name: 'ada', real_name: 'Ada Lovelace', is_bot: false, is_restricted: false,
    profile: { email: 'ada@acme.io', real_name: 'Ada Lovelace', display_name: 'ada.l' }, deleted: false,
  },
};

export const slackReaction = {
  type: 'reaction_added', user: 'U024BE7LH', reaction: 'thumbsup', item_user: 'U0G9QF9C6',
  item: { type: 'message', channel: 'C0G9QF9GZ', ts: '1360782400.498405' }, event_ts: '1360782804.083113',
};

type Json = unknown;
const DELETE = Symbol('delete');

/** Every path (as key lists) to a value inside `value`, the root excluded. */
function paths(value: Json, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [];
  const out: string[][] = [];
  for (const [k, v] of Object.entries(value)) {
    out.push([...prefix, k], ...paths(v, [...prefix, k]));
  }
  return out;
}

function setAt(root: Json, path: string[], v: Json | typeof DELETE): Json {
  const copy = structuredClone(root);
  let node = copy as Record<string, Json>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, Json>;
  const last = path[path.length - 1]!;
  if (v === DELETE) delete node[last];
  else node[last] = v;
  return copy;
}

/**
 * Arbitrary near-valid variants of `base`: up to three fields (at any depth) deleted or replaced by arbitrary JSON.
 * Random JSON alone almost never gets past a normaliser's first check; this reaches the deep branches too.
 */
export function mutations(base: Json): fc.Arbitrary<Json> {
  const all = paths(base);
  const edit = fc.tuple(fc.constantFrom(...all), fc.oneof(fc.constant<typeof DELETE>(DELETE), fc.jsonValue(), fc.string()));
  return fc.array(edit, { maxLength: 3 }).map((edits) => {
    let out = base;
    for (const [p, v] of edits) {
      // An earlier edit may have removed or replaced a parent; then this edit no longer applies.
      if (paths(out).some((q) => q.join('\0') === p.join('\0'))) out = setAt(out, p, v);
    }
    return out;
  });
}
