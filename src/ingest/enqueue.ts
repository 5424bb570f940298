import type { ActivityInput } from '../activity/schema';
import { nowIso } from '../ids';
import { MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, packItems, type ActivityMessage } from './message';

/**
 * Sends messages in as few sendBatch calls as the queue limits allow. Resolves only when the queue accepted them all.
 * Sizes are UTF-8 bytes, as the queue counts them: text outside ASCII takes up to 3 bytes a character.
 */
export async function sendMessages(queue: Queue, messages: ActivityMessage[]): Promise<void> {
  const encoder = new TextEncoder();
  let batch: MessageSendRequest<ActivityMessage>[] = [];
  let size = 0;
  for (const body of messages) {
    const bytes = encoder.encode(JSON.stringify(body)).byteLength;
    if (batch.length && (batch.length >= MAX_BATCH_MESSAGES || size + bytes > MAX_BATCH_BYTES)) {
      await queue.sendBatch(batch);
      batch = [];
      size = 0;
    }
    batch.push({ body, contentType: 'json' });
    size += bytes;
  }
  if (batch.length) await queue.sendBatch(batch);
}

/** Enqueues validated activities from a webhook or the batch API. */
export async function enqueueActivities(queue: Queue, items: ActivityInput[], origin: string): Promise<number> {
  const receivedAt = nowIso();
  const groups = packItems(items);
  await sendMessages(
    queue,
    groups.map((g) => ({ v: 1, origin, received_at: receivedAt, items: g })),
  );
  return groups.length;
}
