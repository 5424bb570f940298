import * as z from 'zod';

/**
 * Bodies on the sync queue: one step of a run, a debounced "activity arrived" tick for a CRM, a full preview's step, or
 * a step of member matching.
 */
export const syncMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('step'), runId: z.string().min(1), step: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('tick'), crm: z.enum(['hubspot', 'salesforce']) }),
  z.object({ kind: z.literal('preview'), previewId: z.string().min(1), step: z.number().int().nonnegative() }),
  // Member matching over pending members (src/members/match.ts); `token` continues a chain.
  z.object({ kind: z.literal('match'), token: z.string().min(1).optional() }),
]);
export type SyncMessage = z.infer<typeof syncMessageSchema>;
