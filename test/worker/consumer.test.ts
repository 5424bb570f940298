import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import worker from '../../src/index';
import { describe, expect, it } from 'vitest';
import { activity, countRows, waitFor } from './helpers';

const message = (id: string, body: unknown, attempts = 1) => ({ id, timestamp: new Date(), attempts, body });
const valid = (n: number, extra: Record<string, unknown> = {}) => ({
  v: 1, origin: 'api', received_at: new Date().toISOString(), items: [activity(n, { external_id: `consumer-${n}`, ...extra })],
});

describe('activities consumer', () => {
  it('acks a message only after its rows are committed', async () => {
    const batch = createMessageBatch('ci-activities', [message('m1', valid(1)), message('m2', valid(2))]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(['m1', 'm2']);
    expect(result.retryMessages).toEqual([]);
    expect(await countRows('activities', "external_id IN ('consumer-1', 'consumer-2')")).toBe(2);
  });

  it('sends a poison message to the dead-letter queue with its reason and stores nothing from it', async () => {
    const poison = { v: 1, origin: 'api', received_at: 'not a date', items: [{ nope: true }] };
    const batch = createMessageBatch('ci-activities', [message('p1', poison), message('ok', valid(3))]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(['ok', 'p1']);
    const dead = await waitFor(() =>
      env.DB.prepare("SELECT queue, reason, body FROM dead_letters WHERE body LIKE '%not a date%'").first<{ queue: string; reason: string; body: string }>(),
    );
    expect(dead.queue).toBe('ci-activities-dlq');
    expect(dead.reason).toMatch(/^unparseable message: .*received_at/);
    expect(JSON.parse(dead.body)).toEqual(poison);
    expect(await countRows('activities', "external_id = 'consumer-3'")).toBe(1);
  });

  it('retries with backoff when storing fails, and records exhausted messages as dead letters', async () => {
    // A real D1 failure: the table the write needs is briefly gone (renamed), then restored.
    await env.DB.exec('ALTER TABLE activities RENAME TO activities_hold');
    try {
      const batch = createMessageBatch('ci-activities', [message('r1', valid(4), 3)]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages.map((m) => m.msgId)).toEqual(['r1']);
    } finally {
      await env.DB.exec('ALTER TABLE activities_hold RENAME TO activities');
    }
    const exhausted = createMessageBatch('ci-activities-dlq', [message('x1', valid(5))]);
    const ctx = createExecutionContext();
    await worker.queue(exhausted, env, ctx);
    await getQueueResult(exhausted, ctx);
    const dead = await env.DB.prepare("SELECT reason FROM dead_letters WHERE body LIKE '%consumer-5%'").first<{ reason: string }>();
    expect(dead?.reason).toBe('retries exhausted on ci-activities');
  });

  it('links identities that share a verified email to one member', async () => {
    const email = 'Linus@Example.org';
    const gh = { ...valid(6), items: [{ ...activity(6, { external_id: 'link-gh', source: 'github', type: 'github.star' }),
      member: { identities: [{ source: 'github', id: '9001', handle: 'linus', email, email_verified: true }] } }] };
    const slack = { ...valid(7), items: [{ ...activity(7, { external_id: 'link-slack', source: 'slack', type: 'slack.message' }),
      member: { identities: [{ source: 'slack', id: 'U9001', email: 'linus@example.org', email_verified: true }] } }] };
    for (const body of [gh, slack]) {
      const batch = createMessageBatch('ci-activities', [message(crypto.randomUUID(), body)]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      await getQueueResult(batch, ctx);
    }
    const owners = await env.DB.prepare(
      "SELECT DISTINCT member_id FROM identities WHERE (source, external_id) IN (VALUES ('github','9001'), ('slack','U9001'), ('email','linus@example.org'))",
    ).all();
    expect(owners.results).toHaveLength(1);
  });
});
