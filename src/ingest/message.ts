import * as z from 'zod';
import { activityInputSchema, type ActivityInput } from '../activity/schema';

/** The body of one message on the activities queue. Parsed on receipt: a body that fails is a poison message. */
export const activityMessageSchema = z.object({
  v: z.literal(1),
  origin: z.string().min(1),
  received_at: z.iso.datetime(),
  /** Set for import chunks: the consumer counts accepted/duplicate rows on the job, once per chunk. */
  import: z.object({ job: z.string().min(1), chunk: z.number().int().nonnegative() }).optional(),
  items: z.array(activityInputSchema).min(1),
});
export type ActivityMessage = z.infer<typeof activityMessageSchema>;

/** Queues take messages up to 128 KB and batches up to 256 KB / 100 messages; stay well inside both. */
export const MAX_MESSAGE_BYTES = 96_000;
export const MAX_BATCH_BYTES = 200_000;
export const MAX_BATCH_MESSAGES = 100;
/** One activity, as the batch API and imports accept it (UTF-8 bytes of its JSON). */
export const MAX_ITEM_BYTES = 64_000;

export function itemBytes(item: ActivityInput): number {
  return new TextEncoder().encode(JSON.stringify(item)).byteLength;
}

/** Splits items into message-sized groups without reordering them. */
export function packItems(items: ActivityInput[], maxBytes = MAX_MESSAGE_BYTES): ActivityInput[][] {
  const groups: ActivityInput[][] = [];
  let current: ActivityInput[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = itemBytes(item) + 1;
    if (current.length && size + bytes > maxBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length) groups.push(current);
  return groups;
}
