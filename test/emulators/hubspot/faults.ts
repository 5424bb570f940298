/**
 * Fault injection, driven over HTTP (POST /__emulator/faults) so tests inside workerd can use it too. Each fault fires for
 * the next `count` requests whose path starts with `pathPrefix` (default: every API path), then expires.
 */
import { z } from 'zod';

const base = { pathPrefix: z.string().default('/crm/'), count: z.number().int().positive().default(1) };

export const faultSchema = z.discriminatedUnion('kind', [
  /** Answer with this 5xx (or any) status and HubSpot's error body. */
  z.object({ kind: z.literal('status'), status: z.literal([500, 502, 503, 504, 400, 403, 404, 409, 423]).default(500), ...base }),
  /** Hold the request this long before handling it normally (the work is still done: a late success). */
  z.object({ kind: z.literal('delay'), ms: z.number().int().nonnegative(), ...base }),
  /** Destroy the socket without answering. */
  z.object({ kind: z.literal('drop'), ...base }),
  /** Handle the request (a write is applied), then destroy the socket: the answer is lost on the way back. */
  z.object({ kind: z.literal('lose_response'), ...base }),
  /** 429 with the given policy's real body. */
  z.object({ kind: z.literal('rate_limit'), policy: z.enum(['TEN_SECONDLY_ROLLING', 'SECONDLY', 'DAILY']).default('TEN_SECONDLY_ROLLING'), ...base }),
  /** 401 as for a revoked token. */
  z.object({ kind: z.literal('auth'), ...base }),
  /** In batch updates, these ids fail (207 multi-status) `count` times each, with this error category. */
  z.object({
    kind: z.literal('partial'),
    ids: z.array(z.string()).min(1),
    category: z.string().default('INTERNAL_ERROR'),
    message: z.string().default('An internal error occurred while updating this record.'),
    ...base,
  }),
]);
export type Fault = z.infer<typeof faultSchema>;
export type RequestFault = Exclude<Fault, { kind: 'partial' }>;
export type PartialFault = Extract<Fault, { kind: 'partial' }>;

export const faultsBody = z.union([faultSchema, z.object({ faults: z.array(faultSchema) })]);

export class Faults {
  private active: Fault[] = [];

  add(faults: Fault[]): void {
    this.active.push(...faults.map((f) => ({ ...f })));
  }

  clear(): void {
    this.active = [];
  }

  list(): Fault[] {
    return this.active;
  }

  /** The first request-level fault for this path, consumed by one use. */
  take(path: string): RequestFault | null {
    const i = this.active.findIndex((f) => f.kind !== 'partial' && path.startsWith(f.pathPrefix));
    const f = i >= 0 ? this.active[i] : undefined;
    if (!f || f.kind === 'partial') return null;
    f.count -= 1;
    if (f.count <= 0) this.active.splice(i, 1);
    return f;
  }

  /** Per-id failures for one batch update: each listed id present in `ids` uses up one of its fault's count. */
  partial(path: string, ids: string[]): Map<string, { category: string; message: string }> {
    const out = new Map<string, { category: string; message: string }>();
    for (const f of this.active) {
      if (f.kind !== 'partial' || !path.startsWith(f.pathPrefix)) continue;
      const hit = ids.filter((id) => f.ids.includes(id) && !out.has(id));
      if (hit.length === 0) continue;
      for (const id of hit) out.set(id, { category: f.category, message: f.message });
      f.count -= 1;
    }
    this.active = this.active.filter((f) => f.count > 0);
    return out;
  }
}
