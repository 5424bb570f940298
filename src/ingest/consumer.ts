import type { Env } from '../env';
import { newId } from '../ids';
import type { Logger } from '../log';
import { importChunkApplied, loadIdentities, recordDeadLetter, writePlan } from '../store/ingest';
import { activityMessageSchema, type ActivityMessage } from './message';
import { batchIdentityKeys, planIngest } from './plan';
import { scheduleFromActivity } from '../sync/runner';

export interface PoisonEnvelope {
  poison: true;
  reason: string;
  queue: string;
  body: unknown;
}

/** Stores one message's activities; resolves only after its rows are committed. */
export async function applyActivityMessage(db: D1Database, msg: ActivityMessage, log?: Logger) {
  if (msg.import && (await importChunkApplied(db, msg.import.job, msg.import.chunk))) {
    return { inserted: 0, duplicates: 0, rowsWritten: 0, rowsRead: 0, skipped: true };
  }
  const stored = await loadIdentities(db, batchIdentityKeys(msg.items));
  const plan = planIngest(msg.items, stored, () => newId('mem'));
  for (const conflict of plan.conflicts) log?.warn('identities of one person held by several members', conflict);
  const outcome = await writePlan(db, plan, { origin: msg.origin, receivedAt: msg.received_at, importJob: msg.import });
  return { ...outcome, skipped: false };
}

/** Full-jitter backoff in seconds for a retried message (Queues caps delays at 12 h). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(3600, Math.ceil(Math.random() * 2 ** Math.min(attempts, 12)));
}

export async function consumeActivities(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  let inserted = 0;
  for (const message of batch.messages) {
    const parsed = activityMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // Retrying cannot fix a body that does not parse: park it with its reason, keep the rest of the batch moving.
      const reason = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      const envelope: PoisonEnvelope = { poison: true, reason: `unparseable message: ${reason}`, queue: batch.queue, body: message.body };
      await env.ACTIVITIES_DLQ.send(envelope, { contentType: 'json' });
      log.error('poison message sent to dead-letter queue', { message_id: message.id, reason });
      message.ack();
      continue;
    }
    try {
      const outcome = await applyActivityMessage(env.DB, parsed.data, log);
      log.info('activities stored', { message_id: message.id, origin: parsed.data.origin, ...outcome });
      inserted += outcome.inserted;
      message.ack();
    } catch (error) {
      const delaySeconds = retryDelaySeconds(message.attempts);
      log.warn('storing activities failed; will retry', { message_id: message.id, attempts: message.attempts, delaySeconds, error });
      message.retry({ delaySeconds });
    }
  }
  // New activity reaches the CRM through a debounced incremental run, not the cron.
  if (inserted > 0) {
    try {
      await scheduleFromActivity(env);
    } catch (error) {
      log.warn('could not schedule a sync run; the cron will pick the activity up', { error });
    }
  }
}

/** Everything that reaches a dead-letter queue is kept in D1 with its reason, so nothing accepted is silently lost. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  for (const message of batch.messages) {
    const body = message.body;
    const isEnvelope = typeof body === 'object' && body !== null && (body as { poison?: unknown }).poison === true;
    const reason = isEnvelope ? String((body as PoisonEnvelope).reason) : `retries exhausted on ${batch.queue.replace(/-dlq$/, '')}`;
    await recordDeadLetter(env.DB, batch.queue, reason, isEnvelope ? (body as PoisonEnvelope).body : body);
    log.error('dead letter recorded', { queue: batch.queue, message_id: message.id, reason });
    message.ack();
  }
}
