import fc from 'fast-check';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, countRows, hmacHex } from './helpers';

/**
 * Every public endpoint under arbitrary input: never a 5xx, and nothing a request was refused for is stored.
 * `npm run test:fuzz` runs 10,000 cases per endpoint (FUZZ_RUNS); `npm test` a smaller number.
 */
const RUNS = Number(env.FUZZ_RUNS ?? '100');
const opts = { numRuns: RUNS, endOnFailure: true } as const;

const jsonish = fc.oneof(
  fc.jsonValue(),
  fc.record({ activities: fc.array(fc.jsonValue(), { maxLength: 5 }) }),
  fc.record({
    activities: fc.array(
      fc.record({
        source: fc.constantFrom('github', 'slack', 'discord', 'events', 'nope', ''),
        type: fc.constantFrom('github.star', 'x', 'events.attended', ''),
        occurred_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
        external_id: fc.string({ maxLength: 20 }),
        member: fc.record({ identities: fc.array(fc.record({ source: fc.constantFrom('github', 'email', 'X'), id: fc.string({ maxLength: 10 }) }), { maxLength: 3 }) }),
      }, { requiredKeys: [] }),
      { maxLength: 5 },
    ),
  }),
);
const bodyText = fc.oneof(jsonish.map((v) => JSON.stringify(v)), fc.string({ maxLength: 300 }), fc.constant(''));
const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-ndjson', 'text/csv', '', 'application/json; charset=utf-8');

/** Ingestion is rate-limited per token (150/min in tests): rotate enough ingest tokens that every case reaches the handler. */
let tokens: string[] = [];
let turn = 0;
const nextToken = () => tokens[turn++ % tokens.length]!;

describe('fuzzing public endpoints', () => {
  beforeAll(async () => {
    const needed = Math.ceil((RUNS * 1.2) / 140) + 1;
    tokens = await Promise.all(
      Array.from({ length: needed }, async (_, i) => {
        const res = await call('/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `fuzz-${i}`, scopes: ['ingest', 'read'] }) });
        return (await res.json<{ token: string }>()).token;
      }),
    );
  });

  it('POST /v1/activities: never 5xx; refused batches store nothing', { timeout: 600_000 }, async () => {
    let accepted = 0;
    const before = await countRows('activities');
    await fc.assert(
      fc.asyncProperty(bodyText, contentType, async (body, type) => {
        const res = await call('/v1/activities', { method: 'POST', body, token: nextToken(), headers: type ? { 'content-type': type } : {} });
        expect(res.status).toBeLessThan(500);
        expect(res.status).not.toBe(429);
        if (res.status === 202) accepted += (await res.json<{ accepted: number }>()).accepted;
      }),
      opts,
    );
    // Wait for the queue to drain, then: stored rows never exceed what was accepted (duplicates collapse).
    await new Promise((r) => setTimeout(r, 1500));
    expect((await countRows('activities')) - before).toBeLessThanOrEqual(accepted);
  });

  it('POST /v1/imports: never 5xx', { timeout: 600_000 }, async () => {
    const mapping = fc.oneof(fc.constant(''), fc.jsonValue().map((v) => JSON.stringify(v)), fc.constant(JSON.stringify({ source: 'events', type: 'events.attended', columns: { email: 'e', occurred_at: 't' } })));
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 400 }), contentType, mapping, async (body, type, map) => {
        const res = await call(`/v1/imports?mapping=${encodeURIComponent(map)}`, { method: 'POST', body, token: nextToken(), headers: type ? { 'content-type': type } : {} });
        expect(res.status).toBeLessThan(500);
        expect(res.status).not.toBe(429);
      }),
      opts,
    );
  });

  it('webhooks (validly signed, arbitrary payloads and events): never 5xx', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(bodyText, fc.constantFrom('github', 'discourse', 'slack'), fc.string({ maxLength: 20 }), async (body, source, event) => {
        const ts = String(Math.floor(Date.now() / 1000));
        const headers: Record<string, string> =
          source === 'github' ? { 'x-github-event': event || 'star', 'x-hub-signature-256': `sha256=${await hmacHex('test-github-secret', body)}` }
          : source === 'discourse' ? { 'x-discourse-event': event, 'x-discourse-event-type': 'post', 'x-discourse-event-signature': `sha256=${await hmacHex('test-discourse-secret', body)}` }
          : { 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${await hmacHex('test-slack-secret', `v0:${ts}:${body}`)}` };
        const res = await call(`/webhooks/${source}`, { method: 'POST', token: null, body, headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.0.0.1', 'cf-connecting-ip': `fuzz-${Math.random()}`, ...headers } });
        expect(res.status).toBeLessThan(500);
      }),
      opts,
    );
  });

  it('GET endpoints with arbitrary query strings, and rules preview with arbitrary YAML: never 5xx', { timeout: 600_000 }, async () => {
    const paths = ['/v1/activities', '/v1/members', '/v1/links', '/v1/sync/runs', '/v1/deals', '/v1/audit', '/v1/imports/x', '/v1/deals/hubspot/1/influence'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.dictionary(fc.constantFrom('since', 'until', 'limit', 'cursor', 'identity', 'type', 'status', 'crm', 'format', 'member'), fc.string({ maxLength: 12 })), async (path, query) => {
        const res = await call(`${path}?${new URLSearchParams(query).toString()}`);
        expect(res.status).toBeLessThan(500);
      }),
      opts,
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), fc.constantFrom('rules', 'hubspot', 'salesforce', 'bogus'), async (content, kind) => {
        const res = await call('/v1/rules/preview', { method: 'POST', body: JSON.stringify({ kind, content }), headers: { 'content-type': 'application/json' } });
        expect(res.status).toBeLessThan(500);
      }),
      { ...opts, numRuns: Math.min(RUNS, 2000) },
    );
  });
});
