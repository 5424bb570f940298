import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { normaliseGithub } from '../../src/sources/github';
import discussion from '../fixtures/github/discussion.created.payload.json';
import fork from '../fixtures/github/fork.payload.json';
import issueComment from '../fixtures/github/issue_comment.created.payload.json';
import issueOpened from '../fixtures/github/issues.opened.payload.json';
import issueEmptyBody from '../fixtures/github/issues.opened.with-empty-body.payload.json';
import ping from '../fixtures/github/ping.payload.json';
import prOpened from '../fixtures/github/pull_request.opened.payload.json';
import prNullBody from '../fixtures/github/pull_request.opened.with-null-body.json';
import star from '../fixtures/github/star.created.payload.json';
import { call, countRows, hmacHex, waitFor } from './helpers';

const GITHUB_SECRET = 'test-github-secret';
const FIXTURES: [string, { sender: { id: number } }][] = [
  ['star', star], ['fork', fork], ['issues', issueOpened], ['issues', issueEmptyBody], ['issue_comment', issueComment],
  ['pull_request', prOpened], ['pull_request', prNullBody], ['discussion', discussion],
];

async function github(event: string, payload: unknown, opts: { delivery?: string; secret?: string; type?: string; raw?: string } = {}) {
  const body = opts.raw ?? JSON.stringify(payload);
  return call('/webhooks/github', {
    method: 'POST',
    token: null,
    headers: {
      'content-type': opts.type ?? 'application/json',
      'x-github-event': event,
      'x-github-delivery': opts.delivery ?? crypto.randomUUID(),
      'x-hub-signature-256': `sha256=${await hmacHex(opts.secret ?? GITHUB_SECRET, body)}`,
    },
    body,
  });
}

describe('POST /webhooks/github with real GitHub payloads', () => {
  it('turns each shared payload into the right activity of the right member, once', async () => {
    for (const [event, payload] of FIXTURES) {
      const delivery = crypto.randomUUID();
      const first = await github(event, payload, { delivery });
      expect(first.status, event).toBe(202);
      expect(await first.json()).toMatchObject({ status: 'accepted', activities: 1 });
      // The same delivery again (GitHub's "redeliver"), and the same event under a new delivery id.
      expect((await github(event, payload, { delivery })).status).toBe(200);
      expect((await github(event, payload)).status).toBe(202);
    }
    for (const [event, payload] of FIXTURES) {
      const result = normaliseGithub(event, payload);
      if (result.kind !== 'activities') throw new Error(`${event} did not normalise`);
      for (const expected of result.activities) {
        const row = await waitFor(() =>
          env.DB.prepare(
            `SELECT a.type, a.occurred_at, a.url, a.title, i.source, i.external_id AS identity, i.handle,
                    (SELECT count(*) FROM activities x WHERE x.source = a.source AND x.external_id = a.external_id) AS copies
               FROM activities a JOIN identities i ON i.id = a.identity_id
              WHERE a.source = 'github' AND a.external_id = ?`,
          ).bind(expected.external_id).first<Record<string, unknown>>(),
        );
        expect(row).toMatchObject({
          type: expected.type, occurred_at: new Date(expected.occurred_at).toISOString(), source: 'github',
          identity: String(payload.sender.id), copies: 1,
        });
      }
    }
    const members = await env.DB.prepare(
      "SELECT count(DISTINCT member_id) AS n FROM identities WHERE source = 'github' AND external_id IN ('21031067', '38302899')",
    ).first<{ n: number }>();
    expect(members?.n).toBe(2);
  });

  it('answers ping and ignores unknown events with the reason', async () => {
    const pong = await github('ping', ping);
    expect(pong.status).toBe(200);
    const unknown = await github('deployment_status', { sender: star.sender });
    expect(unknown.status).toBe(202);
    expect(await unknown.json()).toMatchObject({ status: 'ignored', reason: expect.stringContaining('deployment_status') });
  });

  it('refuses bad input with the right status and stores nothing', async () => {
    const before = await countRows('activities', "source = 'github' AND external_id LIKE 'star:%'");
    const body = JSON.stringify(star);
    const unsigned = await call('/webhooks/github', { method: 'POST', token: null, headers: { 'content-type': 'application/json', 'x-github-event': 'star' }, body });
    expect(unsigned.status).toBe(401);
    expect((await github('star', star, { secret: 'wrong' })).status).toBe(401);
    const tampered = await call('/webhooks/github', {
      method: 'POST', token: null, body: body.replace('Codertocat', 'Mallory'),
      headers: { 'content-type': 'application/json', 'x-github-event': 'star', 'x-hub-signature-256': `sha256=${await hmacHex(GITHUB_SECRET, body)}` },
    });
    expect(tampered.status).toBe(401);
    expect((await github('star', star, { type: 'application/x-www-form-urlencoded' })).status).toBe(415);
    const malformed = await github('star', null, { raw: '{"action": "created",' });
    expect(malformed.status).toBe(400);
    expect((await malformed.json<{ error: { code: string } }>()).error.code).toBe('malformed_json');
    const invalid = await github('star', { action: 'created', starred_at: '2026-01-01T00:00:00Z' });
    expect(invalid.status).toBe(400);
    expect((await invalid.json<{ error: { issues: unknown[] } }>()).error.issues.length).toBeGreaterThan(0);
    const huge = await github('star', { ...star, padding: 'x'.repeat(1_100_000) });
    expect(huge.status).toBe(413);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await countRows('activities', "source = 'github' AND external_id LIKE 'star:%'")).toBe(before);
  });
});

