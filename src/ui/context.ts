import type { Context } from 'hono';
import * as z from 'zod';
import type { AppEnv } from '../http/types';
import { MODEL_NAMES, type ModelName } from '../rules';
import { BUNDLED_SEGMENTS } from '../segments/bundled';
import { parseSegments, type SegmentsConfig } from '../segments';
import { activeHashes } from '../store/ui-pages';
import { loadActiveConfig, type ActiveConfig } from '../sync/config';

let segmentsCache: SegmentsConfig | null = null;

/** mappings/segments.yaml as compiled into the Worker (validated by its unit test; an invalid file yields no segments). */
export function segmentsConfig(): SegmentsConfig {
  if (segmentsCache) return segmentsCache;
  const parsed = parseSegments(BUNDLED_SEGMENTS);
  segmentsCache = parsed.ok ? parsed.value : { version: 1, segments: [], personas: [] };
  return segmentsCache;
}

let configCache: { key: string; value: ActiveConfig } | null = null;

/** The active rules and mappings, parsed once per isolate per active version (parsing costs tens of ms per request). */
export async function activeConfig(c: Context<AppEnv>): Promise<ActiveConfig> {
  const key = `${await activeHashes(c.env.DB)}|${c.get('config').ORG_DOMAINS.join(',')}`;
  if (configCache?.key === key) return configCache.value;
  const value = await loadActiveConfig(c.env.DB, c.get('config'));
  configCache = { key, value };
  return value;
}

/** The models the active rules compute (primary first). */
export function modelsOf(active: ActiveConfig): ModelName[] {
  const m = active.rules.models as { primary: ModelName; compare?: ModelName[] };
  return [...new Set([m.primary, ...(m.compare ?? [])])];
}

/** A calendar date that exists (2026-02-30 and 2026-13-01 do not): anything else drops the filter, like other bad values. */
const dateOnly = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  })
  .optional()
  .catch(undefined);

export const filterSchema = z.object({
  from: dateOnly,
  to: dateOnly,
  pipeline: z.string().max(200).optional().catch(undefined),
  currency: z.string().max(10).optional().catch(undefined),
  model: z.enum(MODEL_NAMES).optional().catch(undefined),
});

export type Filters = z.infer<typeof filterSchema>;

export function readFilters(c: Context<AppEnv>): Filters {
  return filterSchema.parse(c.req.query());
}

/** `to` is inclusive in the form; queries use the next day as an exclusive bound. */
export function exclusiveTo(to: string | undefined): string | null {
  if (!to) return null;
  const d = new Date(`${to}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}
