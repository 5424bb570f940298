import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN, call, countRows, hmacHex, postJson, waitFor } from './helpers';

/**
 * Captures everything the Worker logs while it handles secrets and personal data, and checks that no secret and no
 * raw email address appears in it (emails are logged as hashes).
 */
const lines: string[] = [];
beforeAll(() => {
  for (const level of ['log', 'info', 'warn', 'error'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
});
afterAll(() => vi.restoreAllMocks());

const SECRETS = [ADMIN, 'test-github-secret', 'test-slack-secret', 'test-discourse-secret', 'test-hubspot-client-secret'];

describe('logs', () => {
  it('never contain secrets, tokens or raw emails', async () => {
    const created = await (await postJson('/v1/tokens', { name: 'relay', scopes: ['ingest'] })).json<{ token: string }>();
    const email = 'Private.Person@example.org';
    await postJson('/v1/activities', { activities: [{
      source: 'discord', type: 'discord.message', occurred_at: '2026-01-01T00:00:00Z', external_id: 'priv-1',
      member: { identities: [{ source: 'discord', id: 'p1', email, email_verified: true, name: 'Private Person' }] },
      title: `mail me at ${email}`,
    }] }, { token: created.token });
    // A failing write logs its error: the message must be redacted too.
    await postJson('/v1/activities', { activities: [{ source: 'nope', contact: email }] }, { token: created.token });
    const body = JSON.stringify({ action: 'created', sender: { login: 'x', id: 1, type: 'User', email } });
    await call('/webhooks/github', { method: 'POST', token: null, body, headers: {
      'content-type': 'application/json', 'x-github-event': 'star', 'x-hub-signature-256': `sha256=${await hmacHex('wrong-secret', body)}`,
    } });
    await call('/v1/members', { token: `${ADMIN}-typo` });
    await waitFor(async () => (await countRows('activities', "external_id = 'priv-1'")) === 1);
    await new Promise((r) => setTimeout(r, 200));
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const secret of [...SECRETS, created.token]) expect(all).not.toContain(secret);
    expect(all.toLowerCase()).not.toContain(email.toLowerCase());
  });
});