describe('POST /webhooks/slack', () => {
  async function slack(payload: unknown, opts: { ts?: number; secret?: string } = {}) {
    const body = JSON.stringify(payload);
    const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
    const sig = `v0=${await hmacHex(opts.secret ?? 'test-slack-secret', `v0:${ts}:${body}`)}`;
    return call('/webhooks/slack', {
      method: 'POST', token: null, body,
      headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': ts, 'x-slack-signature': sig },
    });
  }
  const envelope = (event: Record<string, unknown>, id = crypto.randomUUID()) => ({
    type: 'event_callback', team_id: 'T1', api_app_id: 'A1', event_id: `Ev${id}`, event_time: 1767225600, event,
  });

  it('answers the url_verification challenge', async () => {
    const res = await slack({ type: 'url_verification', challenge: 'abc123', token: 'x' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'abc123' });
  });

  it('stores a message once, skips bot messages, and rejects stale or forged requests', async () => {
    const message = { type: 'message', channel: 'C1', user: 'U42', text: 'How do I use the SDK?', ts: '1767225600.000100', channel_type: 'channel' };
    expect((await slack(envelope(message))).status).toBe(202);
    expect((await slack(envelope(message))).status).toBe(202); // Slack retry under a new envelope id: still one row
    const bot = await slack(envelope({ ...message, user: undefined, bot_id: 'B1', subtype: 'bot_message', ts: '1767225601.000100' }));
    expect(await bot.json()).toMatchObject({ status: 'ignored' });
    expect((await slack(envelope(message), { ts: Math.floor(Date.now() / 1000) - 301 })).status).toBe(401);
    expect((await slack(envelope(message), { secret: 'forged' })).status).toBe(401);
    await waitFor(async () => (await countRows('activities', "source = 'slack' AND type = 'slack.message'")) === 1);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await countRows('activities', "source = 'slack'")).toBe(1);
    // SLACK_WORKSPACE_URL is set here: the touch links to its message.
    const stored = await env.DB.prepare(`SELECT url FROM activities WHERE source = 'slack'`).first<{ url: string | null }>();
    expect(stored!.url).toBe('https://acme-dev.slack.com/archives/C1/p1767225600000100');
  });
});

describe('POST /webhooks/discourse', () => {
  it('verifies the signature and stores a created post', async () => {
    const payload = {
      post: { id: 901, topic_id: 77, post_number: 2, username: 'ada', user_id: 15, name: 'Ada', created_at: '2026-02-02T10:00:00.000Z',
        topic_title: 'Rate limits?', topic_slug: 'rate-limits', post_type: 1, cooked: '<p>Try the batch API</p>' },
    };
    const body = JSON.stringify(payload);
    const headers = {
      'content-type': 'application/json', 'x-discourse-event': 'post_created', 'x-discourse-event-type': 'post',
      'x-discourse-instance': 'https://forum.example.com', 'x-discourse-event-id': '31',
    };
    const forged = await call('/webhooks/discourse', { method: 'POST', token: null, body, headers: { ...headers, 'x-discourse-event-signature': 'sha256=00' } });
    expect(forged.status).toBe(401);
    const res = await call('/webhooks/discourse', {
      method: 'POST', token: null, body,
      headers: { ...headers, 'x-discourse-event-signature': `sha256=${await hmacHex('test-discourse-secret', body)}` },
    });
    expect(res.status).toBe(202);
    const row = await waitFor(() => env.DB.prepare("SELECT type, url FROM activities WHERE source = 'discourse'").first<{ type: string; url: string }>());
    expect(row.type).toBe('discourse.post.created');
    expect(row.url).toContain('https://forum.example.com/t/rate-limits/77');
  });
});

describe('a webhook whose secret is not set', () => {
  it('answers 503 not_configured every time, never 429, and stores nothing', async () => {
    const { createApp } = await import('../../src/http/app');
    const app = createApp();
    const unconfigured = { ...env, GITHUB_WEBHOOK_SECRET: '', SLACK_SIGNING_SECRET: '' };
    const before = await countRows('activities');
    // More requests than the limiter allows a sender per path per minute (150 here, a little more across a window
    // edge): the limiter must not be what answers.
    for (let n = 0; n < 340; n++) {
      const path = n < 320 ? '/webhooks/github' : '/webhooks/slack';
      const res = await app.request(path, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }, unconfigured);
      expect(res.status).toBe(503);
      const body = await res.json<{ error: { code: string; message: string } }>();
      expect(body.error.code).toBe('not_configured');
      expect(body.error.message).toContain(n < 320 ? 'GITHUB_WEBHOOK_SECRET' : 'SLACK_SIGNING_SECRET');
    }
    expect(await countRows('activities')).toBe(before);
    // Only the webhooks themselves: another path under /webhooks is unknown, whatever its name.
    for (const path of ['/webhooks/constructor', '/webhooks/__proto__', '/webhooks/toString', '/webhooks/nope']) {
      expect((await app.request(path, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }, unconfigured)).status).toBe(404);
    }
    expect((await app.request('/webhooks/github', {}, unconfigured)).status).toBe(404);
  });
});
