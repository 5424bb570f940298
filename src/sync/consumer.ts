import type { Env } from '../env';
import type { Logger } from '../log';
import { recordDeadLetter } from '../store/ingest';
import type { GateFactory } from './connectors';
import { syncMessageSchema } from './messages';
import { failRunFromDeadLetter, handleSyncMessage } from './runner';
import { parkDeadLetter, retryDelaySeconds } from '../ingest/consumer';

export async function consumeSync(batch: MessageBatch<unknown>, env: Env, log: Logger, gateFor: GateFactory): Promise<void> {
  for (const message of batch.messages) {
    const parsed = syncMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      await recordDeadLetter(env.DB, batch.queue, `unparseable sync message: ${parsed.error.issues[0]?.message ?? ''}`, message.body);
      message.ack();
      continue;
    }
    try {
      await handleSyncMessage(env, parsed.data, log, gateFor);
      message.ack();
    } catch (error) {
      const delaySeconds = Math.min(60, retryDelaySeconds(message.attempts));
      log.warn('sync step failed; will retry', { message_id: message.id, attempts: message.attempts, delaySeconds, error });
      message.retry({ delaySeconds });
    }
  }
}

export async function consumeSyncDeadLetters(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  for (const message of batch.messages) {
    const parsed = syncMessageSchema.safeParse(message.body);
    await parkDeadLetter(message, log, async () => {
      if (parsed.success) await failRunFromDeadLetter(env, parsed.data, log);
      await recordDeadLetter(env.DB, batch.queue, 'sync step retries exhausted', message.body);
    });
  }
}
