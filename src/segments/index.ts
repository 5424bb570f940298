import * as z from 'zod';
import { parseYaml, type ParseResult } from '../rules/parse';

/**
 * ICP segments (from CRM company fields) and personas (from contact job titles), defined in mappings/segments.yaml.
 * Pure: text in, validated config or issues with line:column out; classification functions take plain records.
 */

const nameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a lowercase name like "enterprise" or "decision_maker"');
const nonEmptyList = z.array(z.string().min(1)).min(1, 'list at least one value, or leave the condition out');

const rangeSchema = z
  .strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })
  .refine((r) => r.min !== undefined || r.max !== undefined, 'give min, max or both')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not be above max');

const segmentSchema = z.strictObject({
  name: nameSchema,
  label: z.string().min(1).optional(),
  industry: nonEmptyList.optional(),
  employees: rangeSchema.optional(),
  country: nonEmptyList.optional(),
});

const patternSchema = z.string().min(1).superRefine((s, ctx) => {
  try {
    new RegExp(s, 'i');
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${e instanceof Error ? e.message : String(e)}` });
  }
});

const personaSchema = z.strictObject({
  name: nameSchema,
  label: z.string().min(1).optional(),
  title: patternSchema,
  decision_maker: z.boolean().default(false),
});

const uniqueNames = (items: { name: string }[], ctx: z.core.$RefinementCtx, field: string) => {
  const seen = new Set<string>();
  items.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [field, i, 'name'], message: `duplicate name "${s.name}"` });
    seen.add(s.name);
  });
};

export const segmentsSchema = z
  .strictObject({
    version: z.literal(1),
    segments: z.array(segmentSchema).default([]),
    personas: z.array(personaSchema).default([]),
  })
  .superRefine((v, ctx) => {
    uniqueNames(v.segments, ctx, 'segments');
    uniqueNames(v.personas, ctx, 'personas');
    v.segments.forEach((s, i) => {
      if (s.name === 'other') ctx.addIssue({ code: 'custom', path: ['segments', i, 'name'], message: '"other" is reserved for companies matching no segment' });
    });
  });

export type SegmentsConfig = z.output<typeof segmentsSchema>;
export type Segment = SegmentsConfig['segments'][number];
export type Persona = SegmentsConfig['personas'][number];

export interface CompanyFields {
  industry: string | null;
  employees: number | null;
  country: string | null;
}

export const OTHER = 'other';

export function parseSegments(text: string, file = 'segments.yaml'): ParseResult<SegmentsConfig> {
  return parseYaml(text, segmentsSchema, file);
}

const eq = (list: string[], v: string | null) => v !== null && list.some((x) => x.trim().toLowerCase() === v.trim().toLowerCase());

export function matchesSegment(s: Segment, c: CompanyFields): boolean {
  if (s.industry && !eq(s.industry, c.industry)) return false;
  if (s.country && !eq(s.country, c.country)) return false;
  if (s.employees) {
    if (c.employees === null) return false;
    if (s.employees.min !== undefined && c.employees < s.employees.min) return false;
    if (s.employees.max !== undefined && c.employees > s.employees.max) return false;
  }
  return true;
}

/** The first segment the company matches, else "other" (also for a deal without a company). */
export function segmentOf(config: SegmentsConfig, c: CompanyFields | null): string {
  if (!c) return OTHER;
  return config.segments.find((s) => matchesSegment(s, c))?.name ?? OTHER;
}

/** Compiled persona matchers (compile once per request, not per contact). */
export function personaMatcher(config: SegmentsConfig): (title: string | null) => Persona | null {
  const compiled = config.personas.map((p) => ({ p, re: new RegExp(p.title, 'i') }));
  return (title) => (title ? (compiled.find((x) => x.re.test(title))?.p ?? null) : null);
}

export function segmentLabel(config: SegmentsConfig, name: string): string {
  if (name === OTHER) return 'Other / unknown';
  return config.segments.find((s) => s.name === name)?.label ?? name;
}
