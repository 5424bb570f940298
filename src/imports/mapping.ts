import * as z from 'zod';
import { SOURCES, type ActivityInput } from '../activity/schema';
import { sha256Hex } from '../ids';

/**
 * How the columns of an uploaded CSV become activities, e.g. an event attendee list:
 * {"source":"events","type":"events.attended","columns":{"email":"Email","name":"Name","company":"Company",
 *  "occurred_at":"Attended At","title":"Event"}}
 */
export const csvMappingSchema = z.object({
  source: z.enum(SOURCES).default('events'),
  /** A fixed activity type for every row, or `columns.type` to read it per row. */
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/).optional(),
  /** Which identity the row's person is known by; `email` unless given. */
  identity_source: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/).default('email'),
  columns: z.object({
    occurred_at: z.string().min(1),
    email: z.string().min(1).optional(),
    identity_id: z.string().min(1).optional(),
    handle: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    company: z.string().min(1).optional(),
    title: z.string().min(1).optional(),
    url: z.string().min(1).optional(),
    type: z.string().min(1).optional(),
    external_id: z.string().min(1).optional(),
  }),
  /** Extra columns copied into the activity's properties. */
  properties: z.array(z.string().min(1)).max(50).default([]),
}).refine((m) => m.type || m.columns.type, { message: 'give "type" or "columns.type"', path: ['type'] })
  .refine((m) => m.columns.email || m.columns.identity_id, { message: 'give "columns.email" or "columns.identity_id"', path: ['columns'] });
export type CsvMapping = z.infer<typeof csvMappingSchema>;

/** Checks that every mapped column exists in the header; returns column name → index. */
export function resolveColumns(mapping: CsvMapping, header: string[]): { index: Map<string, number>; missing: string[] } {
  const index = new Map(header.map((h, i) => [h.trim(), i] as const));
  const wanted = [...Object.values(mapping.columns), ...mapping.properties].filter((c): c is string => !!c);
  return { index, missing: wanted.filter((c) => !index.has(c)) };
}

/** Parses spreadsheet-style dates too ("2026-03-04 17:00"), always to ISO with an offset (UTC when none is given). */
export function toIsoDate(value: string): string | null {
  const v = value.trim();
  if (!v) return null;
  const withT = /^\d{4}-\d{2}-\d{2} \d/.test(v) ? v.replace(' ', 'T') : v;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(withT);
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(withT);
  const d = new Date(dateOnly ? `${withT}T00:00:00Z` : hasZone ? withT : `${withT}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * Turns one CSV row into an activity candidate (validated by the caller with activityInputSchema). Without an
 * external_id column the id is a hash of what makes the row unique, so re-importing the same file dedupes.
 */
export async function rowToActivity(mapping: CsvMapping, index: Map<string, number>, fields: string[]): Promise<unknown> {
  const col = (name: string | undefined) => (name === undefined ? undefined : fields[index.get(name)!]?.trim() || undefined);
  const occurredRaw = col(mapping.columns.occurred_at);
  const occurred = occurredRaw ? (toIsoDate(occurredRaw) ?? occurredRaw) : undefined;
  const email = col(mapping.columns.email);
  const type = mapping.type ?? col(mapping.columns.type);
  const identityId = col(mapping.columns.identity_id) ?? email;
  const title = col(mapping.columns.title);
  const properties: Record<string, string> = {};
  for (const p of mapping.properties) {
    const v = col(p);
    if (v !== undefined) properties[p] = v;
  }
  const externalId =
    col(mapping.columns.external_id) ??
    (await sha256Hex([mapping.source, type, title ?? '', (identityId ?? '').toLowerCase(), occurred ?? ''].join('|'))).slice(0, 32);
  const candidate: Record<string, unknown> = {
    source: mapping.source,
    type,
    occurred_at: occurred,
    external_id: externalId,
    member: {
      identities: identityId
        ? [{
            source: mapping.identity_source,
            id: identityId,
            handle: col(mapping.columns.handle),
            email,
            name: col(mapping.columns.name),
            company: col(mapping.columns.company),
          }]
        : [],
    },
  };
  if (title) candidate.title = title;
  const url = col(mapping.columns.url);
  if (url) candidate.url = url;
  if (Object.keys(properties).length) candidate.properties = properties;
  return JSON.parse(JSON.stringify(candidate));
}
