import * as z from 'zod';

/** Bodies on the sync queue: one step of a run, a debounced "activity arrived" tick for a CRM, or a full preview's step. */
export const syncMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('step'), runId: z.string().min(1), step: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('tick'), crm: z.enum(['hubspot', 'salesforce']) }),
  z.object({ kind: z.literal('preview'), previewId: z.string().min(1), step: z.number().int().nonnegative() }),
]);
export type SyncMessage = z.infer<typeof syncMessageSchema>;
